/**
 * A fake Clock for resiliency tests: time moves only when the test drives it, so no test waits
 * for real time and none asserts on timing. `drive(promise)` lets every pending microtask run,
 * then jumps to the next timer, until the promise settles.
 */
import type { Clock } from '../../../sidecar/resiliency/clock.js';

interface Timer {
  readonly at: number;
  readonly seq: number;
  readonly resolve: () => void;
}

/** Lets all queued microtasks and I/O callbacks run (one macrotask turn, twice). */
export async function flush(): Promise<void> {
  for (let i = 0; i < 2; i++) await new Promise<void>((r) => setImmediate(r));
}

/** A manually driven clock. */
export class FakeClock implements Clock {
  /** Every sleep requested, in order (the backoff sequence for retry tests). */
  readonly sleeps: number[] = [];
  private time: number;
  private seq = 0;
  private timers: Timer[] = [];

  constructor(start = 1_000_000) {
    this.time = start;
  }

  now(): number {
    return this.time;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    this.sleeps.push(ms);
    return new Promise<void>((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      const timer: Timer = {
        at: this.time + Math.max(0, ms),
        seq: this.seq++,
        resolve: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      const onAbort = (): void => {
        this.timers = this.timers.filter((t) => t !== timer);
        reject(signal?.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.timers.push(timer);
    });
  }

  /** Timers not yet fired. */
  get pending(): number {
    return this.timers.length;
  }

  /** Moves time forward by `ms`, firing due timers in order. */
  async advance(ms: number): Promise<void> {
    await flush();
    const target = this.time + ms;
    for (;;) {
      const next = this.earliest();
      if (next === undefined || next.at > target) break;
      this.fire(next);
      await flush();
    }
    this.time = target;
    await flush();
  }

  /** Runs time forward until `promise` settles; fails if it is stuck with no timer left. */
  async drive<T>(promise: Promise<T>, maxSteps = 100_000): Promise<T> {
    let settled = false;
    promise.then(
      () => {
        settled = true;
      },
      () => {
        settled = true;
      },
    );
    for (let step = 0; step < maxSteps; step++) {
      await flush();
      if (settled) return promise;
      const next = this.earliest();
      if (next === undefined) throw new Error('promise is pending but no timer is scheduled');
      this.fire(next);
    }
    throw new Error(`promise still pending after ${maxSteps} timers`);
  }

  private earliest(): Timer | undefined {
    let best: Timer | undefined;
    for (const t of this.timers)
      if (!best || t.at < best.at || (t.at === best.at && t.seq < best.seq)) best = t;
    return best;
  }

  private fire(timer: Timer): void {
    this.timers = this.timers.filter((t) => t !== timer);
    if (timer.at > this.time) this.time = timer.at;
    timer.resolve();
  }
}

/** A Resiliency resource with the given spec, for provider tests. */
export function resiliency(name: string, spec: unknown, extra: Record<string, unknown> = {}): unknown {
  return { apiVersion: 'dapr.io/v1alpha1', kind: 'Resiliency', metadata: { name }, spec, ...extra };
}

/** An operation that fails `failures` times with `error()` and then resolves with `value`. */
export function flaky<T>(
  failures: number,
  value: T,
  error: (n: number) => unknown = (n) => new Error(`failure ${n}`),
) {
  let calls = 0;
  const fn = async (_signal: AbortSignal): Promise<T> => {
    calls++;
    if (calls <= failures) throw error(calls);
    return value;
  };
  return { fn, calls: () => calls };
}
