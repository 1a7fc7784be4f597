/**
 * Request heads of the HTTP/1.1 app client (`http1-client.ts`), as latin1 bytes ready to write:
 * header names and values checked as node:http checks them, `Content-Length` or chunked framing
 * added when the request has neither, and a small Buffer body appended so that head and body leave
 * in one write.
 */
import { Readable } from 'node:stream';
import type { Http1Request } from './http1-client.js';
import { checkHeaderValue, invalidHeader, isAsciiName, NO_BODY_METHODS, TOKEN } from './http1-rules.js';

/** Bodies up to this size go out in one Buffer with the request head (one write, no cork). */
const INLINE_BODY_BYTES = 16 * 1024;
/** A scratch buffer grown past this for a huge head is not kept. */
const SCRATCH_KEPT_BYTES = 64 * 1024;

/** The heads of one pool's requests (its Host line is in every one). */
export class RequestHeads {
  /** ` HTTP/1.1`, the Host line and `Connection: keep-alive`: what follows the path in every head. */
  readonly #fixed: Buffer;
  /** Whether the last head written has an Idempotency-Key header (see `replayable`). */
  idempotencyKey = false;

  constructor(host: string, port: number) {
    const h = host.includes(':') ? `[${host}]` : host;
    const hostHeader = port === 80 ? h : `${h}:${port}`;
    this.#fixed = Buffer.from(` HTTP/1.1\r\nHost: ${hostHeader}\r\nConnection: keep-alive\r\n`, 'latin1');
  }

  /**
   * The request head as latin1 bytes, followed by the body when it is a small Buffer. Written
   * into a scratch buffer and copied out once: building it as a string cost a string per header
   * line and per concatenation, and a cork/writev to send it with the body.
   */
  write(req: Http1Request): Buffer {
    const b = HEAD_SCRATCH;
    b.reset();
    b.text(req.method);
    b.put(SPACE);
    b.text(req.path);
    b.put(this.#fixed);
    let length = false;
    let chunked = false;
    let idempotencyKey = false;
    const headers = req.headers;
    for (const name in headers) {
      const value = headers[name];
      if (value === undefined) {
        if (isIdempotencyKey(name)) idempotencyKey = true;
        continue;
      }
      if (!TOKEN.test(name))
        throw invalidHeader('ERR_INVALID_HTTP_TOKEN', `Header name must be a valid HTTP token ["${name}"]`);
      // A token is ASCII: compared without a lower-cased copy of every name.
      if (isAsciiName(name, 'idempotency-key') || isAsciiName(name, 'x-idempotency-key'))
        idempotencyKey = true;
      if (isAsciiName(name, 'host') || isAsciiName(name, 'connection')) continue;
      if (isAsciiName(name, 'content-length')) length = true;
      else if (isAsciiName(name, 'transfer-encoding'))
        chunked = String(value).toLowerCase().includes('chunked');
      if (typeof value === 'string') b.header(name, value);
      else if (typeof value === 'number') b.header(name, String(value));
      else for (const v of value) b.header(name, v);
    }
    this.idempotencyKey = idempotencyKey;
    const body = req.body;
    if (body instanceof Readable) {
      if (!length && !chunked) b.put(TE_CHUNKED);
    } else if (!length) {
      const n = body?.byteLength ?? 0;
      if (n > 0 || !NO_BODY_METHODS.has(req.method)) {
        b.put(CONTENT_LENGTH);
        b.text(String(n));
        b.put(CRLF);
      }
    }
    b.put(CRLF);
    return b.copyOut(inlineBody(body) ? (body as Uint8Array) : undefined);
  }
}

/** Whether a name is an Idempotency-Key header's (any case). */
function isIdempotencyKey(name: string): boolean {
  const lower = name.toLowerCase();
  return lower === 'idempotency-key' || lower === 'x-idempotency-key';
}

/** Whether a request body travels in the head's Buffer (see INLINE_BODY_BYTES). */
export function inlineBody(body: Http1Request['body']): boolean {
  return (
    body !== undefined &&
    !(body instanceof Readable) &&
    body.byteLength > 0 &&
    body.byteLength <= INLINE_BODY_BYTES
  );
}

/** A growing scratch buffer for request heads (one per process: heads are built synchronously). */
class HeadBuilder {
  #buf = Buffer.allocUnsafe(4096);
  #pos = 0;

  reset(): void {
    // A rare huge head does not pin its scratch space.
    if (this.#buf.length > SCRATCH_KEPT_BYTES) this.#buf = Buffer.allocUnsafe(4096);
    this.#pos = 0;
  }

  #ensure(n: number): void {
    if (this.#pos + n <= this.#buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.#buf.length * 2, this.#pos + n));
    this.#buf.copy(next, 0, 0, this.#pos);
    this.#buf = next;
  }

  /** A string as latin1 (one byte per UTF-16 unit, as `socket.write(s, 'latin1')` sends it). */
  text(s: string): void {
    this.#ensure(s.length);
    this.#pos += this.#buf.write(s, this.#pos, 'latin1');
  }

  put(bytes: Buffer): void {
    this.#ensure(bytes.length);
    bytes.copy(this.#buf, this.#pos);
    this.#pos += bytes.length;
  }

  /** One header line; a value with line breaks or control characters is refused. */
  header(name: string, value: string): void {
    checkHeaderValue(name, value);
    this.text(name);
    this.put(COLON_SPACE);
    this.text(value);
    this.put(CRLF);
  }

  /** The bytes written, then `body` if given, in a Buffer of their own. */
  copyOut(body: Uint8Array | undefined): Buffer {
    const out = Buffer.allocUnsafe(this.#pos + (body?.byteLength ?? 0));
    this.#buf.copy(out, 0, 0, this.#pos);
    if (body !== undefined) out.set(body, this.#pos);
    return out;
  }
}

const HEAD_SCRATCH = new HeadBuilder();

const CRLF = Buffer.from('\r\n');
const SPACE = Buffer.from(' ');
const COLON_SPACE = Buffer.from(': ');
const TE_CHUNKED = Buffer.from('Transfer-Encoding: chunked\r\n');
const CONTENT_LENGTH = Buffer.from('Content-Length: ');
