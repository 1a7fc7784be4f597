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

/**
 * Whether a request may be sent again after its connection failed before any answer.
 * `idempotencyKey`: whether its headers have an Idempotency-Key (when the caller has already
 * looked, as the client does while it writes the head).
 */
export function replayable(req: Http1Request, idempotencyKey?: boolean): boolean {
  if (req.body instanceof Readable) return false;
  if (IDEMPOTENT_METHODS.has(req.method)) return true;
  if (idempotencyKey !== undefined) return idempotencyKey;
  for (const name in req.headers) {
    const lower = name.toLowerCase();
    if (lower === 'idempotency-key' || lower === 'x-idempotency-key') return true;
  }
  return false;
}

/** Milliseconds to keep reusing a connection, from the app's `Keep-Alive: timeout=N` (N − 1 s). */
export function idleMsOf(keepAlive: string | undefined): number {
  if (keepAlive === undefined) return DEFAULT_IDLE_MS;
  // An app sends the same value every time: the last answer is kept (no regex match per response).
  if (keepAlive === lastKeepAlive) return lastIdleMs;
  const m = /(?:^|[,;\s])timeout\s*=\s*(\d+)/i.exec(keepAlive);
  const ms = m === null ? DEFAULT_IDLE_MS : Math.max(0, Number(m[1]) * 1000 - 1000);
  lastKeepAlive = keepAlive;
  lastIdleMs = ms;
  return ms;
}

let lastKeepAlive: string | undefined;
let lastIdleMs = DEFAULT_IDLE_MS;

/** `name.toLowerCase() === lower` for an ASCII `name` and a lower-case ASCII `lower`, without the copy. */
export function isAsciiName(name: string, lower: string): boolean {
  if (name.length !== lower.length) return false;
  for (let i = 0; i < lower.length; i++) {
    const c = name.charCodeAt(i);
    const l = lower.charCodeAt(i);
    if (c !== l && !(l >= 0x61 && l <= 0x7a && c === l - 0x20)) return false;
  }
  return true;
}

/** Refuses a request header value with line breaks or control characters. */
export function checkHeaderValue(name: string, value: string): void {
  if (BAD_VALUE.test(value))
    throw invalidHeader('ERR_INVALID_CHAR', `Invalid character in header content ["${name}"]`);
}

/** One request header line; a value with line breaks or control characters is refused. */
export function headerLine(name: string, value: string): string {
  checkHeaderValue(name, value);
  return `${name}: ${value}\r\n`;
}

// --- response heads, parsed in place -----------------------------------------------------------

const CRLF = Buffer.from('\r\n');
const HTTP_1 = Buffer.from('HTTP/1.');

/** Where the line starting at `from` ends: its CRLF, or `end` (a head's last line has none). */
export function lineEnd(b: Buffer, from: number, end: number): number {
  const i = b.indexOf(CRLF, from);
  return i < 0 || i > end ? end : i;
}

/**
 * The status of a status line `b[0, n)`, or -1 when it is not one: what
 * `/^HTTP\/1\.([01]) (\d{3})(?: .*)?$/` accepts (the reason phrase has no CR or LF).
 */
export function statusOf(b: Buffer, n: number): number {
  if (n < 12 || b.compare(HTTP_1, 0, 7, 0, 7) !== 0) return -1;
  if ((b[7] !== 0x30 && b[7] !== 0x31) || b[8] !== 0x20) return -1;
  let status = 0;
  for (let i = 9; i < 12; i++) {
    const d = b[i] as number;
    if (d < 0x30 || d > 0x39) return -1;
    status = status * 10 + d - 0x30;
  }
  if (n === 12) return status;
  if (b[12] !== 0x20) return -1;
  for (let i = 13; i < n; i++) if (b[i] === 0x0a || b[i] === 0x0d) return -1;
  return status;
}

/** Whether latin1 byte `c` is white space for String.prototype.trim (TAB..CR, space, NBSP). */
function isTrimmed(c: number): boolean {
  return (c >= 0x09 && c <= 0x0d) || c === 0x20 || c === 0xa0;
}

function trimStart(b: Buffer, start: number, end: number): number {
  let s = start;
  while (s < end && isTrimmed(b[s] as number)) s++;
  return s;
}

function trimEnd(b: Buffer, start: number, end: number): number {
  let e = end;
  while (e > start && isTrimmed(b[e - 1] as number)) e--;
  return e;
}

/** `b.toString('latin1', start, end).trim()`, without the untrimmed string. */
export function trimmedText(b: Buffer, start: number, end: number): string {
  const s = trimStart(b, start, end);
  return b.toString('latin1', s, trimEnd(b, s, end));
}

/**
 * A response header name that apps commonly send, with the last value seen for it: parsing a
 * response reuses both strings when the bytes match (an app sends mostly the same headers), which
 * spares a name, its lower-cased copy and a value string per header.
 */
class KnownHeader {
  readonly name: string;
  #last = '';

  constructor(name: string) {
    this.name = name;
  }

  /** `trimmedText(b, start, end)`, the same string as last time when the text is the same. */
  value(b: Buffer, start: number, end: number): string {
    const s = trimStart(b, start, end);
    const e = trimEnd(b, s, end);
    const last = this.#last;
    if (last.length === e - s) {
      let i = 0;
      while (i < last.length && last.charCodeAt(i) === b[s + i]) i++;
      if (i === last.length) return last;
    }
    const v = b.toString('latin1', s, e);
    if (v.length <= 256) this.#last = v;
    return v;
  }
}

/** Known names by length and first letter (lower case). */
const KNOWN = new Map<number, KnownHeader[]>();
for (const name of [
  ...SINGLE,
  'accept-ranges',
  'access-control-allow-origin',
  'cache-control',
  'connection',
  'content-encoding',
  'date',
  'keep-alive',
  'set-cookie',
  'traceparent',
  'transfer-encoding',
  'vary',
  'x-powered-by',
]) {
  const key = name.length * 256 + name.charCodeAt(0);
  const list = KNOWN.get(key) ?? [];
  list.push(new KnownHeader(name));
  KNOWN.set(key, list);
}

/** The known header named by `b[start, end)` once trimmed, in any case; undefined for others. */
export function knownName(b: Buffer, start: number, end: number): KnownHeader | undefined {
  const s = trimStart(b, start, end);
  const e = trimEnd(b, s, end);
  const first = b[s] as number;
  const list = KNOWN.get((e - s) * 256 + (first >= 0x41 && first <= 0x5a ? first + 0x20 : first));
  if (list === undefined) return undefined;
  for (const k of list) {
    const name = k.name;
    let i = 0;
    for (; i < name.length; i++) {
      const c = name.charCodeAt(i);
      const x = b[s + i] as number;
      // The names are lower-case ASCII: a byte matches its letter in either case.
      if (x !== c && !(c >= 0x61 && c <= 0x7a && x === c - 0x20)) break;
    }
    if (i === name.length) return k;
  }
  return undefined;
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
