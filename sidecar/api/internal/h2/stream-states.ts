/**
 * What a connection remembers of streams that are no longer open (RFC 9113 §5.1), so that a frame
 * on a closed stream gets the reaction the RFC gives for how the stream closed:
 *
 * - the peer had ended it (END_STREAM received): DATA or HEADERS is a connection error of type
 *   STREAM_CLOSED;
 * - the peer had reset it: DATA or HEADERS is a stream error of type STREAM_CLOSED;
 * - we had reset it: the peer may have sent anything before it saw our RST_STREAM, so it is ignored;
 * - it was never opened (a higher id was opened first, §5.1.1): HEADERS or DATA is a connection
 *   error of type PROTOCOL_ERROR;
 * - WINDOW_UPDATE, RST_STREAM and PRIORITY are allowed on closed streams and ignored.
 *
 * The record is a ring of one byte per stream id over the last `HISTORY` ids of the side that opens
 * streams (client-initiated, odd), written when a stream opens and closes: no allocation per stream.
 * A stream older than that is forgotten; a late DATA or HEADERS on it gets RST_STREAM(STREAM_CLOSED),
 * which is harmless whether or not we had reset it (the RFC lets an endpoint limit how long it
 * ignores frames after its RST_STREAM).
 */
import { ErrorCode, H2ConnectionError } from './frames.js';

/** Ids remembered (a power of two). */
const HISTORY = 1024;

/** How a stream closed: bits of one history entry (0: the id was skipped, never opened). */
export const Closed = {
  OPENED: 1,
  /** The peer sent END_STREAM. */
  PEER_ENDED: 2,
  /** We sent RST_STREAM. */
  RST_SENT: 4,
  /** The peer sent RST_STREAM. */
  RST_RECEIVED: 8,
  /** Outside the remembered window. */
  FORGOTTEN: 0x80,
} as const;

/** The closing history of the streams one side opened. */
export class StreamHistory {
  readonly #states = new Uint8Array(HISTORY);
  /** The highest id opened so far (0: none). */
  #highest = 0;

  /** The highest id opened so far (0: none). */
  get highest(): number {
    return this.#highest;
  }

  /** Records that `id` (above every earlier one, same parity) opened; the ids it skipped never will. */
  opened(id: number): void {
    const skipped = Math.min((id - this.#highest) / 2 - 1, HISTORY);
    for (let k = 1; k <= skipped; k++) this.#states[((id - 2 * k) >>> 1) & (HISTORY - 1)] = 0;
    this.#states[(id >>> 1) & (HISTORY - 1)] = Closed.OPENED;
    this.#highest = id;
  }

  /** Adds `bits` (of `Closed`) to the record of `id`, if it is still remembered. */
  mark(id: number, bits: number): void {
    if (!this.#remembered(id)) return;
    const slot = (id >>> 1) & (HISTORY - 1);
    this.#states[slot] = (this.#states[slot] as number) | bits;
  }

  /** The record of `id` (at most the highest opened id): bits of `Closed`. */
  state(id: number): number {
    return this.#remembered(id) ? (this.#states[(id >>> 1) & (HISTORY - 1)] as number) : Closed.FORGOTTEN;
  }

  /** Whether `id` is idle: above every client-initiated id opened, or server-initiated (no push here). */
  isIdle(id: number): boolean {
    return id % 2 === 0 || id > this.#highest;
  }

  /** Throws the connection error a frame that may not open a stream (`what`) on idle `id` is (§5.1). */
  notIdle(id: number, what: string): void {
    if (this.isIdle(id))
      throw new H2ConnectionError(ErrorCode.PROTOCOL_ERROR, `${what} on idle stream ${id}`);
  }

  /**
   * DATA or HEADERS (`what`) on `id`, which is not open: throws the connection error it causes,
   * else returns whether it is a stream error of type STREAM_CLOSED (false: ignore it).
   */
  late(id: number, what: string): boolean {
    this.notIdle(id, what);
    const state = this.state(id);
    if (state === Closed.FORGOTTEN) return true;
    if ((state & Closed.OPENED) === 0)
      throw new H2ConnectionError(ErrorCode.PROTOCOL_ERROR, `${what} on stream ${id}, which was skipped`);
    if ((state & Closed.PEER_ENDED) !== 0)
      throw new H2ConnectionError(ErrorCode.STREAM_CLOSED, `${what} on stream ${id} after END_STREAM`);
    // Reset by the peer: an error. Reset by us: frames the peer sent before it saw our RST_STREAM.
    return (state & Closed.RST_RECEIVED) !== 0;
  }

  #remembered(id: number): boolean {
    return id <= this.#highest && this.#highest - id < 2 * HISTORY;
  }
}
