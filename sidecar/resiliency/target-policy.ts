/**
 * The composed policy a provider returns for one target: Dapr's nesting (pkg/resiliency/policy.go),
 * retry outermost, then the shared circuit breaker, then the per-attempt timeout:
 * `retry(breaker(timeout(fn)))`. A breaker rejection is permanent for the retry loop.
 */
import type { CircuitBreaker } from './circuit-breaker.js';
import { type PolicyTelemetry, publishExecuted } from './events.js';
import {
  BasePolicy,
  type ExecuteOptions,
  type Operation,
  type Policy,
  type RunContext,
  WrappedPolicy,
} from './policy.js';
import type { RetryPolicy } from './retry-policy.js';
import type { TimeoutPolicy } from './timeout-policy.js';

/** The parts of a target's policy; any may be absent. */
export interface TargetPolicyParts {
  readonly timeout?: TimeoutPolicy | undefined;
  readonly retry?: RetryPolicy | undefined;
  readonly circuitBreaker?: CircuitBreaker | undefined;
}

/** A target's composed policy. Executions are reported on the `executed` channel. */
export class TargetPolicy extends BasePolicy {
  readonly timeout: TimeoutPolicy | undefined;
  readonly retry: RetryPolicy | undefined;
  /** The breaker instance shared by every call to this target (absent when none applies). */
  readonly circuitBreaker: CircuitBreaker | undefined;
  readonly telemetry: PolicyTelemetry;
  private readonly chain: WrappedPolicy;

  constructor(parts: TargetPolicyParts, telemetry: PolicyTelemetry) {
    super();
    this.timeout = parts.timeout;
    this.retry = parts.retry;
    this.circuitBreaker = parts.circuitBreaker;
    this.telemetry = telemetry;
    const chain: Policy[] = [];
    if (parts.retry) chain.push(parts.retry);
    if (parts.circuitBreaker) chain.push(parts.circuitBreaker);
    if (parts.timeout) chain.push(parts.timeout);
    this.chain = new WrappedPolicy(chain);
  }

  /** True when no policy applies (Dapr then runs the operation as is). */
  get isEmpty(): boolean {
    return this.chain.policies.length === 0;
  }

  /** Dapr's `HasRetries`: a retry policy with maxRetries ≠ 0 applies (callers must buffer bodies to replay them). */
  get hasRetries(): boolean {
    return this.retry?.hasRetries ?? false;
  }

  run<T>(fn: Operation<T>, ctx: RunContext): Promise<T> {
    return this.chain.run(fn, ctx);
  }

  override execute<T>(fn: Operation<T>, options?: AbortSignal | ExecuteOptions<T>): Promise<T> {
    if (this.timeout) publishExecuted(this.telemetry, 'timeout', this.timeout.name);
    if (this.retry) publishExecuted(this.telemetry, 'retry', this.retry.name);
    if (this.circuitBreaker) {
      publishExecuted(
        this.telemetry,
        'circuitbreaker',
        this.circuitBreaker.policyName,
        this.circuitBreaker.state,
      );
    }
    return super.execute(fn, options);
  }
}
