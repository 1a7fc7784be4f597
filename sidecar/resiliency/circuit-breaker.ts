/**
 * Circuit breaker with gobreaker's state machine, which Dapr wraps (pkg/resiliency/breaker):
 * - closed: every call runs; counts reset every `interval` (0 = never); on a failure the `trip`
 *   expression is evaluated and, if true, the breaker opens;
 * - open: calls are rejected with BrokenCircuitError without running; after `timeout` the next
 *   look at the state moves it to half-open;
 * - half-open: at most `maxRequests` calls run; a failure reopens it, `maxRequests` consecutive
 *   successes close it; extra calls are rejected ("too many requests").
 * Every error of the wrapped call (timeouts and caller aborts included) counts as a failure.
 */
import { type Clock, systemClock } from './clock.js';
import { BrokenCircuitError } from './errors.js';
import { type BreakerState, NO_TELEMETRY, type PolicyTelemetry, publishActivated } from './events.js';
import { BasePolicy, invoke, type Operation, type RunContext } from './policy.js';
import { type BreakerCounts, DEFAULT_TRIP, TripExpression } from './trip-expression.js';

/** Decides whether the breaker opens, given its counts after a failure in the closed state. */
export type TripStrategy = (counts: BreakerCounts) => boolean;

/** Options of a CircuitBreaker; zero values take gobreaker's defaults, as in Dapr. */
export interface CircuitBreakerOptions {
  /** Name used in errors and events. */
  readonly name?: string;
  /** Calls allowed through when half-open (0 → 1). */
  readonly maxRequests?: number;
  /** Cyclic period after which the closed state clears its counts (0 = never). */
  readonly intervalMs?: number;
  /** Time spent open before going half-open (0 → 60 s). */
  readonly timeoutMs?: number;
  /** A compiled expression or a function (default `consecutiveFailures > 5`). */
  readonly trip?: TripExpression | TripStrategy;
  readonly clock?: Clock;
  readonly telemetry?: PolicyTelemetry;
  /** Dapr's policy name for events (the template's name). */
  readonly policyName?: string;
  /** Called on every state change. */
  readonly onStateChange?: (from: BreakerState, to: BreakerState) => void;
}

interface MutableCounts {
  requests: number;
  totalSuccesses: number;
  totalFailures: number;
  consecutiveSuccesses: number;
  consecutiveFailures: number;
}

const DEFAULT_TRIP_EXPRESSION = TripExpression.compile(DEFAULT_TRIP);

/** A stateful breaker; one instance is shared by every call to its target. */
export class CircuitBreaker extends BasePolicy {
  readonly name: string;
  readonly maxRequests: number;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  private readonly tripFn: TripStrategy;
  private readonly clock: Clock;
  private readonly telemetry: PolicyTelemetry;
  /** The policy (template) name in the Resiliency resource. */
  readonly policyName: string;
  private readonly onStateChange: ((from: BreakerState, to: BreakerState) => void) | undefined;
  private current: BreakerState = 'closed';
  private generation = 0;
  private counts: MutableCounts = zeroCounts();
  /** When the current generation ends (0 = never). */
  private expiry = 0;

  constructor(options: CircuitBreakerOptions = {}) {
    super();
    this.name = options.name ?? '';
    this.maxRequests = options.maxRequests !== undefined && options.maxRequests > 0 ? options.maxRequests : 1;
    this.intervalMs = options.intervalMs !== undefined && options.intervalMs > 0 ? options.intervalMs : 0;
    this.timeoutMs = options.timeoutMs !== undefined && options.timeoutMs > 0 ? options.timeoutMs : 60_000;
    const trip = options.trip ?? DEFAULT_TRIP_EXPRESSION;
    this.tripFn = trip instanceof TripExpression ? (c) => trip.evaluate(c) : trip;
    this.clock = options.clock ?? systemClock;
    this.telemetry = options.telemetry ?? NO_TELEMETRY;
    this.policyName = options.policyName ?? this.name;
    this.onStateChange = options.onStateChange;
    this.newGeneration(this.clock.now());
  }

  /** The current state (moves open → half-open or resets counts if their time has come). */
  get state(): BreakerState {
    return this.currentState(this.clock.now());
  }

  /** A copy of the counts of the current generation. */
  get stats(): BreakerCounts {
    this.currentState(this.clock.now());
    return { ...this.counts };
  }

  async run<T>(fn: Operation<T>, ctx: RunContext): Promise<T> {
    const generation = this.beforeRequest();
    let value: T;
    try {
      value = await invoke(fn, ctx.signal);
    } catch (err) {
      this.afterRequest(generation, false);
      throw err;
    }
    this.afterRequest(generation, true);
    return value;
  }

  private beforeRequest(): number {
    const now = this.clock.now();
    const state = this.currentState(now);
    if (state === 'open') throw new BrokenCircuitError(this.name, 'open');
    if (state === 'half-open' && this.counts.requests >= this.maxRequests) {
      throw new BrokenCircuitError(this.name, 'too-many-requests');
    }
    this.counts.requests++;
    return this.generation;
  }

  private afterRequest(before: number, success: boolean): void {
    const now = this.clock.now();
    const state = this.currentState(now);
    // A call that started in an earlier generation no longer counts (gobreaker).
    if (this.generation !== before) return;
    const c = this.counts;
    if (success) {
      c.totalSuccesses++;
      c.consecutiveSuccesses++;
      c.consecutiveFailures = 0;
      if (state === 'half-open' && c.consecutiveSuccesses >= this.maxRequests) this.setState('closed', now);
    } else {
      c.totalFailures++;
      c.consecutiveFailures++;
      c.consecutiveSuccesses = 0;
      if (state === 'half-open') this.setState('open', now);
      else if (state === 'closed' && this.tripFn({ ...c })) this.setState('open', now);
    }
  }

  private currentState(now: number): BreakerState {
    if (this.current === 'closed' && this.expiry !== 0 && this.expiry < now) this.newGeneration(now);
    else if (this.current === 'open' && this.expiry < now) this.setState('half-open', now);
    return this.current;
  }

  private setState(to: BreakerState, now: number): void {
    const from = this.current;
    if (from === to) return;
    this.current = to;
    this.newGeneration(now);
    publishActivated(this.telemetry, 'circuitbreaker', this.policyName, to);
    this.onStateChange?.(from, to);
  }

  private newGeneration(now: number): void {
    this.generation++;
    this.counts = zeroCounts();
    if (this.current === 'closed') this.expiry = this.intervalMs === 0 ? 0 : now + this.intervalMs;
    else if (this.current === 'open') this.expiry = now + this.timeoutMs;
    else this.expiry = 0;
  }
}

function zeroCounts(): MutableCounts {
  return {
    requests: 0,
    totalSuccesses: 0,
    totalFailures: 0,
    consecutiveSuccesses: 0,
    consecutiveFailures: 0,
  };
}
