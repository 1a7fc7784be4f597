/**
 * HTTP/1.1 message rules of the app channel's client, as node:http and Go's transport apply them:
 * header validation, which response headers keep their first value, which methods send no
 * Content-Length, when a connection may be reused and when a request may be sent again.
 */
import { Readable } from 'node:stream';
import type { Http1Request } from './http1-client.js';

/** An HTTP token (header names). */
export const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const BAD_VALUE = /[^\t\x20-\x7e\x80-\xff]/;
/** Request methods that carry no body by default (node:http sends no Content-Length for them). */
export const NO_BODY_METHODS = new Set(['GET', 'HEAD', 'DELETE', 'OPTIONS', 'TRACE', 'CONNECT']);
/** How long an idle connection is reused when the app does not say (`Keep-Alive: timeout=`). */
export const DEFAULT_IDLE_MS = 4_000;
/** Methods a request may be sent again for, as Go's transport does (no body or a replayable one). */
const IDEMPOTENT_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE']);
/** Response headers of which node:http keeps only the first occurrence. */
export const SINGLE = new Set([
  'age',
  'authorization',
  'content-length',
  'content-type',
  'etag',
  'expires',
  'from',
  'host',
  'if-modified-since',
  'if-unmodified-since',
  'last-modified',
  'location',
  'max-forwards',
  'proxy-authorization',
  'referer',
  'retry-after',
  'server',
  'user-agent',
]);

/** Whether a request may be sent again after its connection failed before any answer. */
export function replayable(req: Http1Request): boolean {
  if (req.body instanceof Readable) return false;
  if (IDEMPOTENT_METHODS.has(req.method)) return true;
  for (const name in req.headers) {
    const lower = name.toLowerCase();
    if (lower === 'idempotency-key' || lower === 'x-idempotency-key') return true;
  }
  return false;
}

/** Milliseconds to keep reusing a connection, from the app's `Keep-Alive: timeout=N` (N − 1 s). */
export function idleMsOf(keepAlive: string | undefined): number {
  if (keepAlive === undefined) return DEFAULT_IDLE_MS;
  const m = /(?:^|[,;\s])timeout\s*=\s*(\d+)/i.exec(keepAlive);
  return m === null ? DEFAULT_IDLE_MS : Math.max(0, Number(m[1]) * 1000 - 1000);
}

/** One request header line; a value with line breaks or control characters is refused. */
export function headerLine(name: string, value: string): string {
  if (BAD_VALUE.test(value))
    throw invalidHeader('ERR_INVALID_CHAR', `Invalid character in header content ["${name}"]`);
  return `${name}: ${value}\r\n`;
}

/** A TypeError with node:http's code for a refused header. */
export function invalidHeader(code: string, message: string): TypeError {
  return Object.assign(new TypeError(message), { code });
}

/** The names of the defined entries, lower-cased. */
export function lowerKeys(h: Readonly<Record<string, unknown>>): Record<string, true> {
  const out: Record<string, true> = {};
  for (const k in h) if (h[k] !== undefined) out[k.toLowerCase()] = true;
  return out;
}
