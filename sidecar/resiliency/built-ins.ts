/**
 * Dapr's built-in retry policies (pkg/resiliency/resiliency.go `addBuiltInPolicies`) and the
 * rules for overriding them with a policy of the same reserved name.
 */
import type { RetrySpec } from './resource.js';

/** Reserved retry policy names. */
export const BuiltInPolicies = {
  /** Sidecar-to-sidecar service invocation: 3 retries, 1 s apart, on gRPC Unavailable/Unauthenticated. */
  serviceRetries: 'DaprBuiltInServiceRetries',
  /** Sidecar-to-sidecar actor calls: as service retries. */
  actorRetries: 'DaprBuiltInActorRetries',
  /** Persisting actor reminders: exponential from 500 ms, capped at 60 s, for 15 min. */
  actorReminderRetries: 'DaprBuiltInActorReminderRetries',
  /** Fetching specs from the app at start (subscriptions…): 3 retries, exponential from 500 ms, within 10 s. */
  initializationRetries: 'DaprBuiltInInitializationRetries',
  /** Actor not found on the resolved host: 5 retries, 1 s apart. Protected: cannot be overridden. */
  actorNotFoundRetries: 'DaprBuiltInActorNotFoundRetries',
} as const;

/** One of the reserved names. */
export type BuiltInPolicyName = (typeof BuiltInPolicies)[keyof typeof BuiltInPolicies];

const constant = (durationMs: number, maxRetries: number): RetrySpec =>
  Object.freeze({
    policy: 'constant',
    durationMs,
    initialIntervalMs: 500,
    maxIntervalMs: 60_000,
    maxElapsedMs: 15 * 60_000,
    maxRetries,
    matching: undefined,
  });

/**
 * The built-in retry specs. `DaprBuiltInActorReminderRetries` has no retry count in Dapr's code
 * (it relies on the 15 min elapsed limit), so it is unlimited here (-1), as documented.
 */
export const BUILT_IN_RETRIES: ReadonlyMap<BuiltInPolicyName, RetrySpec> = new Map<
  BuiltInPolicyName,
  RetrySpec
>([
  [BuiltInPolicies.serviceRetries, constant(1000, 3)],
  [BuiltInPolicies.actorRetries, constant(1000, 3)],
  [
    BuiltInPolicies.actorReminderRetries,
    Object.freeze({
      policy: 'exponential',
      durationMs: 5000,
      initialIntervalMs: 500,
      maxIntervalMs: 60_000,
      maxElapsedMs: 15 * 60_000,
      maxRetries: -1,
      matching: undefined,
    }),
  ],
  [
    BuiltInPolicies.initializationRetries,
    Object.freeze({
      policy: 'exponential',
      durationMs: 2000,
      initialIntervalMs: 500,
      maxIntervalMs: 1000,
      maxElapsedMs: 10_000,
      maxRetries: 3,
      matching: undefined,
    }),
  ],
  [BuiltInPolicies.actorNotFoundRetries, constant(1000, 5)],
]);

/** Whether a retry policy name is reserved. */
export function isBuiltInPolicyName(name: string): name is BuiltInPolicyName {
  return BUILT_IN_RETRIES.has(name as BuiltInPolicyName);
}

/** Built-ins that user resources may not override (Dapr ignores the override with a warning). */
export function isProtectedPolicyName(name: string): boolean {
  return name === BuiltInPolicies.actorNotFoundRetries;
}

/** Dapr's floor for overrides of built-in retries: fewer than 3 retries is raised to 3. */
export const BUILT_IN_MIN_RETRIES = 3;
