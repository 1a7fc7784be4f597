/**
 * Body sizes for daprd's `dapr_http_server_request_bytes` / `_response_bytes`: a request counts its
 * Content-Length (0 when absent), a response the body bytes its writer noted (every response the
 * HTTP API sends goes through a writer that notes them).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';

const WRITTEN = Symbol('outrigger.responseBytes');

type Counted = ServerResponse & { [WRITTEN]?: number };

function byteLength(chunk: unknown): number {
  if (typeof chunk === 'string') return Buffer.byteLength(chunk);
  return chunk instanceof Uint8Array ? chunk.byteLength : 0;
}

/** The request's Content-Length, or 0 when it has none (a chunked body). */
export function requestBytes(req: IncomingMessage): number {
  const cl = req.headers['content-length'];
  if (cl === undefined) return 0;
  const n = Number(cl);
  return Number.isSafeInteger(n) && n > 0 ? n : 0;
}

/** Adds `n` body bytes written to `res`. */
export function noteResponseBytes(res: ServerResponse, n: number): void {
  const counted = res as Counted;
  counted[WRITTEN] = (counted[WRITTEN] ?? 0) + n;
}

/** Counts the bytes of a body streamed into `res`. */
export function countStreamedBody(res: ServerResponse, body: Readable): void {
  body.on('data', (chunk: unknown) => noteResponseBytes(res, byteLength(chunk)));
}

/** The body bytes counted for `res` (0 when nothing was counted). */
export function responseBytes(res: ServerResponse): number {
  return (res as Counted)[WRITTEN] ?? 0;
}

/** A plain-text body as Go's net/http writes one (http.Error, NotFound). */
export function plainText(res: ServerResponse, text: string): void {
  res.setHeader('Content-Type', 'text/plain; charset=utf-8');
  res.setHeader('X-Content-Type-Options', 'nosniff');
  noteResponseBytes(res, Buffer.byteLength(text));
  res.end(text);
}
