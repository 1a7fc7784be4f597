/**
 * The output side of an `H2Connection`. Frames written in one tick leave as one socket write: the
 * socket is corked at the first and uncorked on the next tick (a call's HEADERS, DATA and the
 * peer's WINDOW_UPDATE then cost one syscall, not three). Header blocks above the peer's
 * SETTINGS_MAX_FRAME_SIZE are split into HEADERS + CONTINUATION (RFC 9113 §4.3).
 */
import type { Socket } from 'node:net';
import { DEFAULT_MAX_FRAME, Flag, FRAME_HEADER_BYTES, FrameType, frame, writeFrameHeader } from './frames.js';

/** Writes frames to one socket, corked per tick. */
export class FrameWriter {
  /** The peer's SETTINGS_MAX_FRAME_SIZE. */
  maxFrame = DEFAULT_MAX_FRAME;
  readonly #socket: Socket;
  #corked = false;
  #closed = false;
  /** Ticks whose batch the socket has not reported written yet (the current tick's included). */
  #unwritten = 0;
  readonly #written = (): void => {
    this.#unwritten--;
  };

  /** Writes to `socket` (connected, or connecting: writes queue until it is). */
  constructor(socket: Socket) {
    this.#socket = socket;
  }

  /** Queues `buf` for this tick's write; nothing is written once `close()` was called. */
  write(buf: Buffer): void {
    if (this.#closed) return;
    if (!this.#corked) {
      this.#corked = true;
      this.#socket.cork();
      process.nextTick(uncork, this);
      // A batch's chunks complete together: the first one's callback reports the batch written.
      this.#unwritten++;
      this.#socket.write(buf, this.#written);
      return;
    }
    this.#socket.write(buf);
  }

  /**
   * True while a batch of an earlier tick is still being written. A TLS socket reports a write
   * done only at the end of the event-loop iteration, and what is written meanwhile waits for it.
   */
  get writing(): boolean {
    return this.#unwritten > (this.#corked ? 1 : 0);
  }

  /** Writes what this tick queued now (before the socket is ended or destroyed). */
  flushNow(): void {
    this.#corked = false;
    if (!this.#closed) this.#socket.uncork();
  }

  /** Stops writing: the socket is gone. */
  close(): void {
    this.#closed = true;
  }

  /** A header block, as one HEADERS frame or HEADERS + CONTINUATION when it exceeds `maxFrame`. */
  headers(streamId: number, block: Buffer, endStream: boolean): void {
    const endFlag = endStream ? Flag.END_STREAM : 0;
    if (block.length <= this.maxFrame) {
      const out = Buffer.allocUnsafe(FRAME_HEADER_BYTES + block.length);
      writeFrameHeader(out, 0, block.length, FrameType.HEADERS, endFlag | Flag.END_HEADERS, streamId);
      block.copy(out, FRAME_HEADER_BYTES);
      this.write(out);
      return;
    }
    for (let at = 0; at < block.length; at += this.maxFrame) {
      const part = block.subarray(at, at + this.maxFrame);
      const last = at + this.maxFrame >= block.length;
      const type = at === 0 ? FrameType.HEADERS : FrameType.CONTINUATION;
      const flags = (at === 0 ? endFlag : 0) | (last ? Flag.END_HEADERS : 0);
      this.write(frame(type, flags, streamId, part));
    }
  }

  /** A DATA frame (its payload is not copied; the caller keeps within the peer's windows). */
  data(streamId: number, data: Buffer, flags: number): void {
    const head = Buffer.allocUnsafe(FRAME_HEADER_BYTES);
    writeFrameHeader(head, 0, data.length, FrameType.DATA, flags, streamId);
    this.write(head);
    if (data.length > 0) this.write(data);
  }
}

function uncork(writer: FrameWriter): void {
  writer.flushNow();
}
