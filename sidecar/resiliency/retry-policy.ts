/**
 * Retries with Dapr's semantics (cenkalti/backoff's RetryNotify as wrapped by dapr/kit):
 * `maxRetries` -1 retries forever, 0 never, n gives n retries (n + 1 attempts); a breaker
 * rejection is permanent; a failure with a status code is retried only if `matching` allows it;
 * the caller's abort stops the loop at once, including during a backoff sleep.
 */

import { type BackoffStrategy, ConstantBackoff } from './backoff.js';
import { abortReason, type Clock, systemClock } from './clock.js';
import { BrokenCircuitError } from './errors.js';
import { NO_TELEMETRY, type PolicyTelemetry, publishActivated } from './events.js';
import { BasePolicy, disposeOutcome, invoke, type Operation, type RunContext } from './policy.js';
import { type StatusCodeMatcher, statusCodeOf } from './status-codes.js';

/** Options of a RetryPolicy. */
export interface RetryPolicyOptions {
  /** Delay strategy (default: constant 5 s, Dapr's default `duration`). */
  readonly backoff?: BackoffStrategy;
  /** -1 = forever (Dapr's default), 0 = no retries, n = at most n retries. */
  readonly maxRetries?: number;
  /** Status codes that may be retried; absent = every code. */
  readonly matching?: StatusCodeMatcher;
  /** Extra predicate: a failure is retried only if it returns true (hook for built-in retries). */
  readonly shouldRetry?: (error: unknown) => boolean;
  /** Called before each retry sleep with the failure and the delay. */
  readonly onRetry?: (error: unknown, delayMs: number, attempt: number) => void;
  readonly clock?: Clock;
  readonly name?: string;
  readonly telemetry?: PolicyTelemetry;
}

/** Runs an operation again after failures, with a backoff between attempts. */
export class RetryPolicy extends BasePolicy {
  readonly backoff: BackoffStrategy;
  readonly maxRetries: number;
  readonly matching: StatusCodeMatcher | undefined;
  readonly name: string;
  private readonly shouldRetryFn: ((error: unknown) => boolean) | undefined;
  private readonly onRetry: ((error: unknown, delayMs: number, attempt: number) => void) | undefined;
  private readonly clock: Clock;
  private readonly telemetry: PolicyTelemetry;

  constructor(options: RetryPolicyOptions = {}) {
    super();
    const maxRetries = options.maxRetries ?? -1;
    if (!Number.isInteger(maxRetries) || maxRetries < -1) {
      throw new RangeError(`maxRetries must be an integer >= -1, got ${maxRetries}`);
    }
    this.backoff = options.backoff ?? new ConstantBackoff(5000);
    this.maxRetries = maxRetries;
    this.matching = options.matching;
    this.name = options.name ?? '';
    this.shouldRetryFn = options.shouldRetry;
    this.onRetry = options.onRetry;
    this.clock = options.clock ?? systemClock;
    this.telemetry = options.telemetry ?? NO_TELEMETRY;
  }

  /** Dapr's `HasRetries`: whether this policy can retry at all (callers then buffer request bodies). */
  get hasRetries(): boolean {
    return this.maxRetries !== 0;
  }

  /** Whether a failure may be retried, before counting attempts. */
  isRetryable(error: unknown, ctx?: Pick<RunContext, 'shouldRetry'>): boolean {
    if (error instanceof BrokenCircuitError) return false;
    const code = statusCodeOf(error);
    if (code !== undefined && this.matching !== undefined && !this.matching.allows(code)) return false;
    if (this.shouldRetryFn !== undefined && !this.shouldRetryFn(error)) return false;
    if (ctx?.shouldRetry !== undefined && !ctx.shouldRetry(error)) return false;
    return true;
  }

  async run<T>(fn: Operation<T>, ctx: RunContext): Promise<T> {
    const signal = ctx.signal;
    const session = this.backoff.start(this.clock);
    let retries = 0;
    for (;;) {
      if (signal.aborted) throw abortReason(signal);
      try {
        return await invoke(fn, signal);
      } catch (err) {
        if (signal.aborted) {
          disposeOutcome(ctx, err);
          throw abortReason(signal);
        }
        if (!this.isRetryable(err, ctx)) throw err;
        // backoff.WithMaxRetries checks the count before asking the delegate for a delay.
        const delay = this.maxRetries >= 0 && retries >= this.maxRetries ? undefined : session.next();
        if (delay === undefined) throw err;
        retries++;
        publishActivated(this.telemetry, 'retry', this.name);
        this.onRetry?.(err, delay, retries);
        disposeOutcome(ctx, err);
        await this.clock.sleep(delay, signal);
      }
    }
  }
}
