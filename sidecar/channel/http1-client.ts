/**
 * A lean HTTP/1.1 client for the plaintext app channel: keep-alive connections to one host, one
 * request at a time per connection, the request head and a known-length body in one write, and a
 * response parser that hands the body over as it arrives. node:http's client with an Agent spent
 * about a fifth of the callee sidecar's CPU per invocation on bookkeeping (agent pools, socket
 * listeners per request, header objects built three times); this does the same protocol work
 * directly. TLS apps (`--app-protocol https`) keep node:https.
 *
 * Protocol coverage: Content-Length and chunked bodies both ways, bodies delimited by the
 * connection's close, HEAD / 204 / 304 without a body, 1xx interim responses skipped,
 * `Connection: close` and HTTP/1.0 honoured, header names and values validated as node:http does.
 *
 * Idle connections: an app closes a keep-alive connection it has not used for a while, and a
 * request sent just as it does fails. Like node:http's client, an idle connection is not reused
 * past the app's `Keep-Alive: timeout=N` less a second (4 s when the app gives no hint: node's and
 * uvicorn's servers close after 5 s). Like Go's transport, a replayable request (no body or a
 * Buffer body, and GET/HEAD/OPTIONS/TRACE or an Idempotency-Key header) that fails on a reused
 * connection before any byte of an answer is sent once more on a new connection.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { connect, type Socket } from 'node:net';
import { Readable } from 'node:stream';
import { abortError, type CancelSignal, onCancel } from './cancellation.js';
import {
  DEFAULT_IDLE_MS,
  headerLine,
  idleMsOf,
  invalidHeader,
  lowerKeys,
  NO_BODY_METHODS,
  replayable,
  SINGLE,
  TOKEN,
} from './http1-rules.js';

/** One request. `path` includes the query. */
export interface Http1Request {
  readonly method: string;
  readonly path: string;
  readonly headers: Readonly<Record<string, string | number | readonly string[] | undefined>>;
  readonly body: Buffer | Uint8Array | Readable | undefined;
  readonly signal?: CancelSignal | undefined;
}

/** The response head and its body (to be consumed or destroyed). */
export interface Http1Response {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Readable;
}

/** A malformed response or a connection that ended early (code like node:http's). */
export class Http1Error extends Error {
  /** Creates the error with a node:http-style code (`ECONNRESET`, `HPE_INVALID_...`). */
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'Http1Error';
  }
}

const MAX_HEAD = 64 * 1024;

/** Keep-alive connections to one `host:port`. */
export class Http1Pool {
  readonly #host: string;
  readonly #port: number;
  readonly #hostHeader: string;
  /** Idle connections, most recently used last, each with when it stops being reused (performance.now() ms). */
  readonly #idle: { socket: Socket; until: number }[] = [];
  #closed = false;

  constructor(host: string, port: number) {
    this.#host = host;
    this.#port = port;
    const h = host.includes(':') ? `[${host}]` : host;
    this.#hostHeader = port === 80 ? h : `${h}:${port}`;
  }

  /** Sends `req`; resolves when the response head has arrived. */
  request(req: Http1Request): Promise<Http1Response> {
    let head: string;
    try {
      head = this.#head(req);
    } catch (err) {
      return Promise.reject(err);
    }
    const idle = this.#takeIdle();
    const exchange = new Exchange(this, idle ?? this.#connect(), req, idle !== undefined);
    const sent = exchange.start(head);
    if (idle === undefined || !replayable(req)) return sent;
    return sent.catch((err: unknown) => {
      if (!exchange.mayResend) throw err;
      return new Exchange(this, this.#connect(), req, false).start(head);
    });
  }

  /** The most recently used idle connection still within its keep-alive time. */
  #takeIdle(): Socket | undefined {
    const now = performance.now();
    for (let e = this.#idle.pop(); e !== undefined; e = this.#idle.pop()) {
      if (e.until > now && !e.socket.destroyed) return e.socket;
      e.socket.destroy();
    }
    return undefined;
  }

  /** Destroys the idle connections; busy ones close when their exchange ends. */
  close(): void {
    this.#closed = true;
    for (const e of this.#idle.splice(0)) e.socket.destroy();
  }

  /** @internal A finished exchange hands its connection back, reusable for `idleMs`. */
  release(socket: Socket, idleMs: number): void {
    if (this.#closed || socket.destroyed) {
      socket.destroy();
      return;
    }
    socket.removeAllListeners('data');
    socket.removeAllListeners('end');
    socket.removeAllListeners('error');
    socket.removeAllListeners('close');
    socket.on('error', () => {});
    const entry = { socket, until: performance.now() + idleMs };
    socket.once('close', () => {
      const i = this.#idle.indexOf(entry);
      if (i >= 0) this.#idle.splice(i, 1);
    });
    socket.resume();
    this.#idle.push(entry);
  }

  #connect(): Socket {
    return connect({ host: this.#host, port: this.#port, noDelay: true });
  }

  #head(req: Http1Request): string {
    let head = `${req.method} ${req.path} HTTP/1.1\r\nHost: ${this.#hostHeader}\r\nConnection: keep-alive\r\n`;
    let length = false;
    let chunked = false;
    for (const name in req.headers) {
      const value = req.headers[name];
      if (value === undefined) continue;
      if (!TOKEN.test(name))
        throw invalidHeader('ERR_INVALID_HTTP_TOKEN', `Header name must be a valid HTTP token ["${name}"]`);
      const lower = name.toLowerCase();
      if (lower === 'host' || lower === 'connection') continue;
      if (lower === 'content-length') length = true;
      else if (lower === 'transfer-encoding') chunked = String(value).toLowerCase().includes('chunked');
      if (typeof value === 'string') head += headerLine(name, value);
      else if (typeof value === 'number') head += headerLine(name, String(value));
      else for (const v of value) head += headerLine(name, v);
    }
    const body = req.body;
    if (body instanceof Readable) {
      if (!length && !chunked) head += 'Transfer-Encoding: chunked\r\n';
    } else if (!length) {
      const n = body?.byteLength ?? 0;
      if (n > 0 || !NO_BODY_METHODS.has(req.method)) head += `Content-Length: ${n}\r\n`;
    }
    return `${head}\r\n`;
  }
}

/** Body framing of a response. */
type Framing = 'none' | 'length' | 'chunked' | 'close';

/** One request/response on one connection. */
class Exchange {
  readonly #pool: Http1Pool;
  readonly #socket: Socket;
  readonly #req: Http1Request;
  readonly #reused: boolean;
  #gotBytes = false;
  #aborted = false;
  #idleMs = DEFAULT_IDLE_MS;
  #resolve: (r: Http1Response) => void = () => {};
  #reject: (e: Error) => void = () => {};
  #buf: Buffer | undefined;
  #body: Readable | undefined;
  #framing: Framing = 'none';
  #remaining = 0;
  /** Chunked decoding: waiting for a size line (-1), or bytes left in the chunk, or in trailers (-2). */
  #chunkLeft = -1;
  #keepAlive = true;
  #sent = false;
  #done = false;
  #offCancel: () => void = () => {};

  constructor(pool: Http1Pool, socket: Socket, req: Http1Request, reused: boolean) {
    this.#pool = pool;
    this.#socket = socket;
    this.#req = req;
    this.#reused = reused;
  }

  /** Failed on a reused connection before any byte of an answer and not cancelled. */
  get mayResend(): boolean {
    return this.#reused && !this.#gotBytes && !this.#aborted;
  }

  start(head: string): Promise<Http1Response> {
    const p = new Promise<Http1Response>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    const s = this.#socket;
    s.on('data', (c: Buffer) => this.#onData(c));
    s.on('end', () => this.#onEnd());
    s.on('error', (err) => this.#fail(err));
    s.on('close', () => this.#fail(new Http1Error('ECONNRESET', 'socket hang up')));
    const req = this.#req;
    this.#offCancel = onCancel(req.signal, () => {
      this.#aborted = true;
      this.#fail(abortError(req.signal));
    });
    const body = req.body;
    if (body instanceof Readable) {
      const chunked = !('content-length' in lowerKeys(req.headers));
      s.write(head, 'latin1');
      body.on('data', (c: Buffer) => {
        if (c.length === 0) return;
        if (chunked) {
          s.write(`${c.length.toString(16)}\r\n`);
          s.write(c);
        }
        // The last write's answer says whether the socket's buffer is over its mark.
        if (!s.write(chunked ? CRLF : c)) {
          body.pause();
          s.once('drain', () => body.resume());
        }
      });
      body.once('end', () => {
        if (chunked) s.write('0\r\n\r\n');
        this.#sent = true;
        this.#maybeRelease();
      });
      body.once('error', (err) => this.#fail(err));
    } else {
      if (body === undefined || body.byteLength === 0) s.write(head, 'latin1');
      else {
        // One write for head and body, sent now: a later uncork would hold this request back
        // while the sidecar handles the other requests that arrived in the same read.
        s.cork();
        s.write(head, 'latin1');
        s.write(body);
        s.uncork();
      }
      this.#sent = true;
    }
    return p;
  }

  #fail(err: Error): void {
    if (this.#done) return;
    this.#done = true;
    this.#offCancel();
    this.#socket.destroy();
    const body = this.#body;
    if (body === undefined) this.#reject(err);
    // The head may have been handed over in this very tick: destroy once its consumer has had
    // the microtasks to attach its listeners, or the error would go unseen.
    else
      setImmediate(() => {
        if (!body.destroyed && !body.readableEnded) body.destroy(err);
      });
    if (this.#req.body instanceof Readable && !this.#req.body.readableEnded) this.#req.body.destroy();
  }

  #onEnd(): void {
    if (this.#framing === 'close' && this.#body !== undefined && !this.#done) {
      this.#keepAlive = false;
      this.#finishBody();
      return;
    }
    this.#fail(new Http1Error('ECONNRESET', 'socket hang up'));
  }

  #onData(chunk: Buffer): void {
    if (this.#done) return;
    this.#gotBytes = true;
    let data = chunk;
    if (this.#buf !== undefined) {
      data = Buffer.concat([this.#buf, chunk]);
      this.#buf = undefined;
    }
    try {
      while (data.length > 0 && !this.#done) {
        if (this.#body === undefined) {
          const end = data.indexOf('\r\n\r\n');
          if (end < 0) {
            if (data.length > MAX_HEAD)
              throw new Http1Error('HPE_HEADER_OVERFLOW', 'response head too large');
            this.#buf = data;
            return;
          }
          const rest = data.subarray(end + 4);
          if (this.#onHead(data.toString('latin1', 0, end))) data = rest;
          else {
            data = rest;
            continue; // an interim 1xx response: parse the next head
          }
          if (this.#framing === 'none') {
            if (data.length > 0) this.#keepAlive = false; // bytes past the response: do not reuse
            this.#finishBody();
            return;
          }
          continue;
        }
        data = this.#onBody(data);
      }
    } catch (err) {
      this.#fail(err instanceof Http1Error ? err : new Http1Error('HPE_INVALID', (err as Error).message));
    }
  }

  /** Parses a response head; false for an interim (1xx) response. */
  #onHead(text: string): boolean {
    const lines = text.split('\r\n');
    const m = /^HTTP\/1\.([01]) (\d{3})(?: .*)?$/.exec(lines[0] ?? '');
    if (m === null)
      throw new Http1Error('HPE_INVALID_CONSTANT', `invalid status line: ${JSON.stringify(lines[0])}`);
    const status = Number(m[2]);
    if (status >= 100 && status < 200 && status !== 101) return false;
    const headers: IncomingHttpHeaders = {};
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i] as string;
      const colon = line.indexOf(':');
      if (colon <= 0)
        throw new Http1Error('HPE_INVALID_HEADER_TOKEN', `invalid header line: ${JSON.stringify(line)}`);
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      const prev = headers[name];
      if (prev === undefined) headers[name] = name === 'set-cookie' ? [value] : value;
      else if (name === 'set-cookie') (prev as string[]).push(value);
      else if (!SINGLE.has(name)) headers[name] = `${prev as string}, ${value}`;
    }
    const connection = (headers.connection ?? '').toLowerCase();
    const keepAlive = headers['keep-alive'];
    this.#idleMs = idleMsOf(typeof keepAlive === 'string' ? keepAlive : undefined);
    this.#keepAlive = m[1] === '1' ? !connection.includes('close') : connection.includes('keep-alive');
    const te = headers['transfer-encoding'];
    const cl = headers['content-length'];
    if (this.#req.method === 'HEAD' || status === 204 || status === 304) this.#framing = 'none';
    else if (te?.toLowerCase().includes('chunked') === true) this.#framing = 'chunked';
    else if (cl !== undefined) {
      if (!/^\d+$/.test(cl))
        throw new Http1Error('HPE_INVALID_CONTENT_LENGTH', `invalid Content-Length ${cl}`);
      this.#remaining = Number(cl);
      this.#framing = this.#remaining === 0 ? 'none' : 'length';
    } else {
      this.#framing = 'close';
      this.#keepAlive = false;
    }
    const socket = this.#socket;
    const body = new Readable({ read: () => socket.resume() });
    // A consumer that does not listen for errors must not crash the sidecar; `for await` and
    // `finished()` still see the error through the stream's errored state.
    body.on('error', () => {});
    body.once('close', () => {
      if (!body.readableEnded) this.#fail(new Http1Error('ECONNRESET', 'response body was not read'));
    });
    this.#body = body;
    this.#resolve({ status, headers, body });
    return true;
  }

  /** Consumes body bytes; returns what is left after the body (nothing, normally). */
  #onBody(data: Buffer): Buffer {
    const body = this.#body as Readable;
    switch (this.#framing) {
      case 'length': {
        const n = Math.min(this.#remaining, data.length);
        this.#push(body, data.subarray(0, n));
        this.#remaining -= n;
        if (this.#remaining === 0) {
          if (data.length > n) this.#keepAlive = false; // bytes past the response: do not reuse
          this.#finishBody();
        }
        return data.subarray(n);
      }
      case 'close':
        this.#push(body, data);
        return EMPTY;
      case 'chunked':
        return this.#onChunked(body, data);
      default:
        return EMPTY;
    }
  }

  #onChunked(body: Readable, input: Buffer): Buffer {
    let data = input;
    while (data.length > 0) {
      if (this.#chunkLeft > 0) {
        const n = Math.min(this.#chunkLeft, data.length);
        this.#push(body, data.subarray(0, n));
        this.#chunkLeft -= n;
        data = data.subarray(n);
        if (this.#chunkLeft === 0) this.#chunkLeft = -3; // the CRLF after the data
        continue;
      }
      const eol = data.indexOf('\r\n');
      if (eol < 0) {
        if (data.length > MAX_HEAD) throw new Http1Error('HPE_INVALID_CHUNK_SIZE', 'chunk line too long');
        this.#buf = data;
        return EMPTY;
      }
      const line = data.toString('latin1', 0, eol);
      data = data.subarray(eol + 2);
      if (this.#chunkLeft === -3) {
        if (line !== '') throw new Http1Error('HPE_STRICT', 'missing CRLF after chunk data');
        this.#chunkLeft = -1;
      } else if (this.#chunkLeft === -2) {
        if (line === '') {
          if (data.length > 0) this.#keepAlive = false;
          this.#finishBody();
          return data;
        }
      } else {
        const size = Number.parseInt(line.split(';', 1)[0]?.trim() ?? '', 16);
        if (!/^[0-9a-fA-F]+/.test(line) || !Number.isFinite(size))
          throw new Http1Error('HPE_INVALID_CHUNK_SIZE', `invalid chunk size line ${JSON.stringify(line)}`);
        this.#chunkLeft = size === 0 ? -2 : size;
      }
    }
    return EMPTY;
  }

  #push(body: Readable, data: Buffer): void {
    if (data.length > 0 && !body.push(data)) this.#socket.pause();
  }

  #finishBody(): void {
    const body = this.#body as Readable;
    this.#done = true;
    this.#offCancel();
    body.push(null);
    this.#maybeRelease();
  }

  #maybeRelease(): void {
    if (!this.#done || !this.#sent || this.#body === undefined) return;
    if (this.#keepAlive && this.#buf === undefined && this.#idleMs > 0)
      this.#pool.release(this.#socket, this.#idleMs);
    else this.#socket.destroy();
  }
}

const EMPTY = Buffer.alloc(0);
const CRLF = Buffer.from('\r\n');
