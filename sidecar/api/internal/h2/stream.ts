/**
 * One HTTP/2 stream of an `H2Connection`: callbacks for what arrives, methods for what is sent.
 * It is deliberately not a Node stream: a call on the sidecar hop costs a few property writes
 * instead of a Duplex with its buffers, events and async resources. Flow control is the
 * connection's; `pause()` withholds the receive credit so that the peer stops after one window.
 */
import type { HeaderField } from './hpack.js';

/** Received header fields by name (repeated fields joined with ", "). */
export type HeaderMap = Record<string, string>;

/** Why a stream closed abnormally. */
export class H2StreamError extends Error {
  /**
   * `code` names the cause: `ERR_H2_STREAM_RESET` (the peer reset the stream with `h2code`),
   * `ERR_H2_REFUSED_STREAM` (the peer did not process it: safe to retry), `ERR_H2_CANCELLED`
   * (we reset it), `ERR_H2_PROTOCOL_ERROR` (the peer broke a stream rule, e.g. a malformed message,
   * and we reset it with `h2code`), `ERR_H2_CONNECTION_CLOSED`, or the socket's own code
   * (`ECONNREFUSED`, ...).
   */
  constructor(
    readonly code: string,
    readonly h2code: number,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'H2StreamError';
  }
}

/** What a stream needs from its connection. */
export interface StreamHost {
  sendHeaders(stream: H2Stream, block: readonly HeaderField[] | Buffer, endStream: boolean): void;
  flush(stream: H2Stream): void;
  reset(stream: H2Stream, code: number): void;
  credit(stream: H2Stream): void;
}

/** Queued output above this many bytes makes `write` return false. */
const HIGH_WATER = 64 * 1024;

/** No output queued: shared by the streams until their first write (see `H2Stream.queue`). */
const NO_OUTPUT: readonly Buffer[] = Object.freeze([]);

/**
 * One stream. Fields below the callbacks are the connection's bookkeeping. The callbacks run as
 * methods of the stream (`this` is the stream), so one function can serve every stream, finding
 * its call's state in `context`.
 */
export class H2Stream {
  /** The first HEADERS of the peer (response on a client, trailers on either side when `endStream`). */
  onHeaders: ((this: H2Stream, headers: HeaderMap, endStream: boolean) => void) | undefined;
  /** A DATA payload (never empty). */
  onData: ((this: H2Stream, chunk: Buffer) => void) | undefined;
  /** The peer ended its side. */
  onEnd: ((this: H2Stream) => void) | undefined;
  /** Queued output fell to zero after `write` returned false. */
  onDrain: ((this: H2Stream) => void) | undefined;
  /** The stream is gone: `err` undefined when both sides ended normally. Called once. */
  onClose: ((this: H2Stream, err: H2StreamError | undefined) => void) | undefined;
  /** Free for the stream's user: state for callbacks shared by many streams. */
  context: unknown;

  /** Stream id (0 while a client stream waits for a concurrency slot). */
  id = 0;
  /** Our remaining send credit. */
  sendWindow: number;
  /** The peer's remaining send credit toward us. */
  recvWindow: number;
  /** Bytes received and not yet credited back. */
  unacked = 0;
  paused = false;
  /** A response (or request) HEADERS arrived. */
  gotHeaders = false;
  headersSent = false;
  /** `end()` was called. */
  endQueued = false;
  /** END_STREAM went out. */
  endSent = false;
  remoteEnded = false;
  closed = false;
  needDrain = false;
  /**
   * Output waiting for flow-control credit. Empty, it is a shared frozen array, replaced by a
   * one-element array at the first write (growing an empty array allocates room for 16).
   */
  queue: Buffer[] = NO_OUTPUT as Buffer[];
  queuedBytes = 0;
  trailers: readonly HeaderField[] | Buffer | undefined;
  /**
   * Server: after a complete response sent before the request ended, read the request to its end
   * (and discard it) instead of resetting the stream with NO_ERROR, which RFC 9113 §8.1 leaves
   * optional. The stream then keeps checking what the peer sends.
   */
  drainRequest = false;
  /** The peer's declared content-length (-1: none), and the DATA octets received against it. */
  contentLength = -1;
  received = 0;
  /** A client stream's encoded request headers until it starts. */
  requestBlock: Buffer | undefined;
  readonly #host: StreamHost;

  /** Created by the connection only. */
  constructor(host: StreamHost, sendWindow: number, recvWindow: number) {
    this.#host = host;
    this.sendWindow = sendWindow;
    this.recvWindow = recvWindow;
  }

  /** Whether `end()` was called. */
  get writableEnded(): boolean {
    return this.endQueued;
  }

  /** Sends a HEADERS block (response headers, or a trailers-only response with `endStream`). */
  sendHeaders(block: readonly HeaderField[] | Buffer, endStream = false): void {
    if (this.closed || this.headersSent) return;
    this.headersSent = true;
    if (endStream) this.endQueued = true;
    this.#host.sendHeaders(this, block, endStream);
  }

  /** Queues a DATA payload; false when the caller should wait for `onDrain`. */
  write(data: Buffer): boolean {
    if (this.closed || this.endQueued) return false;
    if (data.length > 0) {
      this.#enqueue(data);
      this.#host.flush(this);
    }
    if (this.queuedBytes < HIGH_WATER) return true;
    this.needDrain = true;
    return false;
  }

  /** Ends our side: optional last payload, then trailers (if any) carry END_STREAM. */
  end(data?: Buffer, trailers?: readonly HeaderField[] | Buffer): void {
    if (this.closed || this.endQueued) return;
    if (data !== undefined && data.length > 0) this.#enqueue(data);
    this.trailers = trailers;
    this.endQueued = true;
    this.#host.flush(this);
  }

  #enqueue(data: Buffer): void {
    if (this.queue.length === 0) this.queue = [data];
    else this.queue.push(data);
    this.queuedBytes += data.length;
  }

  /** Drops the queued output (the stream closed). */
  dropQueue(): void {
    this.queue = NO_OUTPUT as Buffer[];
    this.queuedBytes = 0;
  }

  /** Resets the stream (CANCEL by default); `onClose` follows with ERR_H2_CANCELLED. */
  reset(code = 0x8): void {
    if (!this.closed) this.#host.reset(this, code);
  }

  /** Stops crediting received data: the peer stalls once its window is used up. */
  pause(): void {
    this.paused = true;
  }

  /** Credits everything received while paused. */
  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.#host.credit(this);
  }
}
