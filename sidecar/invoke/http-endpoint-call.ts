/**
 * Invocation of non-Dapr services (daprd's HTTPEndpoint resources and URL targets): a direct HTTP
 * call from this sidecar to `<baseUrl>/<method>?<query>`, no sidecar hop, with the endpoint's
 * headers added. Keep-alive agents are shared per protocol.
 */
import {
  Agent as HttpAgent,
  request as httpRequest,
  type IncomingMessage,
  type OutgoingHttpHeaders,
} from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { Readable } from 'node:stream';
import { isHopByHop, newTraceparent } from './headers.js';
import type { InvokeRequest, InvokeResult } from './invoker.js';

/** What an HTTPEndpoint resolves to (see http-endpoints.ts). */
export interface HttpEndpointTarget {
  readonly baseUrl: string;
  readonly headers: readonly { readonly name: string; readonly value: string }[];
  /** The endpoint's own HTTPS agent (its clientTLS); the shared one otherwise. */
  readonly agent?: HttpsAgent;
  /** Why the endpoint cannot be called (its secrets or TLS material did not resolve). */
  readonly error?: string;
}

const httpAgent = new HttpAgent({ keepAlive: true });
const httpsAgent = new HttpsAgent({ keepAlive: true });

/** Calls the endpoint; resolves with the response head and a streaming body. */
export function callHttpEndpoint(
  target: HttpEndpointTarget,
  req: InvokeRequest,
  body: Buffer | Readable,
  signal: AbortSignal,
): Promise<InvokeResult> {
  if (target.error !== undefined) return Promise.reject(new Error(target.error));
  const base = target.baseUrl.replace(/\/+$/, '');
  const url = new URL(`${base}/${req.method}${req.query === '' ? '' : `?${req.query}`}`);
  const headers: OutgoingHttpHeaders = {};
  for (const k of Object.keys(req.headers)) {
    if (isHopByHop(k) || k === 'host' || k === 'dapr-app-id' || k === 'dapr-api-token') continue;
    const v = req.headers[k];
    if (v !== undefined) headers[k] = v;
  }
  for (const h of target.headers) headers[h.name.toLowerCase()] = h.value;
  headers.traceparent ??= newTraceparent();
  if (Buffer.isBuffer(body)) headers['content-length'] = String(body.length);
  const https = url.protocol === 'https:';
  return new Promise<InvokeResult>((resolve, reject) => {
    const out = (https ? httpsRequest : httpRequest)(
      url,
      { method: req.verb, headers, agent: https ? (target.agent ?? httpsAgent) : httpAgent, signal },
      (res: IncomingMessage) => {
        const h: Record<string, string | string[]> = {};
        for (const k of Object.keys(res.headers)) {
          const v = res.headers[k];
          if (v !== undefined && !isHopByHop(k)) h[k] = v;
        }
        resolve({ status: res.statusCode ?? 500, headers: h, body: res });
      },
    );
    out.once('error', reject);
    if (Buffer.isBuffer(body)) out.end(body);
    else {
      body.once('error', (err) => out.destroy(err));
      body.pipe(out);
    }
  });
}
