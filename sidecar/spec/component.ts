import { parseDuration } from '../components/metadata-schema.js';
import {
  isObj,
  type Obj,
  type ProblemSink,
  readSecretKeyRef,
  type SecretKeyRef,
  stringifyValue,
} from './problems.js';

/** One `spec.metadata[]` item of a Component (dapr.io/v1alpha1). */
export interface MetadataItem {
  readonly name: string;
  /** Literal value (any JSON stringified); absent when `secretKeyRef` or `envRef` is used. */
  readonly value?: string;
  readonly secretKeyRef?: SecretKeyRef;
  /** Name of an environment variable of the sidecar process. */
  readonly envRef?: string;
}

/** A parsed `Component` resource. */
export interface ComponentResource {
  readonly kind: 'Component';
  readonly name: string;
  readonly namespace?: string;
  /** `spec.type`, e.g. `state.redis`. */
  readonly type: string;
  /** `spec.version`, e.g. `v1` (empty when absent: the registry's default applies). */
  readonly version: string;
  /** `spec.initTimeout`, default 5 s. */
  readonly initTimeoutMs: number;
  readonly ignoreErrors: boolean;
  readonly metadata: readonly MetadataItem[];
  /** `auth.secretStore` (also read as `auth.secretstore`). */
  readonly secretStore?: string;
  /** App ids allowed to load it; empty = all. */
  readonly scopes: readonly string[];
  /** File it came from. */
  readonly source: string;
}

/** Default `spec.initTimeout` (daprd: 5 s). */
export const DEFAULT_INIT_TIMEOUT_MS = 5_000;

/** Reads a Component document (after the kind dispatch). */
export function readComponent(doc: Obj, name: string, sink: ProblemSink): ComponentResource | undefined {
  const meta = isObj(doc.metadata) ? doc.metadata : {};
  const spec = sink.obj(doc, 'spec', 'spec');
  if (spec === undefined) {
    sink.add('spec', 'is required');
    return undefined;
  }
  const type = sink.str(spec, 'type', 'spec.type', true);
  const version = sink.str(spec, 'version', 'spec.version') ?? '';
  let initTimeoutMs = DEFAULT_INIT_TIMEOUT_MS;
  const rawTimeout = spec.initTimeout;
  if (rawTimeout !== undefined && rawTimeout !== null && rawTimeout !== '') {
    const ms = parseDuration(String(rawTimeout));
    if (ms === undefined || ms <= 0)
      sink.add(
        'spec.initTimeout',
        `must be a positive duration like "5s", got ${JSON.stringify(rawTimeout)}`,
      );
    else initTimeoutMs = ms;
  }
  const ignoreErrors = sink.bool(spec, 'ignoreErrors', 'spec.ignoreErrors') ?? false;
  const metadata: MetadataItem[] = [];
  const seen = new Set<string>();
  sink.arr(spec, 'metadata', 'spec.metadata').forEach((item, i) => {
    const path = `spec.metadata[${i}]`;
    if (!isObj(item)) {
      sink.add(path, 'must be an object with name and value');
      return;
    }
    const itemName = sink.str(item, 'name', `${path}.name`, true);
    if (itemName === undefined) return;
    if (seen.has(itemName.toLowerCase())) sink.add(`${path}.name`, `duplicate metadata field "${itemName}"`);
    seen.add(itemName.toLowerCase());
    if (item.secretKeyRef !== undefined && item.secretKeyRef !== null) {
      const ref = readSecretKeyRef(sink, item.secretKeyRef, `${path}.secretKeyRef`);
      if (ref !== undefined) metadata.push({ name: itemName, secretKeyRef: ref });
    } else if (typeof item.envRef === 'string' && item.envRef !== '') {
      metadata.push({ name: itemName, envRef: item.envRef });
    } else {
      metadata.push({ name: itemName, value: stringifyValue(item.value) });
    }
  });
  const auth = sink.obj(doc, 'auth', 'auth');
  const secretStore =
    auth === undefined
      ? undefined
      : (sink.str(auth, 'secretStore', 'auth.secretStore') ??
        sink.str(auth, 'secretstore', 'auth.secretstore'));
  const namespace = typeof meta.namespace === 'string' && meta.namespace !== '' ? meta.namespace : undefined;
  if (type === undefined) return undefined;
  return {
    kind: 'Component',
    name,
    ...(namespace === undefined ? {} : { namespace }),
    type,
    version,
    initTimeoutMs,
    ignoreErrors,
    metadata,
    ...(secretStore === undefined ? {} : { secretStore }),
    scopes: sink.strings(doc, 'scopes', 'scopes'),
    source: sink.file,
  };
}
