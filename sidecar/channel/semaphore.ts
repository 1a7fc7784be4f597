/** A counting semaphore with a FIFO queue: callers wait for a permit instead of being rejected. */
export class Semaphore {
  readonly #max: number;
  #active = 0;
  readonly #waiters: (() => void)[] = [];

  /** `max` <= 0 means unlimited. */
  constructor(max: number) {
    this.#max = max;
  }

  /** Resolves with a release function once a permit is free. The release function is idempotent. */
  async acquire(): Promise<() => void> {
    if (this.#max > 0) {
      if (this.#active >= this.#max) await new Promise<void>((resolve) => this.#waiters.push(resolve));
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

  /** Calls holding a permit right now. */
  get active(): number {
    return this.#active;
  }

  /** Callers waiting for a permit. */
  get queued(): number {
    return this.#waiters.length;
  }
}
