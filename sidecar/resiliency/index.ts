/** The resiliency engine: policies, Dapr's trip expressions, and the Resiliency resource compiler. */
export {
  type BackoffSession,
  type BackoffStrategy,
  ConstantBackoff,
  ExponentialBackoff,
  type ExponentialBackoffOptions,
} from './backoff.js';
export { BuiltInPolicies, type BuiltInPolicyName } from './built-ins.js';
export { CircuitBreaker, type CircuitBreakerOptions, type TripStrategy } from './circuit-breaker.js';
export { abortReason, type Clock, systemClock } from './clock.js';
export { parseResiliencyDuration } from './durations.js';
export {
  BrokenCircuitError,
  type BrokenCircuitReason,
  formatProblem,
  type ResiliencyProblem,
  ResiliencyValidationError,
  ResultFailure,
  StatusCodeError,
  TimeoutError,
} from './errors.js';
export {
  type BreakerState,
  type FlowDirection,
  type PolicyKind,
  type PolicyTelemetry,
  RESILIENCY_ACTIVATED_CHANNEL,
  RESILIENCY_EXECUTED_CHANNEL,
  type ResiliencyPolicyEvent,
  resiliencyChannels,
} from './events.js';
export {
  BasePolicy,
  type ExecuteOptions,
  NoopPolicy,
  type Operation,
  type Policy,
  WrappedPolicy,
  wrap,
} from './policy.js';
export {
  type BuiltInOptions,
  COMPONENT_TYPE_NAMES,
  type ComponentKind,
  compileResiliency,
  type LoadedResiliency,
  ResiliencyProvider,
  type ResiliencyProviderOptions,
} from './provider.js';
export { parseResiliencyResource, type ResiliencySpec } from './resource.js';
export { RetryPolicy, type RetryPolicyOptions } from './retry-policy.js';
export { resiliencyDocument } from './spec-document.js';
export {
  GRPC_CODES,
  HTTP_CODES,
  isUnavailableOrUnauthenticated,
  parseCodeRanges,
  StatusCodeMatcher,
  statusCodeOf,
} from './status-codes.js';
export { TargetPolicy } from './target-policy.js';
export { TimeoutPolicy, type TimeoutPolicyOptions } from './timeout-policy.js';
export {
  type BreakerCounts,
  DEFAULT_TRIP,
  TRIP_VARIABLES,
  TripExpression,
  TripExpressionError,
} from './trip-expression.js';
