/**
 * Client side of the internal API: keep-alive HTTP/2 connections per target address (plaintext,
 * or mTLS with the workload identity, checking the server's SPIFFE trust domain; a second one
 * when the first is busy writing, see CONNECTIONS_PER_PEER), speaking the gRPC wire protocol over
 * our own HTTP/2 layer (`h2/`; see its connection.ts for why not node:http2). `callStream` sends
 * an invocation as CallLocalStream chunks and resolves with the response head and the body, with
 * backpressure both ways.
 */
import { connect as netConnect } from 'node:net';
import { Readable } from 'node:stream';
import { connect as tlsConnect } from 'node:tls';
import {
  abortError,
  addCancelListener,
  type CancelSignal,
  removeCancelListener,
} from '../../channel/cancellation.js';
import type { PeerPolicy } from '../../security/peer-verification.js';
import type { WorkloadIdentity } from '../../security/workload-identity.js';
import {
  decodeGrpcMessage,
  GrpcStatus,
  GrpcStatusError,
  MessageReader,
  sequenceError,
} from './grpc-framing.js';
import { H2Connection } from './h2/connection.js';
import { ErrorCode } from './h2/frames.js';
import { type HeaderField, HpackEncoder } from './h2/hpack.js';
import type { H2Stream, H2StreamError, HeaderMap } from './h2/stream.js';
import {
  decodeResponseChunk,
  frameRequestChunk,
  type InvokeHead,
  type ResponseHead,
} from './invoke-messages.js';
import { CALL_LOCAL_STREAM_PATH } from './service-definition.js';
/** Options of `InternalClient`. */
export interface InternalClientOptions {
  /** mTLS identity; undefined = plaintext. */
  readonly identity?: WorkloadIdentity;
  /** Servers accepted (default: the identity's trust domain). */
  readonly peerPolicy?: PeerPolicy;
}

/**
 * A response from another sidecar: head plus the body, a Buffer when the whole response had
 * arrived within the tick of its head (small answers), otherwise a stream that must be consumed
 * or destroyed.
 */
export interface InternalResponse {
  readonly head: ResponseHead;
  readonly body: Buffer | Readable;
}

/** Largest payload chunk sent in one message (bigger buffers are split). */
const MAX_CHUNK = 64 * 1024;

/** The request headers of every call (HPACK without the dynamic table is stateless: encode once). */
function requestBlock(scheme: 'http' | 'https', authority: string): Buffer {
  return new HpackEncoder().encode([
    [':method', 'POST'],
    [':scheme', scheme],
    [':path', CALL_LOCAL_STREAM_PATH],
    [':authority', authority],
    ['content-type', 'application/grpc'],
    ['te', 'trailers'],
  ]);
}

function statusOf(headers: HeaderMap): GrpcStatusError | undefined {
  const raw = headers['grpc-status'];
  if (raw === undefined) return undefined;
  const code = Number(raw);
  if (code === 0) return undefined;
  return new GrpcStatusError(code, decodeGrpcMessage(headers['grpc-message']));
}

/** Transport failures a retry on another connection may fix: gRPC UNAVAILABLE. */
const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ETIMEDOUT',
  'ERR_H2_REFUSED_STREAM',
  'ERR_H2_CONNECTION_CLOSED',
]);

function transportError(err: H2StreamError): GrpcStatusError {
  const unavailable =
    UNAVAILABLE_CODES.has(err.code) ||
    (err.code === 'ERR_H2_STREAM_RESET' && err.h2code === ErrorCode.CANCEL);
  return new GrpcStatusError(unavailable ? GrpcStatus.UNAVAILABLE : GrpcStatus.INTERNAL, err.message, {
    cause: err,
  });
}

/** `host:port` or `[v6]:port` → [host, port]. */
function splitAddress(address: string): [string, string] {
  const i = address.lastIndexOf(':');
  const host = address.slice(0, i);
  return [host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host, address.slice(i + 1)];
}

interface Entry {
  readonly conn: H2Connection;
  readonly headers: Buffer;
}

/**
 * Connections kept per peer address. A second one is dialed only when a call finds the first still
 * writing an earlier batch: node's TLS socket completes a write at the end of the event-loop
 * iteration, so frames written meanwhile would wait for it (~12 % of calls at 1000 req/s, for
 * 50–500 µs). With two, under 1 % of a caller's batches wait (sidecar/invoke/README.md).
 */
const CONNECTIONS_PER_PEER = 2;

/** Clients to other sidecars, up to CONNECTIONS_PER_PEER HTTP/2 connections per address. */
export class InternalClient {
  readonly #o: InternalClientOptions;
  readonly #connections = new Map<string, Entry[]>();
  readonly #offChange: (() => void) | undefined;

  constructor(options: InternalClientOptions = {}) {
    this.#o = options;
    // New certificate or bundle: new connections use it; current ones finish their streams.
    this.#offChange = options.identity?.onChange(() => this.#closeAll());
  }

  #closeAll(): void {
    for (const list of this.#connections.values()) for (const c of list) c.conn.close();
    this.#connections.clear();
  }

  /** A usable connection to `address` that is not writing, else a busy one, else a new one. */
  #connection(address: string): Entry {
    const list = this.#connections.get(address);
    if (list !== undefined) {
      let busy: Entry | undefined;
      for (const e of list) {
        if (!e.conn.usable) continue;
        if (!e.conn.writing) return e;
        busy ??= e;
      }
      if (busy !== undefined && list.length >= CONNECTIONS_PER_PEER) return busy;
    }
    return this.#dial(address);
  }

  #dial(address: string): Entry {
    const id = this.#o.identity;
    const [host = '', portText = ''] = splitAddress(address);
    const port = Number(portText);
    // Nagle off: a call's frames are flushed once per tick and must not wait for a delayed ACK.
    let socket: ReturnType<typeof netConnect>;
    if (id === undefined) socket = netConnect({ host, port, noDelay: true });
    else {
      const td = id.current()?.spiffeId.split('/')[2];
      const tls = id.tlsClientOptions(this.#o.peerPolicy ?? { trustDomains: td === undefined ? [] : [td] });
      socket = tlsConnect({ ...tls, host, port, ALPNProtocols: ['h2'] });
      socket.setNoDelay(true);
    }
    socket.unref();
    const conn = new H2Connection(socket, { role: 'client' });
    const entry: Entry = { conn, headers: requestBlock(id === undefined ? 'http' : 'https', address) };
    const forget = (): void => {
      const list = this.#connections.get(address);
      const i = list?.indexOf(entry) ?? -1;
      if (list === undefined || i < 0) return;
      list.splice(i, 1);
      if (list.length === 0) this.#connections.delete(address);
    };
    conn.onClose = forget;
    conn.onGoaway = forget;
    const list = this.#connections.get(address);
    if (list === undefined) this.#connections.set(address, [entry]);
    else list.push(entry);
    return entry;
  }

  /**
   * Sends `head` and `body` to the sidecar at `address`. Resolves when the response head arrives;
   * rejects with a GrpcStatusError (`code` 14 UNAVAILABLE when the sidecar cannot be reached).
   */
  callStream(
    address: string,
    head: InvokeHead,
    body: Buffer | Readable | undefined,
    signal?: CancelSignal,
  ): Promise<InternalResponse> {
    if (signal?.aborted === true) return Promise.reject(abortError(signal));
    let stream: H2Stream;
    try {
      const { conn, headers } = this.#connection(address);
      stream = conn.request(headers);
    } catch (err) {
      return Promise.reject(
        new GrpcStatusError(GrpcStatus.UNAVAILABLE, (err as Error).message, { cause: err }),
      );
    }
    const call = new ClientCall(stream, body, signal);
    try {
      sendBody(stream, head, body);
    } catch (err) {
      call.reject(err);
    }
    return call.promise;
  }

  /**
   * Opens a raw stream to the sidecar at `address` for a proxied gRPC call: `path` is the app's
   * method, `metadata` the fields that travel with it. Throws when no connection can be made.
   */
  openStream(address: string, path: string, metadata: readonly HeaderField[]): H2Stream {
    const { conn } = this.#connection(address);
    return conn.request([
      [':method', 'POST'],
      [':scheme', this.#o.identity === undefined ? 'http' : 'https'],
      [':path', path],
      [':authority', address],
      ['te', 'trailers'],
      ...metadata,
    ]);
  }

  /** Closes every connection (each ends after its open calls). */
  close(): void {
    this.#offChange?.();
    this.#closeAll();
  }
}

/**
 * One `callStream` call: its state and the stream's callbacks as one object (one allocation per
 * call instead of a closure per callback and a context holding their variables).
 */
class ClientCall {
  readonly promise: Promise<InternalResponse>;
  resolve!: (res: InternalResponse) => void;
  reject!: (err: unknown) => void;
  readonly #stream: H2Stream;
  readonly #body: Buffer | Readable | undefined;
  readonly #signal: CancelSignal | undefined;
  readonly #reader = new MessageReader();
  /** The response body once it is streamed. */
  #out: Readable | undefined;
  #first: ResponseHead | undefined;
  /** Payload received before the response settles: the first chunk, then all of them. */
  #data: Buffer | undefined;
  #more: Buffer[] | undefined;
  #settled = false;
  #gotHeaders = false;
  #expect = 0;

  constructor(stream: H2Stream, body: Buffer | Readable | undefined, signal: CancelSignal | undefined) {
    this.promise = new Promise<InternalResponse>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    this.#stream = stream;
    this.#body = body;
    this.#signal = signal;
    stream.context = this;
    stream.onHeaders = onCallHeaders;
    stream.onData = onCallData;
    stream.onEnd = onCallEnd;
    stream.onClose = onCallClose;
    addCancelListener(signal, this);
  }

  /** The signal was cancelled (a CancelListener). */
  handleEvent(): void {
    this.#failure(abortError(this.#signal));
  }

  /** The response becomes a stream: what arrived so far, then the rest as it comes. */
  promote(): void {
    const first = this.#first;
    if (this.#settled || first === undefined) return;
    const call = this.#stream;
    const stream = new Readable({ read: () => call.resume() });
    stream.once('close', () => {
      if (!stream.readableEnded) call.reset(ErrorCode.CANCEL);
    });
    if (this.#more !== undefined) for (const p of this.#more) stream.push(p);
    else if (this.#data !== undefined) stream.push(this.#data);
    this.#data = undefined;
    this.#more = undefined;
    this.#out = stream;
    this.#settled = true;
    this.resolve({ head: first, body: stream });
  }

  #failure(err: Error): void {
    if (!this.#settled) {
      this.#settled = true;
      this.reject(err);
    } else if (this.#out !== undefined && !this.#out.destroyed) this.#out.destroy(err);
    this.#stream.reset(ErrorCode.CANCEL);
  }

  headers(headers: HeaderMap, endStream: boolean): void {
    const status = statusOf(headers);
    if (status !== undefined) this.#failure(status);
    else if (!this.#gotHeaders && headers[':status'] !== '200')
      this.#failure(new GrpcStatusError(GrpcStatus.UNKNOWN, `HTTP status ${String(headers[':status'])}`));
    else if (!this.#gotHeaders && endStream && headers['grpc-status'] === undefined)
      this.#failure(new GrpcStatusError(GrpcStatus.INTERNAL, 'response ended without a gRPC status'));
    this.#gotHeaders = true;
  }

  data(c: Buffer): void {
    let messages: Buffer[];
    try {
      messages = this.#reader.push(c);
    } catch (err) {
      this.#failure(err as Error);
      return;
    }
    for (const m of messages) {
      const chunk = decodeResponseChunk(m);
      if (this.#first === undefined) {
        if (chunk.head === undefined) {
          this.#failure(
            new GrpcStatusError(
              GrpcStatus.INTERNAL,
              'response does not contain the required fields in the leading chunk',
            ),
          );
          return;
        }
        this.#first = chunk.head;
        // A small answer arrives whole in one socket read (the server writes it at once):
        // let that read finish, then stream whatever follows.
        process.nextTick(promoteCall, this);
      }
      if (chunk.data !== undefined && chunk.data.length > 0) {
        const outOfSequence = sequenceError(GrpcStatus.INTERNAL, chunk.seq, this.#expect);
        if (outOfSequence !== undefined) {
          this.#failure(outOfSequence);
          return;
        }
        this.#expect++;
        if (this.#out !== undefined) {
          if (!this.#out.push(chunk.data)) this.#stream.pause();
        } else if (this.#data === undefined) this.#data = chunk.data;
        else if (this.#more === undefined) this.#more = [this.#data, chunk.data];
        else this.#more.push(chunk.data);
      }
    }
  }

  end(): void {
    if (!this.#settled) {
      const first = this.#first;
      if (first === undefined)
        this.#failure(new GrpcStatusError(GrpcStatus.INTERNAL, 'stream ended without a response'));
      else {
        this.#settled = true;
        const body = this.#more !== undefined ? Buffer.concat(this.#more) : (this.#data ?? EMPTY);
        this.resolve({ head: first, body });
      }
    } else if (this.#out !== undefined && !this.#out.destroyed) this.#out.push(null);
  }

  close(err: H2StreamError | undefined): void {
    removeCancelListener(this.#signal, this);
    const body = this.#body;
    if (!Buffer.isBuffer(body) && body !== undefined && !body.readableEnded) body.destroy();
    if (err === undefined) {
      if (!this.#settled)
        this.#failure(new GrpcStatusError(GrpcStatus.INTERNAL, 'stream ended without a response'));
      return;
    }
    if (err.code === 'ERR_H2_CANCELLED') return; // our own reset: the cause is already reported
    this.#failure(transportError(err));
  }
}

const EMPTY = Buffer.alloc(0);

// The stream callbacks of every ClientCall (shared functions: the call is the stream's context).
function onCallHeaders(this: H2Stream, headers: HeaderMap, endStream: boolean): void {
  (this.context as ClientCall).headers(headers, endStream);
}
function onCallData(this: H2Stream, chunk: Buffer): void {
  (this.context as ClientCall).data(chunk);
}
function onCallEnd(this: H2Stream): void {
  (this.context as ClientCall).end();
}
function onCallClose(this: H2Stream, err: H2StreamError | undefined): void {
  (this.context as ClientCall).close(err);
}
function promoteCall(call: ClientCall): void {
  call.promote();
}

function sendBody(call: H2Stream, head: InvokeHead, body: Buffer | Readable | undefined): void {
  if (body === undefined || Buffer.isBuffer(body)) {
    if (body === undefined || body.length === 0) call.end(frameRequestChunk({ head }));
    else if (body.length <= MAX_CHUNK) call.end(frameRequestChunk({ head, data: body, seq: 0 }));
    else {
      call.write(frameRequestChunk({ head }));
      let seq = 0;
      for (let i = 0; i < body.length; i += MAX_CHUNK)
        call.write(frameRequestChunk({ data: body.subarray(i, i + MAX_CHUNK), seq: seq++ }));
      call.end();
    }
    return;
  }
  call.write(frameRequestChunk({ head }));
  let seq = 0;
  call.onDrain = () => body.resume();
  body.on('data', (data: Buffer) => {
    let ok = true;
    for (let i = 0; i < data.length; i += MAX_CHUNK)
      ok = call.write(frameRequestChunk({ data: data.subarray(i, i + MAX_CHUNK), seq: seq++ })) && ok;
    if (!ok) body.pause();
  });
  body.once('end', () => call.end());
  body.once('error', () => call.reset(ErrorCode.CANCEL));
}
