import { type CancelSignal, onCancel, throwIfCancelled } from './cancellation.js';

/** A counting semaphore with a FIFO queue: callers wait for a permit instead of being rejected. */
export class Semaphore {
  readonly #max: number;
  #active = 0;
  readonly #waiters: (() => void)[] = [];

  /** `max` <= 0 means unlimited. */
  constructor(max: number) {
    this.#max = max;
  }

  /**
   * Resolves with a release function once a permit is free (idempotent to call). Rejects with the
   * signal's reason if `signal` aborts while still queued.
   */
  async acquire(signal?: CancelSignal): Promise<() => void> {
    throwIfCancelled(signal);
    if (this.#max > 0) {
      if (this.#active >= this.#max) await this.#wait(signal);
      else this.#active++;
    }
    let released = false;
    return () => {
      if (released || this.#max <= 0) return;
      released = true;
      const next = this.#waiters.shift();
      // Hand the permit straight to the next waiter, so `active` never dips and lets a newcomer jump the queue.
      if (next !== undefined) next();
      else this.#active--;
    };
  }

  #wait(signal: CancelSignal | undefined): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let off = (): void => {};
      const waiter = (): void => {
        off();
        resolve();
      };
      const onAbort = (): void => {
        const i = this.#waiters.indexOf(waiter);
        if (i !== -1) this.#waiters.splice(i, 1);
        reject(signal?.reason);
      };
      this.#waiters.push(waiter);
      off = onCancel(signal, onAbort);
    });
  }

  /** Whether there is no limit (`acquire` would resolve at once with a no-op release). */
  get unlimited(): boolean {
    return this.#max <= 0;
  }

  /** Calls holding a permit right now. */
  get active(): number {
    return this.#active;
  }

  /** Callers waiting for a permit. */
  get queued(): number {
    return this.#waiters.length;
  }
}
