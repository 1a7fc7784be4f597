/**
 * HTTPEndpoint resources as invocation targets (daprd pkg/runtime/processor/httpendpoints.go and
 * the endpoint channels of pkg/runtime/channels): header values and `clientTLS` documents given
 * inline or through `secretKeyRef`s, resolved once at start from the secret store named in
 * `auth.secretStore`, and a keep-alive HTTPS agent per endpoint that has TLS material.
 *
 * As in daprd, `rootCA` replaces the system roots for that endpoint, `certificate` + `privateKey`
 * are the client certificate, and TLS 1.2 is the minimum. Where daprd would send a header it could
 * not resolve as empty, or fail to build the endpoint's channel, the endpoint here stays known but
 * every call to it fails with the reason (ERR_DIRECT_INVOKE), and the reason is logged at start.
 */
import { constants as cryptoConstants, X509Certificate } from 'node:crypto';
import { Agent as HttpsAgent } from 'node:https';
import { createSecureContext } from 'node:tls';
import type { LoadedSecretStore } from '../api/universal/context.js';
import type { Logger } from '../components/component.js';
import { resolveSecretKeyRef } from '../components/secret-ref.js';
import type { HttpEndpointResource, ValueOrSecret } from '../spec/http-endpoint.js';
import type { HttpEndpointTarget } from './http-endpoint-call.js';

/** What resolving an endpoint needs. */
export interface EndpointInputs {
  readonly appId: string;
  /** Loaded secret stores by component name. */
  readonly secretStores: ReadonlyMap<string, LoadedSecretStore>;
  readonly logger: Logger;
}

/** Thrown while resolving one endpoint: the endpoint is kept, broken, with this message. */
class EndpointError extends Error {}

async function resolveValue(
  e: HttpEndpointResource,
  v: ValueOrSecret,
  field: string,
  i: EndpointInputs,
): Promise<string> {
  if ('value' in v) return v.value;
  if (e.secretStore === undefined)
    throw new EndpointError(`${field} uses a secretKeyRef, which needs auth.secretStore`);
  const r = await resolveSecretKeyRef(i.secretStores, e.secretStore, v.secretKeyRef);
  if ('error' in r) throw new EndpointError(`${field}: ${r.error}`);
  return r.value;
}

/** The endpoint's HTTPS agent, or undefined when it has no TLS material. */
async function tlsAgent(e: HttpEndpointResource, i: EndpointInputs): Promise<HttpsAgent | undefined> {
  const tls = e.clientTLS;
  if (tls === undefined) return undefined;
  const get = (v: ValueOrSecret | undefined, field: string) =>
    v === undefined ? undefined : resolveValue(e, v, `clientTLS.${field}`, i);
  const ca = await get(tls.rootCA, 'rootCA');
  const cert = await get(tls.certificate, 'certificate');
  const key = await get(tls.privateKey, 'privateKey');
  if ((cert === undefined) !== (key === undefined))
    throw new EndpointError('clientTLS.certificate and clientTLS.privateKey must be given together');
  if (ca !== undefined) {
    try {
      new X509Certificate(ca);
    } catch {
      throw new EndpointError(
        'failed to add root cert to cert pool: clientTLS.rootCA is not a PEM certificate',
      );
    }
  }
  const options = {
    keepAlive: true,
    minVersion: 'TLSv1.2' as const,
    ...(ca === undefined ? {} : { ca }),
    ...(cert === undefined || key === undefined ? {} : { cert, key }),
    // Never: refuse a server's renegotiation request (TLS 1.2); OpenSSL's client accepts them
    // otherwise, so OnceAsClient and FreelyAsClient both allow it.
    ...(tls.renegotiation === 'Never' ? { secureOptions: cryptoConstants.SSL_OP_NO_RENEGOTIATION } : {}),
  };
  try {
    createSecureContext(options);
  } catch (err) {
    throw new EndpointError(`failed to load client certificate: ${(err as Error).message}`);
  }
  return new HttpsAgent(options);
}

async function resolveEndpoint(e: HttpEndpointResource, i: EndpointInputs): Promise<HttpEndpointTarget> {
  const headers: { name: string; value: string }[] = [];
  for (const h of e.headers)
    headers.push({ name: h.name, value: await resolveValue(e, h, `header ${h.name}`, i) });
  const agent = e.baseUrl.startsWith('https:') ? await tlsAgent(e, i) : undefined;
  return { baseUrl: e.baseUrl, headers, ...(agent === undefined ? {} : { agent }) };
}

/** The HTTPEndpoints scoped to this app, by name, with their secrets resolved. */
export async function resolveHttpEndpoints(
  list: readonly HttpEndpointResource[],
  i: EndpointInputs,
): Promise<Map<string, HttpEndpointTarget>> {
  const out = new Map<string, HttpEndpointTarget>();
  for (const e of list) {
    if (e.scopes.length > 0 && !e.scopes.includes(i.appId)) continue;
    try {
      out.set(e.name, await resolveEndpoint(e, i));
    } catch (err) {
      if (!(err instanceof EndpointError)) throw err;
      const reason = `HTTPEndpoint ${e.name}: ${err.message}`;
      i.logger.error(`${reason}; calls to it will fail`);
      out.set(e.name, { baseUrl: e.baseUrl, headers: [], error: reason });
    }
  }
  return out;
}
