import type { KeyPrefixStrategy, LoadedSecretStore } from '../api/universal/context.js';
import { type ComponentLoadedEvent, channels } from '../observability/events.js';
import { type ComponentResource, DEFAULT_INIT_TIMEOUT_MS } from '../spec/component.js';
import { ResourceError, type ResourceProblem } from '../spec/problems.js';
import type { Component, ComponentRegistration, Logger } from './component.js';
import { type LoadedComponents, LoadedSet } from './loaded-set.js';
import { type MetadataSchema, MetadataValidationError, validateMetadata } from './metadata-schema.js';
import type { ComponentRegistry } from './registry.js';
import { resolveSecretKeyRef } from './secret-ref.js';

export type { LoadedComponent, LoadedComponents } from './loaded-set.js';

/**
 * Loads Component resources: scope filter, registry lookup, secret references, metadata
 * validation, then `init` with `spec.initTimeout`. Secret stores load first because other
 * components resolve `secretKeyRef`s through them (daprd's processor order). Every problem found
 * before `init` is reported at once, naming file, component, field and rule.
 */

/** Options for `loadComponents`. */
export interface LoaderOptions {
  readonly registry: ComponentRegistry;
  readonly appId: string;
  readonly namespace: string;
  readonly logger: Logger;
  readonly dataDir: string;
  /** `--kubeconfig`, passed on to components that talk to the Kubernetes API. */
  readonly kubeconfigPath?: string;
  /** Environment for `envRef` metadata. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Configuration `spec.components.deny`: `type` or `type/version` entries that must not load. */
  readonly deny?: readonly string[];
  /** Secret stores already loaded (hot reload), usable by `secretKeyRef`s of the new components. */
  readonly existingSecretStores?: ReadonlyMap<string, LoadedSecretStore>;
}

/** Metadata keys the runtime interprets itself (state stores); stripped before schema validation. */
const RUNTIME_STATE_KEYS = ['keyprefix', 'actorstatestore'];

interface Planned {
  readonly resource: ComponentResource;
  readonly registration: ComponentRegistration;
  readonly version: string;
  readonly keyPrefix: KeyPrefixStrategy;
  readonly actorStateStore: boolean;
}

/**
 * Problems found while loading. A problem of a component with `spec.ignoreErrors: true` does not
 * stop startup: like daprd, the component is skipped with a warning (duplicate names still fail).
 */
class LoadProblems {
  readonly list: ResourceProblem[] = [];
  readonly skipped = new Set<string>();
  readonly #byName: ReadonlyMap<string, ComponentResource>;
  readonly #log: Logger;

  constructor(components: readonly ComponentResource[], log: Logger) {
    this.#byName = new Map(components.map((c) => [c.name, c]));
    this.#log = log;
  }

  push(p: ResourceProblem): void {
    const c = this.#byName.get(p.resource.slice('Component/'.length));
    const duplicate = p.field === 'metadata.name';
    if (c?.ignoreErrors === true && !duplicate) {
      if (!this.skipped.has(c.name)) {
        this.#log.warn(
          `Error processing component, error ignored: ${c.name} (${c.type}): field "${p.field}": ${p.rule}`,
        );
        emitLoaded({ name: c.name, type: c.type, success: false });
      }
      this.skipped.add(c.name);
      return;
    }
    this.list.push(p);
  }

  get length(): number {
    return this.list.length;
  }

  /** Drops planned components that were skipped because of ignored errors. */
  keep<T extends { readonly resource: ComponentResource }>(items: readonly T[]): T[] {
    return items.filter((i) => !this.skipped.has(i.resource.name));
  }
}

function problem(c: ComponentResource, field: string, rule: string): ResourceProblem {
  return { file: c.source, resource: `Component/${c.name}`, field, rule };
}

/** Reads `keyPrefix` (appid default | name | namespace | none | anything else = custom). */
export function parseKeyPrefix(raw: string | undefined): KeyPrefixStrategy | string {
  if (raw === undefined || raw === '') return { kind: 'appid' };
  switch (raw.toLowerCase()) {
    case 'appid':
      return { kind: 'appid' };
    case 'name':
      return { kind: 'name' };
    case 'namespace':
      return { kind: 'namespace' };
    case 'none':
      return { kind: 'none' };
  }
  // daprd rejects separators inside a custom prefix: the key layout is `<prefix>||<key>`.
  if (raw.includes('||')) return 'a custom key prefix cannot contain "||"';
  return { kind: 'custom', prefix: raw };
}

function literal(c: ComponentResource, key: string): string | undefined {
  return c.metadata.find((m) => m.name.toLowerCase() === key)?.value;
}

function plan(
  components: readonly ComponentResource[],
  opts: LoaderOptions,
  problems: LoadProblems,
): Planned[] {
  const planned: Planned[] = [];
  const names = new Map<string, ComponentResource>();
  const secretStoreNames = new Set<string>([...(opts.existingSecretStores?.keys() ?? [])]);
  const declaredSecretStores = new Set(
    components
      .filter((c) => opts.registry.kindOf(c.type) === 'secretstores' || c.type.startsWith('secretstores.'))
      .map((c) => c.name),
  );
  for (const name of declaredSecretStores) secretStoreNames.add(name);
  for (const c of components) {
    const first = names.get(c.name);
    if (first !== undefined) {
      problems.push(
        problem(
          c,
          'metadata.name',
          `duplicate component name "${c.name}" (first defined in ${first.source})`,
        ),
      );
      continue;
    }
    names.set(c.name, c);
    const found = opts.registry.lookup(c.type, c.version);
    if (!found.ok) {
      problems.push(problem(c, found.field, found.rule));
      continue;
    }
    const usesSecrets = c.metadata.some((m) => m.secretKeyRef !== undefined);
    if (usesSecrets) {
      if (c.secretStore === undefined) {
        problems.push(problem(c, 'auth.secretStore', 'is required when spec.metadata uses secretKeyRef'));
      } else if (!secretStoreNames.has(c.secretStore)) {
        problems.push(
          problem(
            c,
            'auth.secretStore',
            `secret store "${c.secretStore}" is not defined (or not scoped to this app)`,
          ),
        );
      } else if (c.secretStore === c.name) {
        problems.push(problem(c, 'auth.secretStore', 'a secret store cannot resolve its own secrets'));
      }
    }
    for (const m of c.metadata) {
      if (m.envRef !== undefined && opts.env[m.envRef] === undefined) {
        problems.push(
          problem(c, m.name, `envRef "${m.envRef}" names an environment variable that is not set`),
        );
      }
    }
    let keyPrefix: KeyPrefixStrategy = { kind: 'appid' };
    let actorStateStore = false;
    if (found.registration.kind === 'state') {
      const kp = parseKeyPrefix(literal(c, 'keyprefix'));
      if (typeof kp === 'string') problems.push(problem(c, 'keyPrefix', kp));
      else keyPrefix = kp;
      const actor = (literal(c, 'actorstatestore') ?? '').trim().toLowerCase();
      if (actor !== '' && actor !== 'true' && actor !== 'false')
        problems.push(problem(c, 'actorStateStore', `must be a boolean, got "${actor}"`));
      actorStateStore = actor === 'true';
    }
    planned.push({
      resource: c,
      registration: found.registration,
      version: found.version,
      keyPrefix,
      actorStateStore,
    });
  }
  return planned;
}

/** Validates the literal (non-secret) metadata, with secret-backed fields left out of the schema. */
function prevalidate(p: Planned, opts: LoaderOptions, problems: LoadProblems): void {
  const c = p.resource;
  const secretFields = new Set(
    c.metadata.filter((m) => m.secretKeyRef !== undefined).map((m) => m.name.toLowerCase()),
  );
  const schema: Record<string, MetadataSchema[string]> = {};
  for (const [name, spec] of Object.entries(p.registration.schema)) {
    const names = [name, ...(spec.aliases ?? [])].map((n) => n.toLowerCase());
    if (!names.some((n) => secretFields.has(n))) schema[name] = spec;
  }
  const raw: Record<string, string> = {};
  for (const m of c.metadata) {
    if (m.secretKeyRef !== undefined) continue;
    if (p.registration.kind === 'state' && RUNTIME_STATE_KEYS.includes(m.name.toLowerCase())) continue;
    raw[m.name] = m.envRef !== undefined ? (opts.env[m.envRef] ?? '') : (m.value ?? '');
  }
  try {
    validateMetadata(schema, raw);
  } catch (err) {
    if (!(err instanceof MetadataValidationError)) throw err;
    for (const mp of err.problems) problems.push(problem(c, mp.field, mp.rule));
  }
}

async function resolveRaw(
  p: Planned,
  opts: LoaderOptions,
  secretStores: ReadonlyMap<string, LoadedSecretStore>,
  problems: LoadProblems,
): Promise<Record<string, string>> {
  const c = p.resource;
  const raw: Record<string, string> = {};
  for (const m of c.metadata) {
    if (p.registration.kind === 'state' && RUNTIME_STATE_KEYS.includes(m.name.toLowerCase())) continue;
    if (m.secretKeyRef !== undefined) {
      const r = await resolveSecretKeyRef(secretStores, c.secretStore, m.secretKeyRef);
      if ('error' in r) problems.push(problem(c, m.name, r.error));
      else raw[m.name] = r.value;
    } else if (m.envRef !== undefined) raw[m.name] = opts.env[m.envRef] ?? '';
    else raw[m.name] = m.value ?? '';
  }
  return raw;
}

async function initWithTimeout(
  component: Component,
  init: Parameters<Component['init']>[0],
  timeoutMs: number,
): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`init timed out after ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    await Promise.race([component.init(init), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function emitLoaded(event: ComponentLoadedEvent): void {
  if (channels.componentLoaded.hasSubscribers) channels.componentLoaded.publish(event);
}

/**
 * The capabilities the metadata API lists: the component's features, plus ACTOR for a state store
 * with ETags and transactions, which daprd adds whether or not it is the actor store
 * (runtime.getComponentsCapabilitesMap), and for the actor store itself.
 */
function capabilitiesOf(component: Component, p: Planned): string[] {
  const features = (component as { features?: ReadonlySet<string> }).features;
  const caps = features === undefined ? [] : [...features];
  const actorCapable = caps.includes('ETAG') && caps.includes('TRANSACTIONAL');
  if ((p.actorStateStore || actorCapable) && !caps.includes('ACTOR')) caps.push('ACTOR');
  return caps;
}

/** True when `spec.components.deny` lists the component's type, or its `type/version`. */
export function isDenied(
  c: { readonly type: string; readonly version: string },
  deny: readonly string[],
): boolean {
  return deny.some((entry) => {
    const [type, version] = entry.split('/');
    return type === c.type && (version === undefined || version === '' || version === c.version);
  });
}

/** Filters components by `scopes` (empty = every app), like daprd. */
export function inScope(c: { readonly scopes: readonly string[] }, appId: string): boolean {
  return c.scopes.length === 0 || c.scopes.includes(appId);
}

/** The secret store daprd provisions in Kubernetes mode, and assumes for `secretKeyRef`s there. */
export const BUILTIN_KUBERNETES_SECRET_STORE = 'kubernetes';

/**
 * daprd's Kubernetes-mode component defaults: a built-in `kubernetes` secret store of type
 * `secretstores.kubernetes` (unless `--disable-builtin-k8s-secret-store`, or a component already
 * has that name), loaded with `ignoreErrors` so that a sidecar outside a pod still starts; and a
 * component with `secretKeyRef`s but no `auth.secretStore` reads them from that store.
 */
export function withKubernetesDefaults(
  components: readonly ComponentResource[],
  options: { readonly builtinSecretStore: boolean },
): ComponentResource[] {
  const out = components.map((c) =>
    c.secretStore === undefined && c.metadata.some((m) => m.secretKeyRef !== undefined)
      ? { ...c, secretStore: BUILTIN_KUBERNETES_SECRET_STORE }
      : c,
  );
  if (options.builtinSecretStore && !components.some((c) => c.name === BUILTIN_KUBERNETES_SECRET_STORE)) {
    out.unshift({
      kind: 'Component',
      name: BUILTIN_KUBERNETES_SECRET_STORE,
      type: 'secretstores.kubernetes',
      version: 'v1',
      initTimeoutMs: DEFAULT_INIT_TIMEOUT_MS,
      ignoreErrors: true,
      metadata: [],
      scopes: [],
      source: 'built in (Kubernetes mode)',
    });
  }
  return out;
}

/**
 * Dapr building blocks whose components Outrigger cannot load yet. A component of one of these
 * types (e.g. the `pubsub.redis` that `dapr init` and the quickstarts put next to every state
 * store) is skipped with a warning, so a resources folder made for daprd still starts the sidecar
 * and serves what Outrigger has. An unknown type in a building block Outrigger has (`state.foo`)
 * stays an error, as in daprd.
 */
const NOT_YET_BUILT: Readonly<Record<string, string>> = {
  pubsub: 'pub/sub',
  bindings: 'bindings',
  configuration: 'the configuration API',
  lock: 'distributed lock',
  crypto: 'cryptography',
  middleware: 'middleware pipelines',
  conversation: 'conversation',
};

/** The building block Outrigger has not built yet that `type` belongs to, if any. */
export function notYetBuiltBlock(type: string): string | undefined {
  const category = type.split('.')[0] ?? '';
  return Object.hasOwn(NOT_YET_BUILT, category) ? NOT_YET_BUILT[category] : undefined;
}

/**
 * The components this sidecar loads: in scope for the app id, not denied by the Configuration, and
 * of a building block Outrigger has.
 */
export function selectComponents(
  resources: readonly ComponentResource[],
  opts: LoaderOptions,
): ComponentResource[] {
  const log = opts.logger;
  return resources.filter((c) => {
    if (!inScope(c, opts.appId)) {
      log.debug(`Component ${c.name} is not scoped to app ${opts.appId}; skipping`);
      return false;
    }
    if (isDenied(c, opts.deny ?? [])) {
      log.warn(
        `Component ${c.name} (${c.type}/${c.version}) is denied by the Configuration's components.deny; not loading it`,
      );
      return false;
    }
    const block = notYetBuiltBlock(c.type);
    if (block !== undefined) {
      log.warn(
        `Component ${c.name} (${c.type}/${c.version}) is not loaded: Outrigger does not implement ${block} yet`,
      );
      return false;
    }
    return true;
  });
}

/**
 * Loads and initialises components. Throws `ResourceError` listing every problem when a type is
 * unknown, metadata is invalid or a required component fails to init (unless `ignoreErrors`).
 * Components that did load before a failure are closed again.
 */
export async function loadComponents(
  resources: readonly ComponentResource[],
  opts: LoaderOptions,
): Promise<LoadedComponents> {
  const log = opts.logger;
  const scoped = selectComponents(resources, opts);
  const problems = new LoadProblems(scoped, log);
  let planned = plan(scoped, opts, problems);
  if (problems.length > 0) throw new ResourceError(problems.list);

  // Check every component's metadata before initialising any, so all problems show at once.
  // Fields that come from secrets are checked after the secret stores have loaded.
  for (const p of planned) prevalidate(p, opts, problems);
  if (problems.length > 0) throw new ResourceError(problems.list);
  planned = problems.keep(planned);

  const loaded = new LoadedSet(log);
  const secretStores = planned.filter((p) => p.registration.kind === 'secretstores');
  const others = planned.filter((p) => p.registration.kind !== 'secretstores');
  try {
    for (const group of [secretStores, others]) {
      const ready: { p: Planned; metadata: ReturnType<typeof validateMetadata> }[] = [];
      for (const p of group) {
        const stores = new Map([...(opts.existingSecretStores ?? []), ...loaded.secretStores]);
        const raw = await resolveRaw(p, opts, stores, problems);
        try {
          ready.push({ p, metadata: validateMetadata(p.registration.schema, raw) });
        } catch (err) {
          if (!(err instanceof MetadataValidationError)) throw err;
          for (const mp of err.problems) problems.push(problem(p.resource, mp.field, mp.rule));
        }
      }
      if (problems.length > 0) throw new ResourceError(problems.list);
      for (const { p, metadata } of problems.keep(ready.map((r) => ({ ...r, resource: r.p.resource })))) {
        await initOne(p, metadata, opts, loaded, problems);
      }
      if (problems.length > 0) throw new ResourceError(problems.list);
    }
  } catch (err) {
    await loaded.closeAll();
    throw err;
  }
  return loaded;
}

async function initOne(
  p: Planned,
  metadata: ReturnType<typeof validateMetadata>,
  opts: LoaderOptions,
  loaded: LoadedSet,
  problems: LoadProblems,
): Promise<void> {
  const c = p.resource;
  const log = opts.logger;
  const component = p.registration.create();
  try {
    await initWithTimeout(
      component,
      {
        name: c.name,
        type: c.type,
        version: p.version,
        metadata,
        appId: opts.appId,
        namespace: opts.namespace,
        logger: log.child({ scope: 'dapr.contrib', component: `${c.name} (${c.type}/${p.version})` }),
        dataDir: opts.dataDir,
        ...(opts.kubeconfigPath === undefined ? {} : { kubeconfigPath: opts.kubeconfigPath }),
      },
      c.initTimeoutMs,
    );
  } catch (err) {
    emitLoaded({ name: c.name, type: c.type, success: false });
    void component.close().catch(() => undefined);
    const message = err instanceof Error ? err.message : String(err);
    if (c.ignoreErrors) {
      log.warn(`Error processing component, error ignored: ${c.name} (${c.type}/${p.version}): ${message}`);
      return;
    }
    log.error(`Failed to init component ${c.name} (${c.type}/${p.version}): ${message}`);
    problems.push(problem(c, '(init)', `init failed: ${message}`));
    return;
  }
  loaded.add(
    {
      name: c.name,
      type: c.type,
      version: p.version,
      kind: p.registration.kind,
      component,
      capabilities: capabilitiesOf(component, p),
      resource: c,
    },
    { keyPrefix: p.keyPrefix, actorStateStore: p.actorStateStore },
  );
  emitLoaded({ name: c.name, type: c.type, success: true });
  log.info(`Component loaded: ${c.name} (${c.type}/${p.version})`);
}
