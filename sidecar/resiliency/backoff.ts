/**
 * Pluggable backoff strategies (cockatiel's shape) with Dapr's numbers. Dapr builds these on
 * cenkalti/backoff v4 through dapr/kit/retry; the arithmetic below follows that library.
 */
import type { Clock } from './clock.js';

/** One retry sequence: each call gives the next delay in ms, or `undefined` to stop retrying. */
export interface BackoffSession {
  next(): number | undefined;
}

/** A backoff strategy: starts a fresh session for every `execute`. */
export interface BackoffStrategy {
  start(clock: Clock): BackoffSession;
}

/** The same delay every time (`policy: constant`, `duration`, default 5 s). */
export class ConstantBackoff implements BackoffStrategy {
  readonly durationMs: number;
  constructor(durationMs: number) {
    if (!(durationMs >= 0)) throw new RangeError(`constant backoff duration must be >= 0, got ${durationMs}`);
    this.durationMs = durationMs;
  }
  start(): BackoffSession {
    const d = this.durationMs;
    return { next: () => d };
  }
}

/** Settings of an exponential backoff; defaults are cenkalti/backoff's, which Dapr uses. */
export interface ExponentialBackoffOptions {
  /** First interval before randomization (default 500 ms; Dapr's `duration` does not apply). */
  readonly initialIntervalMs?: number;
  /** Each delay is interval × random[1 − f, 1 + f] (default 0.5). */
  readonly randomizationFactor?: number;
  /** Growth of the interval per retry (default 1.5). */
  readonly multiplier?: number;
  /** Cap of the interval (`maxInterval`, default 60 s). */
  readonly maxIntervalMs?: number;
  /** Stop once elapsed time plus the next delay would exceed this (default 15 min; 0 = never). */
  readonly maxElapsedMs?: number;
  /** Uniform random source in [0, 1); injectable for tests. */
  readonly random?: () => number;
}

/**
 * `policy: exponential`. Delay n = min(initial × 1.5ⁿ, maxInterval) × random[0.5, 1.5]: the cap
 * applies to the interval before randomization, so a delay can exceed `maxInterval` by up to 50%,
 * exactly as cenkalti/backoff does.
 */
export class ExponentialBackoff implements BackoffStrategy {
  readonly initialIntervalMs: number;
  readonly randomizationFactor: number;
  readonly multiplier: number;
  readonly maxIntervalMs: number;
  readonly maxElapsedMs: number;
  readonly random: () => number;

  constructor(options: ExponentialBackoffOptions = {}) {
    this.initialIntervalMs = options.initialIntervalMs ?? 500;
    this.randomizationFactor = options.randomizationFactor ?? 0.5;
    this.multiplier = options.multiplier ?? 1.5;
    this.maxIntervalMs = options.maxIntervalMs ?? 60_000;
    this.maxElapsedMs = options.maxElapsedMs ?? 15 * 60_000;
    this.random = options.random ?? Math.random;
    for (const [k, v] of Object.entries({
      initialIntervalMs: this.initialIntervalMs,
      maxIntervalMs: this.maxIntervalMs,
      maxElapsedMs: this.maxElapsedMs,
      randomizationFactor: this.randomizationFactor,
    })) {
      if (!(v >= 0)) throw new RangeError(`exponential backoff ${k} must be >= 0, got ${v}`);
    }
    if (!(this.multiplier >= 1))
      throw new RangeError(`exponential backoff multiplier must be >= 1, got ${this.multiplier}`);
  }

  start(clock: Clock): BackoffSession {
    const startedAt = clock.now();
    let current = this.initialIntervalMs;
    return {
      next: () => {
        const elapsed = clock.now() - startedAt;
        const delta = this.randomizationFactor * current;
        const delay = current - delta + this.random() * 2 * delta;
        // cenkalti: once the interval would pass max/multiplier it snaps to max.
        current =
          current >= this.maxIntervalMs / this.multiplier ? this.maxIntervalMs : current * this.multiplier;
        if (this.maxElapsedMs !== 0 && elapsed + delay > this.maxElapsedMs) return undefined;
        return delay;
      },
    };
  }
}
