/**
 * The open streams of a connection by id. A Map would do the lookups, but not the churn: V8
 * rehashes a Map into a new backing table as entries come and go, and leaves each old table
 * pointing to its successor (for iterators in flight). With a stream added and removed per call,
 * once one table reaches the old generation, young-generation GCs keep every later table and the
 * streams they held, through the old dead ones, until the next full GC. On a sidecar at 1000
 * calls/s that promoted 1–3 KB per call and cost a mark-compact every few seconds, with pauses of
 * 4–12 ms (`--trace-gc-nvp`). An object's dictionary elements are rehashed without such a link.
 */
import type { H2Stream } from './stream.js';

/** Streams keyed by stream id (1 to 2^31 - 1: always an array index). */
export class StreamTable {
  #byId: Record<number, H2Stream> = Object.create(null);
  #size = 0;

  /** How many streams are in the table. */
  get size(): number {
    return this.#size;
  }

  get(id: number): H2Stream | undefined {
    return this.#byId[id];
  }

  /** Adds `stream` under its id (which must not be in the table). */
  add(stream: H2Stream): void {
    this.#byId[stream.id] = stream;
    this.#size++;
  }

  /** Removes `stream` if it is the one under its id. */
  delete(stream: H2Stream): void {
    if (this.#byId[stream.id] !== stream) return;
    delete this.#byId[stream.id];
    this.#size--;
  }

  /** A snapshot of the streams, in id order. */
  values(): H2Stream[] {
    return Object.values(this.#byId);
  }
}
