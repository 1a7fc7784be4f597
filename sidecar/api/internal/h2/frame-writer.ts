/**
 * The output side of an `H2Connection`. Frames written in one tick leave as one socket write on
 * the next tick (a call's HEADERS, DATA and the peer's WINDOW_UPDATE then cost one syscall, not
 * three). Frame headers, control frames and small payloads are copied into a batch buffer, so a
 * tick's frames are one Buffer and one `socket.write`: a write per frame cost Node's stream
 * machinery a few hundred bytes of garbage each. Payloads above COPY_LIMIT are not copied: they go
 * to the socket as they are, in order, with the socket corked until the tick's batch is complete.
 * Header blocks above the peer's SETTINGS_MAX_FRAME_SIZE are split into HEADERS + CONTINUATION
 * (RFC 9113 §4.3).
 *
 * Bytes handed to the socket are never overwritten: each batch is a view of the batch buffer past
 * the previous one, and a full buffer is replaced by a new one.
 */
import type { Socket } from 'node:net';
import { DEFAULT_MAX_FRAME, Flag, FRAME_HEADER_BYTES, FrameType, writeFrameHeader } from './frames.js';

/** Payloads up to this size are copied into the batch; larger ones are written without a copy. */
const COPY_LIMIT = 4096;
/**
 * Size of a batch buffer (batches are cut from it until it is full): room for dozens of calls'
 * frames, and little memory held per connection (the public gRPC port may have many).
 */
const BATCH_BUFFER_BYTES = 16 * 1024;

/** Writes frames to one socket, one write per tick. */
export class FrameWriter {
  /** The peer's SETTINGS_MAX_FRAME_SIZE. */
  maxFrame = DEFAULT_MAX_FRAME;
  readonly #socket: Socket;
  /** The batch buffer: bytes [#start, #end) are queued and not yet given to the socket. */
  #buf: Buffer | undefined;
  #start = 0;
  #end = 0;
  /** A flush is scheduled on the next tick: this tick's batch is open. */
  #scheduled = false;
  /** The socket was corked in this batch (a payload went to it before the batch was complete). */
  #corked = false;
  /** The batch's first socket write is still to come (it carries the batch's callback). */
  #firstWrite = false;
  #closed = false;
  /** Batches the socket has not reported written yet (the open one included). */
  #unwritten = 0;
  readonly #written = (): void => {
    this.#unwritten--;
  };

  /** Writes to `socket` (connected, or connecting: writes queue until it is). */
  constructor(socket: Socket) {
    this.#socket = socket;
  }

  /**
   * True while a batch of an earlier tick is still being written. A TLS socket reports a write
   * done only at the end of the event-loop iteration, and what is written meanwhile waits for it.
   */
  get writing(): boolean {
    return this.#unwritten > (this.#scheduled ? 1 : 0);
  }

  /** Queues `buf` (whole frames) for this tick's write; nothing is written once `close()` was called. */
  write(buf: Buffer): void {
    if (this.#closed) return;
    this.#open();
    this.#payload(buf);
  }

  /** Writes what this tick queued now (before the socket is ended or destroyed). */
  flushNow(): void {
    if (this.#closed) return;
    this.#writeQueued();
    if (this.#corked) {
      this.#corked = false;
      this.#socket.uncork();
    }
  }

  /** Stops writing: the socket is gone. */
  close(): void {
    this.#closed = true;
  }

  /** A header block, as one HEADERS frame or HEADERS + CONTINUATION when it exceeds `maxFrame`. */
  headers(streamId: number, block: Buffer, endStream: boolean): void {
    if (this.#closed) return;
    this.#open();
    const endFlag = endStream ? Flag.END_STREAM : 0;
    if (block.length <= this.maxFrame) {
      this.#header(block.length, FrameType.HEADERS, endFlag | Flag.END_HEADERS, streamId);
      this.#payload(block);
      return;
    }
    for (let at = 0; at < block.length; at += this.maxFrame) {
      const part = block.subarray(at, at + this.maxFrame);
      const last = at + this.maxFrame >= block.length;
      const type = at === 0 ? FrameType.HEADERS : FrameType.CONTINUATION;
      const flags = (at === 0 ? endFlag : 0) | (last ? Flag.END_HEADERS : 0);
      this.#header(part.length, type, flags, streamId);
      this.#payload(part);
    }
  }

  /** A DATA frame (a payload above COPY_LIMIT is not copied; the caller keeps within the peer's windows). */
  data(streamId: number, data: Buffer, flags: number): void {
    if (this.#closed) return;
    this.#open();
    this.#header(data.length, FrameType.DATA, flags, streamId);
    if (data.length > 0) this.#payload(data);
  }

  /** A WINDOW_UPDATE frame. */
  windowUpdate(streamId: number, increment: number): void {
    this.#u32Frame(FrameType.WINDOW_UPDATE, streamId, increment);
  }

  /** An RST_STREAM frame. */
  rstStream(streamId: number, code: number): void {
    this.#u32Frame(FrameType.RST_STREAM, streamId, code);
  }

  /** A frame whose payload is one 32-bit value, built in the batch buffer. */
  #u32Frame(type: number, streamId: number, value: number): void {
    if (this.#closed) return;
    this.#open();
    const at = this.#reserve(FRAME_HEADER_BYTES + 4);
    const buf = this.#buf as Buffer;
    writeFrameHeader(buf, at, 4, type, 0, streamId);
    buf.writeUInt32BE(value, at + FRAME_HEADER_BYTES);
    this.#end = at + FRAME_HEADER_BYTES + 4;
  }

  /** Opens this tick's batch if it is not open: its flush is scheduled and it counts as unwritten. */
  #open(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    this.#firstWrite = true;
    this.#unwritten++;
    process.nextTick(flushBatch, this);
  }

  /** @internal The tick's end: the batch goes to the socket. */
  endBatch(): void {
    this.#scheduled = false;
    this.flushNow();
  }

  /** A frame header in the batch buffer. */
  #header(length: number, type: number, flags: number, streamId: number): void {
    const at = this.#reserve(FRAME_HEADER_BYTES);
    writeFrameHeader(this.#buf as Buffer, at, length, type, flags, streamId);
    this.#end = at + FRAME_HEADER_BYTES;
  }

  /** Bytes that follow what is queued: copied when small, else written as they are after the queue. */
  #payload(bytes: Buffer): void {
    if (bytes.length <= COPY_LIMIT) {
      const at = this.#reserve(bytes.length);
      bytes.copy(this.#buf as Buffer, at);
      this.#end = at + bytes.length;
      return;
    }
    // The batch continues after this payload: corked, the socket sends all of it in one write.
    if (!this.#corked) {
      this.#corked = true;
      this.#socket.cork();
    }
    this.#writeQueued();
    this.#socketWrite(bytes);
  }

  /** Where `n` bytes (at most COPY_LIMIT + a frame header) can be queued in the batch buffer. */
  #reserve(n: number): number {
    const buf = this.#buf;
    if (buf !== undefined && buf.length - this.#end >= n) return this.#end;
    // Full: what is queued goes to the socket (corked, as the batch goes on) and a new buffer starts.
    if (this.#end > this.#start) {
      if (!this.#corked) {
        this.#corked = true;
        this.#socket.cork();
      }
      this.#writeQueued();
    }
    this.#buf = Buffer.allocUnsafeSlow(BATCH_BUFFER_BYTES);
    this.#start = 0;
    this.#end = 0;
    return 0;
  }

  /** Hands the queued bytes to the socket. */
  #writeQueued(): void {
    if (this.#end === this.#start) return;
    const chunk = (this.#buf as Buffer).subarray(this.#start, this.#end);
    this.#start = this.#end;
    this.#socketWrite(chunk);
  }

  #socketWrite(chunk: Buffer): void {
    if (this.#firstWrite) {
      // A batch's chunks complete together (corked): the first one's callback reports the batch written.
      this.#firstWrite = false;
      this.#socket.write(chunk, this.#written);
    } else this.#socket.write(chunk);
  }
}

function flushBatch(writer: FrameWriter): void {
  writer.endBatch();
}
