/**
 * Error classes of the resiliency engine. Each has a stable `code` (undici style); the API layer
 * maps them to Dapr's `ERR_*` codes, this module never does.
 */

/** An attempt ran longer than its timeout policy allows. The attempt's AbortSignal was aborted with it. */
export class TimeoutError extends Error {
  override readonly name = 'TimeoutError';
  readonly code = 'OUTRIGGER_RESILIENCY_TIMEOUT';
  readonly timeoutMs: number;
  constructor(timeoutMs: number, policyName = '') {
    super(
      `operation timed out after ${timeoutMs}ms${policyName === '' ? '' : ` (timeout policy "${policyName}")`}`,
    );
    this.timeoutMs = timeoutMs;
  }
}

/** Why a breaker rejected a call: it is open, or half-open with all trial slots taken. */
export type BrokenCircuitReason = 'open' | 'too-many-requests';

/**
 * A circuit breaker rejected the call without running it. Mirrors gobreaker's `ErrOpenState`
 * ("circuit breaker is open") and `ErrTooManyRequests` ("too many requests"); never retried.
 */
export class BrokenCircuitError extends Error {
  override readonly name = 'BrokenCircuitError';
  readonly code = 'OUTRIGGER_RESILIENCY_BROKEN_CIRCUIT';
  readonly breaker: string;
  readonly reason: BrokenCircuitReason;
  constructor(breaker: string, reason: BrokenCircuitReason) {
    super(reason === 'open' ? 'circuit breaker is open' : 'too many requests');
    this.breaker = breaker;
    this.reason = reason;
  }
}

/**
 * An error that carries a transport status code (HTTP 100–599 or gRPC 0–16), like Dapr's
 * `resiliency.CodeError`. Retry `matching` rules look at this code.
 */
export class StatusCodeError extends Error {
  override readonly name = 'StatusCodeError';
  readonly statusCode: number;
  constructor(
    statusCode: number,
    message = `received status code ${statusCode}`,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.statusCode = statusCode;
  }
}

/**
 * A resolved result that the caller's `failureOf` classified as a failure (e.g. an HTTP 503
 * response). It travels through breakers and retries as an error and is unwrapped again by
 * `execute`, which then resolves with the last result instead of throwing.
 */
export class ResultFailure<T = unknown> extends Error {
  override readonly name = 'ResultFailure';
  readonly result: T;
  /** The status code `failureOf` reported, if any. */
  readonly statusCode: number | undefined;
  constructor(result: T, statusCode: number | undefined) {
    super(
      statusCode === undefined ? 'result classified as a failure' : `result has failure status ${statusCode}`,
    );
    this.result = result;
    this.statusCode = statusCode;
  }
}

/** One rule a Resiliency resource broke. */
export interface ResiliencyProblem {
  /** `metadata.name` of the resource (or `#<index>` when it has none). */
  readonly resource: string;
  /** Where in the resource, e.g. `spec.policies.retries.fast.duration`. */
  readonly path: string;
  readonly rule: string;
}

/** Thrown by `compileResiliency` when resources are invalid; lists every problem at once. */
export class ResiliencyValidationError extends Error {
  override readonly name = 'ResiliencyValidationError';
  readonly code = 'OUTRIGGER_RESILIENCY_INVALID';
  readonly problems: readonly ResiliencyProblem[];
  constructor(problems: readonly ResiliencyProblem[]) {
    super(problems.map(formatProblem).join('; '));
    this.problems = problems;
  }
}

/** Renders a problem as one line: `Resiliency "r" spec.x: rule`. */
export function formatProblem(p: ResiliencyProblem): string {
  return `Resiliency "${p.resource}" ${p.path}: ${p.rule}`;
}
