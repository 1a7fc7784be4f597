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
import { abortError, addCancelListener, type CancelSignal, removeCancelListener } from './cancellation.js';
import { inlineBody, RequestHeads } from './http1-request-head.js';
import {
  DEFAULT_IDLE_MS,
  idleMsOf,
  knownName,
  lineEnd,
  lowerKeys,
  replayable,
  SINGLE,
  statusOf,
  trimmedText,
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

const NOOP = (): void => {};

/** Keep-alive connections to one `host:port`. */
export class Http1Pool {
  readonly #host: string;
  readonly #port: number;
  readonly #heads: RequestHeads;
  /** Idle connections, most recently used last. */
  readonly #idle: Conn[] = [];
  #closed = false;

  constructor(host: string, port: number) {
    this.#host = host;
    this.#port = port;
    this.#heads = new RequestHeads(host, port);
  }

  /** Sends `req`; resolves when the response head has arrived. */
  request(req: Http1Request): Promise<Http1Response> {
    let head: Buffer;
    try {
      head = this.#heads.write(req);
    } catch (err) {
      return Promise.reject(err);
    }
    const idle = this.#takeIdle();
    const exchange = new Exchange(this, idle ?? this.#connect(), req, idle !== undefined);
    const sent = exchange.start(head);
    if (idle === undefined || !replayable(req, this.#heads.idempotencyKey)) return sent;
    return sent.catch((err: unknown) => {
      if (!exchange.mayResend) throw err;
      return new Exchange(this, this.#connect(), req, false).start(head);
    });
  }

  /** The most recently used idle connection still within its keep-alive time. */
  #takeIdle(): Conn | undefined {
    const now = performance.now();
    for (let c = this.#idle.pop(); c !== undefined; c = this.#idle.pop()) {
      if (c.until > now && !c.socket.destroyed) return c;
      c.socket.destroy();
    }
    return undefined;
  }

  /** Destroys the idle connections; busy ones close when their exchange ends. */
  close(): void {
    this.#closed = true;
    for (const c of this.#idle.splice(0)) c.socket.destroy();
  }

  /** @internal A finished exchange hands its connection back, reusable for `idleMs`. */
  release(conn: Conn, idleMs: number): void {
    const socket = conn.socket;
    if (this.#closed || socket.destroyed) {
      socket.destroy();
      return;
    }
    // Idle: what the socket reports goes nowhere (its data is discarded, an error ignored) and
    // its closing takes it out of the idle list (Conn's listeners).
    conn.exchange = undefined;
    conn.until = performance.now() + idleMs;
    socket.resume();
    this.#idle.push(conn);
  }

  /** @internal An idle connection closed. */
  forget(conn: Conn): void {
    const i = this.#idle.indexOf(conn);
    if (i >= 0) this.#idle.splice(i, 1);
  }

  #connect(): Conn {
    return new Conn(this, connect({ host: this.#host, port: this.#port, noDelay: true }));
  }
}

/**
 * One pooled connection. Its socket's listeners are attached once and pass what happens to the
 * exchange in progress, instead of four listeners added and removed per request.
 */
class Conn {
  readonly socket: Socket;
  /** The exchange using the connection; undefined while idle. */
  exchange: Exchange | undefined;
  /** While idle: when it stops being reused (performance.now() ms). */
  until = 0;

  constructor(pool: Http1Pool, socket: Socket) {
    this.socket = socket;
    socket.on('data', (c: Buffer) => this.exchange?.onData(c));
    socket.on('end', () => this.exchange?.onEnd());
    socket.on('error', (err) => this.exchange?.fail(err));
    socket.on('close', () => {
      const x = this.exchange;
      if (x !== undefined) x.fail(new Http1Error('ECONNRESET', 'socket hang up'));
      else pool.forget(this);
    });
  }
}

/** A response body: reading it resumes the socket (a subclass: no `read` closure per response). */
class ResponseBody extends Readable {
  readonly #socket: Socket;

  constructor(socket: Socket) {
    super();
    this.#socket = socket;
  }

  override _read(): void {
    this.#socket.resume();
  }
}

/** Body framing of a response. */
type Framing = 'none' | 'length' | 'chunked' | 'close';

/** One request/response on one connection. */
class Exchange {
  readonly #pool: Http1Pool;
  readonly #conn: Conn;
  readonly #socket: Socket;
  readonly #req: Http1Request;
  readonly #reused: boolean;
  #gotBytes = false;
  #aborted = false;
  #idleMs = DEFAULT_IDLE_MS;
  // Shared no-ops until set (an arrow per field would be three closures per request).
  #resolve: (r: Http1Response) => void = NOOP;
  #reject: (e: Error) => void = NOOP;
  #buf: Buffer | undefined;
  #body: Readable | undefined;
  #framing: Framing = 'none';
  #remaining = 0;
  /** Chunked decoding: waiting for a size line (-1), or bytes left in the chunk, or in trailers (-2). */
  #chunkLeft = -1;
  #keepAlive = true;
  #sent = false;
  #done = false;

  constructor(pool: Http1Pool, conn: Conn, req: Http1Request, reused: boolean) {
    this.#pool = pool;
    this.#conn = conn;
    this.#socket = conn.socket;
    this.#req = req;
    this.#reused = reused;
    conn.exchange = this;
  }

  /** Failed on a reused connection before any byte of an answer and not cancelled. */
  get mayResend(): boolean {
    return this.#reused && !this.#gotBytes && !this.#aborted;
  }

  /** Sends the request: `head` from `Http1Pool.#head` (with the body in it when small). */
  start(head: Buffer): Promise<Http1Response> {
    const p = new Promise<Http1Response>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    const s = this.#socket;
    const req = this.#req;
    // The exchange itself listens (handleEvent): no closure and unsubscribe function per request.
    addCancelListener(req.signal, this);
    const body = req.body;
    if (body instanceof Readable) {
      const chunked = !('content-length' in lowerKeys(req.headers));
      s.write(head);
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
      if (body === undefined || body.byteLength === 0 || inlineBody(body)) s.write(head);
      else {
        // One write for head and body, sent now: a later uncork would hold this request back
        // while the sidecar handles the other requests that arrived in the same read.
        s.cork();
        s.write(head);
        s.write(body);
        s.uncork();
      }
      this.#sent = true;
    }
    return p;
  }

  /** @internal CancelListener: the request's signal was cancelled. */
  handleEvent(): void {
    this.#aborted = true;
    this.#fail(abortError(this.#req.signal));
  }

  /** @internal Conn: the socket failed or closed. */
  fail(err: Error): void {
    this.#fail(err);
  }

  #fail(err: Error): void {
    if (this.#done) return;
    this.#done = true;
    removeCancelListener(this.#req.signal, this);
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

  /** @internal Conn: the socket ended. */
  onEnd(): void {
    if (this.#framing === 'close' && this.#body !== undefined && !this.#done) {
      this.#keepAlive = false;
      this.#finishBody();
      return;
    }
    this.#fail(new Http1Error('ECONNRESET', 'socket hang up'));
  }

  /** @internal Conn: bytes from the socket. */
  onData(chunk: Buffer): void {
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
          const final = this.#onHead(data, end);
          data = end + 4 === data.length ? EMPTY : data.subarray(end + 4);
          if (!final) continue; // an interim 1xx response: parse the next head
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

  /**
   * Parses the response head in `data[0, end)`; false for an interim (1xx) response. It reads the
   * bytes in place: splitting a string of the head cost a string per line, a regex match and
   * three more strings per header.
   */
  #onHead(data: Buffer, end: number): boolean {
    const statusEnd = lineEnd(data, 0, end);
    const status = statusOf(data, statusEnd);
    if (status < 0)
      throw new Http1Error(
        'HPE_INVALID_CONSTANT',
        `invalid status line: ${JSON.stringify(data.toString('latin1', 0, statusEnd))}`,
      );
    if (status >= 100 && status < 200 && status !== 101) return false;
    const headers: IncomingHttpHeaders = {};
    // Header lines: each up to the next CRLF, the last one up to `end`.
    for (let at = statusEnd + 2; at <= end; ) {
      const le = lineEnd(data, at, end);
      const colon = data.indexOf(0x3a, at);
      if (colon < 0 || colon >= le || colon === at)
        throw new Http1Error(
          'HPE_INVALID_HEADER_TOKEN',
          `invalid header line: ${JSON.stringify(data.toString('latin1', at, le))}`,
        );
      const known = knownName(data, at, colon);
      const name = known?.name ?? trimmedText(data, at, colon).toLowerCase();
      const value = known === undefined ? trimmedText(data, colon + 1, le) : known.value(data, colon + 1, le);
      const prev = headers[name];
      if (prev === undefined) headers[name] = name === 'set-cookie' ? [value] : value;
      else if (name === 'set-cookie') (prev as string[]).push(value);
      else if (!SINGLE.has(name)) headers[name] = `${prev as string}, ${value}`;
      at = le + 2;
    }
    const connection = (headers.connection ?? '').toLowerCase();
    const keepAlive = headers['keep-alive'];
    this.#idleMs = idleMsOf(typeof keepAlive === 'string' ? keepAlive : undefined);
    this.#keepAlive = data[7] === 0x31 ? !connection.includes('close') : connection.includes('keep-alive');
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
    const body = new ResponseBody(this.#socket);
    // A consumer that does not listen for errors must not crash the sidecar; `for await` and
    // `finished()` still see the error through the stream's errored state.
    body.on('error', NOOP);
    // (`on`, not `once`: 'close' comes once, and once() wraps the listener in two more objects)
    body.on('close', () => {
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
        // The whole read is body (the usual case): pushed as it is, without views of it.
        const whole = n === data.length;
        this.#push(body, whole ? data : data.subarray(0, n));
        this.#remaining -= n;
        if (this.#remaining === 0) {
          if (!whole) this.#keepAlive = false; // bytes past the response: do not reuse
          this.#finishBody();
        }
        return whole ? EMPTY : data.subarray(n);
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
    removeCancelListener(this.#req.signal, this);
    body.push(null);
    this.#maybeRelease();
  }

  #maybeRelease(): void {
    if (!this.#done || !this.#sent || this.#body === undefined) return;
    if (this.#keepAlive && this.#buf === undefined && this.#idleMs > 0)
      this.#pool.release(this.#conn, this.#idleMs);
    else this.#socket.destroy();
  }
}

const EMPTY = Buffer.alloc(0);
const CRLF = Buffer.from('\r\n');
