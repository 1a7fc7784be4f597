/**
 * A lean HTTP/2 connection (RFC 9113) over a connected socket, client or server side, for the
 * sidecar-to-sidecar gRPC hop. It does what that hop needs and does it directly: frames are
 * written in the same tick (batched into one write per tick), flow control is exact in both
 * directions, header blocks go through our HPACK, and every stream is a plain object with
 * callbacks. node:http2 was the bottleneck of a hop (a Duplex, an AsyncResource and an
 * event-loop turn per call before anything is written); see bench/invoke.ts.
 *
 * Implemented: SETTINGS (window, frame size, concurrency), flow control with WINDOW_UPDATE,
 * CONTINUATION, padding, PING, RST_STREAM, GOAWAY (graceful close both ways), trailers, the
 * stream states of §5.1 (stream-states.ts) and the message rules of §8 (header-validation.ts).
 * Out of scope, as gRPC never uses them: server push (disabled in our SETTINGS; a PUSH_PROMISE
 * is a protocol error) and priorities (PRIORITY frames and flags are parsed and ignored, as
 * RFC 9113 §5.3.2 allows).
 */
import type { Socket } from 'node:net';
import { FrameWriter } from './frame-writer.js';
import {
  CLIENT_PREFACE,
  DEFAULT_WINDOW,
  ErrorCode,
  Flag,
  FrameReader,
  FrameType,
  frame,
  goawayFrame,
  H2ConnectionError,
  MAX_WINDOW,
  priorityError,
  readGoaway,
  readRstStream,
  readSettings,
  readWindowUpdate,
  Setting,
  settingsFrame,
  unpad,
} from './frames.js';
import { HeaderBlockAssembler } from './header-block.js';
import { countData, declaredLength, laterHeaders, requestHeaders } from './header-validation.js';
import {
  DEFAULT_MAX_HEADER_LIST_SIZE,
  type HeaderField,
  HpackDecoder,
  HpackEncoder,
  HpackError,
} from './hpack.js';
import { H2Stream, H2StreamError, type HeaderMap, type StreamHost } from './stream.js';
import { Closed, StreamHistory } from './stream-states.js';
import { StreamTable } from './stream-table.js';

/** Options of `H2Connection`. */
export interface H2ConnectionOptions {
  readonly role: 'client' | 'server';
  /** Server: a new stream with its request headers. */
  readonly onStream?: (stream: H2Stream, headers: HeaderMap) => void;
  /** Our per-stream receive window (default 1 MiB). */
  readonly streamWindow?: number;
  /** Our connection receive window (default 8 MiB). */
  readonly connectionWindow?: number;
  /** Server: concurrent streams allowed per connection (default 10 000). */
  readonly maxConcurrentStreams?: number;
}

/** Largest frame we accept (advertised in SETTINGS_MAX_FRAME_SIZE). */
const OUR_MAX_FRAME = 256 * 1024;

/** One HTTP/2 connection. */
export class H2Connection implements StreamHost {
  readonly socket: Socket;
  /** Called once when the connection is gone (socket closed or destroyed). */
  onClose: ((err: Error | undefined) => void) | undefined;
  /** Called when the peer sends GOAWAY: no new streams may start here. */
  onGoaway: (() => void) | undefined;

  readonly #client: boolean;
  readonly #onStream: ((stream: H2Stream, headers: HeaderMap) => void) | undefined;
  readonly #streams = new StreamTable();
  /** How the client-initiated streams closed (§5.1), for frames that arrive after. */
  readonly #history = new StreamHistory();
  readonly #waiting: H2Stream[] = [];
  readonly #reader: FrameReader;
  readonly #out: FrameWriter;
  readonly #headerBlocks = new HeaderBlockAssembler((id, flags, block) =>
    this.#onHeaderBlock(id, flags, block),
  );
  readonly #decoder = new HpackDecoder();
  readonly #encoder = new HpackEncoder();
  readonly #streamWindow: number;
  readonly #connWindow: number;
  readonly #maxStreams: number;
  #nextId = 1;
  #sendWindow = DEFAULT_WINDOW;
  #recvUnacked = 0;
  #peerInitialWindow = DEFAULT_WINDOW;
  #peerMaxStreams = Number.POSITIVE_INFINITY;
  /** The peer's first SETTINGS arrived (until then its concurrency limit is unknown). */
  #peerSettings = false;
  /** `close()` was called. */
  #closing = false;
  #goawaySent = false;
  #goawayReceived = false;
  #destroyed = false;

  /** Wraps `socket` (connected, or connecting: writes queue until it is). */
  constructor(socket: Socket, options: H2ConnectionOptions) {
    this.socket = socket;
    this.#client = options.role === 'client';
    this.#onStream = options.onStream;
    this.#streamWindow = options.streamWindow ?? 1 << 20;
    this.#connWindow = options.connectionWindow ?? 8 << 20;
    this.#maxStreams = options.maxConcurrentStreams ?? 10_000;
    this.#reader = new FrameReader(OUR_MAX_FRAME, !this.#client);
    this.#out = new FrameWriter(socket);
    socket.on('data', (chunk: Buffer) => this.#onBytes(chunk));
    socket.on('error', (err) => this.destroy(err));
    socket.on('close', () => this.destroy());
    if (socket.destroyed) {
      queueMicrotask(() => this.destroy());
      return;
    }
    if (this.#client) this.#out.write(CLIENT_PREFACE);
    const settings: [number, number][] = [
      [Setting.INITIAL_WINDOW_SIZE, this.#streamWindow],
      [Setting.MAX_FRAME_SIZE, OUR_MAX_FRAME],
      // What the decoder enforces (a block that expands past it is a COMPRESSION_ERROR).
      [Setting.MAX_HEADER_LIST_SIZE, DEFAULT_MAX_HEADER_LIST_SIZE],
    ];
    if (this.#client) settings.push([Setting.ENABLE_PUSH, 0]);
    else settings.push([Setting.MAX_CONCURRENT_STREAMS, this.#maxStreams]);
    this.#out.write(settingsFrame(settings));
    // The connection window starts at 65 535 and only grows: no increment (0 is a PROTOCOL_ERROR).
    if (this.#connWindow > DEFAULT_WINDOW) this.#out.windowUpdate(0, this.#connWindow - DEFAULT_WINDOW);
  }

  /** Whether the connection can no longer be used. */
  get destroyed(): boolean {
    return this.#destroyed;
  }

  /** Whether new streams may start (not destroyed, no GOAWAY either way). */
  get usable(): boolean {
    return !this.#destroyed && !this.#goawayReceived && !this.#closing;
  }

  /** Whether an earlier tick's frames are still being written (see FrameWriter.writing). */
  get writing(): boolean {
    return this.#out.writing;
  }

  /** Streams currently open (started or waiting for a slot). */
  get activeStreams(): number {
    return this.#streams.size + this.#waiting.length;
  }

  /**
   * Client: opens a stream with request `headers` (a field list or a pre-encoded block). Throws
   * when the connection is not usable. Beyond the peer's concurrency limit the stream waits, as it
   * does until the peer's first SETTINGS arrive: a stream started before could exceed a limit
   * below the default and be refused.
   */
  request(headers: readonly HeaderField[] | Buffer): H2Stream {
    if (!this.#client) throw new Error('only a client connection opens streams');
    if (!this.usable)
      throw new H2StreamError('ERR_H2_CONNECTION_CLOSED', ErrorCode.REFUSED_STREAM, 'connection is closing');
    const stream = new H2Stream(this, this.#peerInitialWindow, this.#streamWindow);
    stream.requestBlock = Buffer.isBuffer(headers) ? headers : this.#encoder.encode(headers);
    if (this.#peerSettings && this.#streams.size < this.#peerMaxStreams) this.#start(stream);
    else this.#waiting.push(stream);
    return stream;
  }

  #start(stream: H2Stream): void {
    stream.id = this.#nextId;
    this.#nextId += 2;
    this.#history.opened(stream.id);
    this.#streams.add(stream);
    const block = stream.requestBlock as Buffer;
    stream.requestBlock = undefined;
    stream.headersSent = true;
    this.#out.headers(stream.id, block, false);
    this.flush(stream);
  }

  /**
   * Graceful close: no new streams, GOAWAY (a client's once the streams it queued have started),
   * and the socket ends when the open streams are done.
   */
  close(): void {
    if (this.#destroyed) return;
    this.#closing = true;
    this.#sendGoaway();
    this.#maybeEnd();
  }

  /** The last stream the peer opened that we took (a GOAWAY's last stream id). */
  #lastPeerId(): number {
    return this.#client ? 0 : this.#history.highest;
  }

  /** GOAWAY after close(); a client holds it back while streams wait (a peer may end on it). */
  #sendGoaway(): void {
    if (this.#goawaySent || this.#waiting.length > 0) return;
    this.#goawaySent = true;
    this.#out.write(goawayFrame(this.#lastPeerId(), ErrorCode.NO_ERROR));
  }

  /** Starts waiting client streams as far as the peer's SETTINGS allow. */
  #startWaiting(): void {
    if (this.#peerSettings)
      while (this.#waiting.length > 0 && this.#streams.size < this.#peerMaxStreams)
        this.#start(this.#waiting.shift() as H2Stream);
    if (this.#closing) this.#sendGoaway();
  }

  /** Resets every open or waiting stream with `code` (RST_STREAM where the stream started). */
  resetStreams(code: number): void {
    for (const s of [...this.#streams.values(), ...this.#waiting]) this.reset(s, code);
  }

  /** Ends every stream with `err` (or ERR_H2_CONNECTION_CLOSED) and destroys the socket. */
  destroy(err?: Error): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    const code = (err as { code?: unknown } | undefined)?.code;
    const streamErr = new H2StreamError(
      typeof code === 'string' ? code : 'ERR_H2_CONNECTION_CLOSED',
      ErrorCode.CANCEL,
      err?.message ?? 'connection closed',
      err === undefined ? undefined : { cause: err },
    );
    this.#out.close();
    for (const s of [...this.#streams.values(), ...this.#waiting]) this.#closeStream(s, streamErr);
    this.#waiting.length = 0;
    this.socket.destroy();
    this.onClose?.(err);
  }

  // --- output -------------------------------------------------------------------------------

  /** @internal StreamHost */
  sendHeaders(stream: H2Stream, block: readonly HeaderField[] | Buffer, endStream: boolean): void {
    if (this.#destroyed) return;
    const encoded = Buffer.isBuffer(block) ? block : this.#encoder.encode(block);
    this.#out.headers(stream.id, encoded, endStream);
    if (endStream) this.#localEnded(stream);
  }

  /** @internal StreamHost: sends queued data as far as the windows allow, then the end. */
  flush(stream: H2Stream): void {
    if (this.#destroyed || stream.closed || stream.id === 0 || stream.endSent) return;
    const q = stream.queue;
    while (q.length > 0 && this.#sendWindow > 0 && stream.sendWindow > 0) {
      const buf = q[0] as Buffer;
      const n = Math.min(buf.length, this.#sendWindow, stream.sendWindow, this.#out.maxFrame);
      const whole = n === buf.length;
      const last = whole && q.length === 1 && stream.endQueued && stream.trailers === undefined;
      this.#out.data(stream.id, whole ? buf : buf.subarray(0, n), last ? Flag.END_STREAM : 0);
      this.#sendWindow -= n;
      stream.sendWindow -= n;
      stream.queuedBytes -= n;
      if (whole) q.shift();
      else q[0] = buf.subarray(n);
      if (last) {
        this.#localEnded(stream);
        return;
      }
    }
    if (q.length > 0) return; // blocked: flushed again when a window opens
    if (stream.endQueued) {
      const t = stream.trailers;
      if (t !== undefined)
        this.#out.headers(stream.id, Buffer.isBuffer(t) ? t : this.#encoder.encode(t), true);
      else this.#out.data(stream.id, EMPTY, Flag.END_STREAM);
      this.#localEnded(stream);
    } else if (stream.needDrain) {
      stream.needDrain = false;
      stream.onDrain?.();
    }
  }

  /** @internal StreamHost */
  reset(stream: H2Stream, code: number): void {
    if (stream.id !== 0) this.#out.rstStream(stream.id, code);
    else {
      const i = this.#waiting.indexOf(stream);
      if (i >= 0) this.#waiting.splice(i, 1);
    }
    this.#closeStream(
      stream,
      new H2StreamError('ERR_H2_CANCELLED', code, 'stream reset locally'),
      Closed.RST_SENT,
    );
  }

  /** A stream error (§5.4.2): RST_STREAM with `code`, and the stream closes with ERR_H2_PROTOCOL_ERROR. */
  #streamError(stream: H2Stream, code: number, message: string): void {
    this.#out.rstStream(stream.id, code);
    this.#closeStream(stream, new H2StreamError('ERR_H2_PROTOCOL_ERROR', code, message), Closed.RST_SENT);
  }

  /** @internal StreamHost: returns the receive credit a paused stream held back. */
  credit(stream: H2Stream): void {
    if (stream.closed || stream.remoteEnded || stream.unacked === 0 || stream.id === 0) return;
    this.#out.windowUpdate(stream.id, stream.unacked);
    stream.recvWindow += stream.unacked;
    stream.unacked = 0;
  }

  /** Flushes the streams whose output waits for window (after the connection window grew). */
  #flushBlocked(): void {
    for (const s of this.#streams.values()) if (s.queue.length > 0) this.flush(s);
  }

  #localEnded(stream: H2Stream): void {
    stream.endSent = true;
    if (stream.remoteEnded) this.#closeStream(stream, undefined);
    else if (!this.#client && !stream.drainRequest) {
      // A complete response ends the exchange: tell the client to stop sending (RFC 9113 §8.1).
      this.#out.rstStream(stream.id, ErrorCode.NO_ERROR);
      this.#closeStream(stream, undefined, Closed.RST_SENT);
    }
  }

  /** `how`: bits of `Closed` for the history (END_STREAM received is read from the stream). */
  #closeStream(stream: H2Stream, err: H2StreamError | undefined, how = 0): void {
    if (stream.closed) return;
    stream.closed = true;
    if (stream.id !== 0) this.#history.mark(stream.id, how | (stream.remoteEnded ? Closed.PEER_ENDED : 0));
    this.#streams.delete(stream);
    stream.dropQueue();
    try {
      stream.onClose?.(err);
    } finally {
      if (!this.#destroyed) {
        this.#startWaiting();
        this.#maybeEnd();
      }
    }
  }

  #maybeEnd(): void {
    if ((this.#closing || this.#goawayReceived) && this.activeStreams === 0 && !this.#destroyed) {
      this.#out.flushNow(); // what is queued goes before the end
      this.socket.end();
      // The peer closes its side in turn; a peer that does not is not waited for.
      setTimeout(() => this.destroy(), 1_000).unref();
    }
  }

  // --- input --------------------------------------------------------------------------------

  #onBytes(chunk: Buffer): void {
    if (this.#destroyed) return;
    try {
      this.#reader.push(chunk, (type, flags, id, payload) => this.#onFrame(type, flags, id, payload));
    } catch (err) {
      const e =
        err instanceof H2ConnectionError
          ? err
          : err instanceof HpackError
            ? new H2ConnectionError(ErrorCode.COMPRESSION_ERROR, err.message)
            : new H2ConnectionError(ErrorCode.INTERNAL_ERROR, (err as Error).message);
      this.#fail(e);
    }
  }

  /** A connection error: GOAWAY with its code (RFC 9113 §5.4.1), then the socket goes. */
  #fail(e: H2ConnectionError): void {
    this.#out.write(goawayFrame(this.#lastPeerId(), e.h2code, e.message));
    this.#out.flushNow();
    this.destroy(e);
  }

  #onFrame(type: number, flags: number, id: number, payload: Buffer): void {
    if (this.#destroyed) return;
    if (this.#headerBlocks.open && type !== FrameType.CONTINUATION)
      throw new H2ConnectionError(ErrorCode.PROTOCOL_ERROR, 'expected CONTINUATION');
    switch (type) {
      case FrameType.DATA:
        this.#onDataFrame(flags, id, payload);
        return;
      case FrameType.HEADERS:
        this.#headerBlocks.headers(flags, id, payload);
        return;
      case FrameType.CONTINUATION:
        this.#headerBlocks.continuation(flags, id, payload);
        return;
      case FrameType.RST_STREAM:
        this.#onRst(id, payload);
        return;
      case FrameType.SETTINGS:
        this.#onSettings(flags, id, payload);
        return;
      case FrameType.PING:
        if (id !== 0 || payload.length !== 8)
          throw new H2ConnectionError(ErrorCode.PROTOCOL_ERROR, 'bad PING');
        if ((flags & Flag.ACK) === 0) this.#out.write(frame(FrameType.PING, Flag.ACK, 0, payload));
        return;
      case FrameType.GOAWAY:
        this.#onGoaway(id, payload);
        return;
      case FrameType.WINDOW_UPDATE:
        this.#onWindowUpdate(id, payload);
        return;
      case FrameType.PUSH_PROMISE:
        throw new H2ConnectionError(ErrorCode.PROTOCOL_ERROR, 'server push is disabled');
      case FrameType.PRIORITY:
        this.#onPriority(id, payload);
        return;
      default:
        return; // unknown frame types are ignored (§5.5).
    }
  }

  /** A well-formed PRIORITY is ignored (§5.3.2); a malformed one is a stream error. */
  #onPriority(id: number, payload: Buffer): void {
    const code = priorityError(id, payload);
    if (code === 0) return;
    const stream = this.#streams.get(id);
    if (stream !== undefined) this.#streamError(stream, code, 'malformed PRIORITY');
    // No RST_STREAM on an idle stream (§6.4): the error ends the connection instead (§5.4.1).
    else if (this.#history.isIdle(id))
      throw new H2ConnectionError(code, `malformed PRIORITY on idle stream ${id}`);
    else this.#out.rstStream(id, code);
  }

  /** DATA or HEADERS on stream `id`, which is not open: the reaction depends on how it closed. */
  #onLateFrame(id: number, what: string): void {
    if (this.#history.late(id, what)) this.#out.rstStream(id, ErrorCode.STREAM_CLOSED);
  }

  #onDataFrame(flags: number, id: number, payload: Buffer): void {
    if (id === 0) throw new H2ConnectionError(ErrorCode.PROTOCOL_ERROR, 'DATA on stream 0');
    // Padding is checked whatever the stream's state: a bad pad length is a connection error (§6.1).
    const content = unpad(payload, flags);
    const len = payload.length;
    this.#recvUnacked += len;
    if (this.#recvUnacked >= this.#connWindow / 2) {
      this.#out.windowUpdate(0, this.#recvUnacked);
      this.#recvUnacked = 0;
    }
    const stream = this.#streams.get(id);
    if (stream === undefined) {
      this.#onLateFrame(id, 'DATA');
      return;
    }
    if (stream.remoteEnded) {
      this.#streamError(stream, ErrorCode.STREAM_CLOSED, 'DATA after END_STREAM'); // §5.1 half-closed (remote)
      return;
    }
    stream.recvWindow -= len;
    if (stream.recvWindow < 0) {
      this.#streamError(stream, ErrorCode.FLOW_CONTROL_ERROR, 'peer exceeded the stream window');
      return;
    }
    const end = (flags & Flag.END_STREAM) !== 0;
    if (stream.contentLength >= 0 && !countData(stream, content.length, end)) {
      this.#streamError(stream, ErrorCode.PROTOCOL_ERROR, 'DATA differs from content-length'); // §8.1.1
      return;
    }
    if (content.length > 0) stream.onData?.(content);
    if (stream.closed) return;
    if (end) {
      this.#remoteEnded(stream);
      return;
    }
    stream.unacked += len;
    if (!stream.paused && stream.unacked >= this.#streamWindow / 2) this.credit(stream);
  }

  #onHeaderBlock(id: number, flags: number, block: Buffer): void {
    // Decode even for streams we ignore: the HPACK table must stay in step with the peer's.
    const fields = this.#decoder.decode(block);
    const existing = this.#streams.get(id);
    if (existing !== undefined) this.#onStreamHeaders(existing, flags, fields);
    else if (this.#client) this.#onLateFrame(id, 'HEADERS');
    else if (id % 2 === 0)
      throw new H2ConnectionError(ErrorCode.PROTOCOL_ERROR, `client stream id ${id} is even`);
    else if (id <= this.#history.highest)
      this.#onLateFrame(id, 'HEADERS'); // §5.1.1: ids only grow
    else this.#onRequest(id, flags, fields);
  }

  /** Server: HEADERS that open stream `id`. */
  #onRequest(id: number, flags: number, fields: HeaderField[]): void {
    const endStream = (flags & Flag.END_STREAM) !== 0;
    this.#history.opened(id);
    const refused = this.#goawaySent || this.#streams.size >= this.#maxStreams;
    const headers = refused ? 'refused' : requestHeaders(fields, flags, this.#decoder.invalid);
    if (typeof headers === 'string') {
      this.#out.rstStream(id, refused ? ErrorCode.REFUSED_STREAM : ErrorCode.PROTOCOL_ERROR);
      this.#history.mark(id, Closed.RST_SENT | (endStream ? Closed.PEER_ENDED : 0));
      return;
    }
    const stream = new H2Stream(this, this.#peerInitialWindow, this.#streamWindow);
    stream.id = id;
    stream.gotHeaders = true;
    stream.contentLength = declaredLength(headers);
    // Ended before the handler runs: a response it sends at once then completes the exchange.
    stream.remoteEnded = endStream;
    this.#streams.add(stream);
    this.#onStream?.(stream, headers);
    if (endStream && !stream.closed) this.#ended(stream);
  }

  /** HEADERS on an open stream: a client's response (after any 1xx), or trailers. */
  #onStreamHeaders(stream: H2Stream, flags: number, fields: HeaderField[]): void {
    const endStream = (flags & Flag.END_STREAM) !== 0;
    if (stream.remoteEnded) {
      this.#streamError(stream, ErrorCode.STREAM_CLOSED, 'HEADERS after END_STREAM'); // §5.1
      return;
    }
    const headers = laterHeaders(stream, fields, endStream, this.#client, this.#decoder.invalid);
    if (headers === undefined) return; // informational: the final response follows
    if (typeof headers === 'string') {
      this.#streamError(stream, ErrorCode.PROTOCOL_ERROR, `malformed message: ${headers}`);
      return;
    }
    stream.gotHeaders = true;
    stream.onHeaders?.(headers, endStream);
    if (endStream && !stream.closed) this.#remoteEnded(stream);
  }

  #remoteEnded(stream: H2Stream): void {
    stream.remoteEnded = true;
    this.#ended(stream);
  }

  #ended(stream: H2Stream): void {
    stream.onEnd?.();
    if (stream.endSent && !stream.closed) this.#closeStream(stream, undefined);
  }

  #onRst(id: number, payload: Buffer): void {
    const code = readRstStream(id, payload);
    const stream = this.#streams.get(id);
    if (stream === undefined) {
      this.#history.notIdle(id, 'RST_STREAM');
      this.#history.mark(id, Closed.RST_RECEIVED);
      return;
    }
    if (code === ErrorCode.NO_ERROR && stream.remoteEnded) {
      this.#closeStream(stream, undefined, Closed.RST_RECEIVED);
      return;
    }
    const refused = code === ErrorCode.REFUSED_STREAM;
    this.#closeStream(
      stream,
      new H2StreamError(
        refused ? 'ERR_H2_REFUSED_STREAM' : 'ERR_H2_STREAM_RESET',
        code,
        `stream reset by the peer with code ${code}`,
      ),
      Closed.RST_RECEIVED,
    );
  }

  #onSettings(flags: number, id: number, payload: Buffer): void {
    const settings = readSettings(id, flags, payload, this.#client);
    if (settings === undefined) return; // an acknowledgement
    const { initialWindow, maxFrame, maxStreams } = settings;
    if (initialWindow !== undefined) {
      const delta = initialWindow - this.#peerInitialWindow;
      this.#peerInitialWindow = initialWindow;
      for (const s of this.#streams.values()) {
        s.sendWindow += delta;
        if (s.sendWindow > MAX_WINDOW)
          throw new H2ConnectionError(ErrorCode.FLOW_CONTROL_ERROR, 'window overflow'); // §6.9.2
      }
      for (const s of this.#waiting) s.sendWindow += delta;
    }
    if (maxFrame !== undefined) this.#out.maxFrame = maxFrame;
    if (maxStreams !== undefined) this.#peerMaxStreams = maxStreams;
    this.#peerSettings = true;
    this.#out.write(frame(FrameType.SETTINGS, Flag.ACK, 0));
    this.#flushBlocked();
    this.#startWaiting();
  }

  #onGoaway(id: number, payload: Buffer): void {
    const lastId = readGoaway(id, payload);
    this.#goawayReceived = true;
    this.onGoaway?.();
    const refused = new H2StreamError(
      'ERR_H2_REFUSED_STREAM',
      ErrorCode.REFUSED_STREAM,
      'connection going away',
    );
    if (this.#client) {
      for (const s of this.#streams.values()) if (s.id > lastId) this.#closeStream(s, refused);
      for (const s of this.#waiting.splice(0)) this.#closeStream(s, refused);
    }
    this.#maybeEnd();
  }

  #onWindowUpdate(id: number, payload: Buffer): void {
    const inc = readWindowUpdate(payload);
    if (id === 0) {
      if (inc === 0) throw new H2ConnectionError(ErrorCode.PROTOCOL_ERROR, 'zero window increment');
      this.#sendWindow += inc;
      if (this.#sendWindow > MAX_WINDOW)
        throw new H2ConnectionError(ErrorCode.FLOW_CONTROL_ERROR, 'window overflow');
      this.#flushBlocked();
      return;
    }
    const stream = this.#streams.get(id);
    if (stream === undefined) {
      this.#history.notIdle(id, 'WINDOW_UPDATE'); // allowed on a closed stream (§5.1), not on an idle one
      return;
    }
    if (inc === 0)
      this.#streamError(stream, ErrorCode.PROTOCOL_ERROR, 'zero window increment'); // §6.9
    else if (stream.sendWindow + inc > MAX_WINDOW)
      this.#streamError(stream, ErrorCode.FLOW_CONTROL_ERROR, 'window overflow'); // §6.9.1
    else {
      stream.sendWindow += inc;
      this.flush(stream);
    }
  }
}

const EMPTY = Buffer.alloc(0);
