/**
 * Timeout per attempt (Dapr: `context.WithTimeout` around each try, inside the breaker and the
 * retry loop). At the deadline the attempt's AbortSignal aborts with a `TimeoutError` and the
 * call rejects at once, even if `fn` ignores its signal; a result that arrives later is disposed.
 * A result whose body still streams after it resolved keeps the attempt's deadline (`cover`).
 */
import type { Readable } from 'node:stream';
import { abortReason, type Clock, systemClock } from './clock.js';
import { TimeoutError } from './errors.js';
import { NO_TELEMETRY, type PolicyTelemetry, publishActivated } from './events.js';
import { BasePolicy, disposeOutcome, invoke, type Operation, type RunContext } from './policy.js';

/** Options of a TimeoutPolicy. */
export interface TimeoutPolicyOptions {
  readonly clock?: Clock;
  /** Policy name, used in errors and events. */
  readonly name?: string;
  readonly telemetry?: PolicyTelemetry;
}

/** Aborts each attempt that runs longer than `timeoutMs`. */
export class TimeoutPolicy extends BasePolicy {
  readonly timeoutMs: number;
  readonly name: string;
  private readonly clock: Clock;
  private readonly telemetry: PolicyTelemetry;

  constructor(timeoutMs: number, options: TimeoutPolicyOptions = {}) {
    super();
    if (!(timeoutMs > 0) || !Number.isFinite(timeoutMs)) {
      throw new RangeError(`timeout must be a positive number of milliseconds, got ${timeoutMs}`);
    }
    this.timeoutMs = timeoutMs;
    this.name = options.name ?? '';
    this.clock = options.clock ?? systemClock;
    this.telemetry = options.telemetry ?? NO_TELEMETRY;
  }

  /** A mark on this policy's clock: pass it to `cover` for the attempt that starts now. */
  mark(): number {
    return this.clock.now();
  }

  /**
   * Holds `body`, the still-streaming part of the result of an attempt that started at `startedAt`
   * (a `mark()`), to that attempt's deadline: if it has not closed by then it is destroyed with a
   * TimeoutError. daprd writes the response inside the attempt, so its timeout covers the body.
   */
  cover(body: Readable, startedAt: number): void {
    if (body.closed) return;
    const left = this.timeoutMs - (this.clock.now() - startedAt);
    const closed = new AbortController();
    body.once('close', () => closed.abort());
    this.clock.sleep(left, closed.signal).then(
      () => {
        publishActivated(this.telemetry, 'timeout', this.name);
        body.destroy(new TimeoutError(this.timeoutMs, this.name));
      },
      () => {
        // The body closed first.
      },
    );
  }

  run<T>(fn: Operation<T>, ctx: RunContext): Promise<T> {
    const parent = ctx.signal;
    if (parent.aborted) return Promise.reject(abortReason(parent));
    const attempt = new AbortController();
    const timer = new AbortController();
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const settle = (): boolean => {
        if (settled) return false;
        settled = true;
        parent.removeEventListener('abort', onParentAbort);
        timer.abort();
        return true;
      };
      const onParentAbort = (): void => {
        const reason = abortReason(parent);
        if (!settle()) return;
        attempt.abort(reason);
        reject(reason);
      };
      parent.addEventListener('abort', onParentAbort, { once: true });
      this.clock.sleep(this.timeoutMs, timer.signal).then(
        () => {
          if (!settle()) return;
          const err = new TimeoutError(this.timeoutMs, this.name);
          attempt.abort(err);
          if (!ctx.execution.timeoutActivated) {
            ctx.execution.timeoutActivated = true;
            publishActivated(this.telemetry, 'timeout', this.name);
          }
          reject(err);
        },
        () => {
          // The timer was cancelled because the attempt settled first.
        },
      );
      invoke(fn, attempt.signal).then(
        (value) => {
          if (settle()) resolve(value);
          else ctx.dispose(value);
        },
        (err: unknown) => {
          if (settle()) reject(err);
          else disposeOutcome(ctx, err);
        },
      );
    });
  }
}
