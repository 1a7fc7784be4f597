import { isObj, type Obj, type ProblemSink, readSecretKeyRef, type SecretKeyRef } from './problems.js';

/** A value given inline or through a secret. */
export type ValueOrSecret = { readonly value: string } | { readonly secretKeyRef: SecretKeyRef };

/** `spec.clientTLS.renegotiation` values (Go's tls.RenegotiationSupport names). */
export const RENEGOTIATION = ['Never', 'OnceAsClient', 'FreelyAsClient'] as const;

/** A parsed `HTTPEndpoint` resource (dapr.io/v1alpha1). */
export interface HttpEndpointResource {
  readonly kind: 'HTTPEndpoint';
  readonly name: string;
  readonly baseUrl: string;
  readonly headers: readonly ({ readonly name: string } & ValueOrSecret)[];
  readonly clientTLS?: {
    readonly rootCA?: ValueOrSecret;
    readonly certificate?: ValueOrSecret;
    readonly privateKey?: ValueOrSecret;
    readonly renegotiation?: (typeof RENEGOTIATION)[number];
  };
  readonly secretStore?: string;
  readonly scopes: readonly string[];
  readonly source: string;
}

function valueOrSecret(sink: ProblemSink, v: unknown, path: string): ValueOrSecret | undefined {
  if (!isObj(v)) {
    sink.add(path, 'must be an object with value or secretKeyRef');
    return undefined;
  }
  if (v.secretKeyRef !== undefined) {
    const ref = readSecretKeyRef(sink, v.secretKeyRef, `${path}.secretKeyRef`);
    return ref === undefined ? undefined : { secretKeyRef: ref };
  }
  const value = sink.str(v, 'value', `${path}.value`, true);
  return value === undefined ? undefined : { value };
}

/** Reads an HTTPEndpoint document. */
export function readHttpEndpoint(
  doc: Obj,
  name: string,
  sink: ProblemSink,
): HttpEndpointResource | undefined {
  const spec = sink.obj(doc, 'spec', 'spec') ?? {};
  const baseUrl = sink.str(spec, 'baseUrl', 'spec.baseUrl', true);
  if (baseUrl !== undefined && !/^https?:\/\//.test(baseUrl))
    sink.add('spec.baseUrl', 'must start with http:// or https://');
  const headers: ({ name: string } & ValueOrSecret)[] = [];
  sink.arr(spec, 'headers', 'spec.headers').forEach((h, i) => {
    const path = `spec.headers[${i}]`;
    if (!isObj(h)) {
      sink.add(path, 'must be an object');
      return;
    }
    const hName = sink.str(h, 'name', `${path}.name`, true);
    const v = valueOrSecret(sink, h, path);
    if (hName !== undefined && v !== undefined) headers.push({ name: hName, ...v });
  });
  const tls = sink.obj(spec, 'clientTLS', 'spec.clientTLS');
  let clientTLS: HttpEndpointResource['clientTLS'];
  if (tls !== undefined) {
    const out: { -readonly [K in keyof NonNullable<typeof clientTLS>]: NonNullable<typeof clientTLS>[K] } =
      {};
    for (const key of ['rootCA', 'certificate', 'privateKey'] as const) {
      if (tls[key] === undefined) continue;
      const v = valueOrSecret(sink, tls[key], `spec.clientTLS.${key}`);
      if (v !== undefined) out[key] = v;
    }
    const reneg = sink.str(tls, 'renegotiation', 'spec.clientTLS.renegotiation');
    if (reneg !== undefined) {
      const known = RENEGOTIATION.find((r) => r === reneg);
      if (known === undefined)
        sink.add('spec.clientTLS.renegotiation', `must be one of ${RENEGOTIATION.join(', ')}`);
      else out.renegotiation = known;
    }
    clientTLS = out;
  }
  const auth = sink.obj(doc, 'auth', 'auth');
  const secretStore = auth === undefined ? undefined : sink.str(auth, 'secretStore', 'auth.secretStore');
  if (baseUrl === undefined) return undefined;
  return {
    kind: 'HTTPEndpoint',
    name,
    baseUrl,
    headers,
    ...(clientTLS === undefined ? {} : { clientTLS }),
    ...(secretStore === undefined ? {} : { secretStore }),
    scopes: sink.strings(doc, 'scopes', 'scopes'),
    source: sink.file,
  };
}
