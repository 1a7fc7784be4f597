/**
 * Merging of validated Resiliency resources, in order, over Dapr's built-in retries
 * (pkg/resiliency/resiliency.go `DecodeConfiguration`): a later definition of a policy or target
 * replaces an earlier one. Then every policy a target names must exist in the merged set.
 */
import type { Logger } from '../components/component.js';
import {
  BUILT_IN_MIN_RETRIES,
  BUILT_IN_RETRIES,
  isBuiltInPolicyName,
  isProtectedPolicyName,
} from './built-ins.js';
import type { ResiliencyProblem } from './errors.js';
import type {
  ActorTargetSpec,
  AppTargetSpec,
  CircuitBreakerSpec,
  ComponentTargetSpec,
  PolicyNames,
  ResiliencySpec,
  RetrySpec,
} from './resource.js';

/** The resource a definition came from. */
export interface Origin {
  readonly name: string;
  readonly namespace: string;
}

/** A merged definition and its origin. */
export interface Entry<T> {
  readonly value: T;
  readonly origin: Origin;
}

/** Origin of the built-in policies. */
export const BUILT_IN_ORIGIN: Origin = Object.freeze({ name: '', namespace: '' });

/** Every policy and target in effect, by name. */
export interface Merged {
  readonly timeouts: Map<string, Entry<number>>;
  readonly retries: Map<string, Entry<RetrySpec>>;
  readonly circuitBreakers: Map<string, Entry<CircuitBreakerSpec>>;
  readonly apps: Map<string, Entry<AppTargetSpec>>;
  readonly actors: Map<string, Entry<ActorTargetSpec>>;
  readonly components: Map<string, Entry<ComponentTargetSpec>>;
}

/** Merges resources in order over the built-in retries. */
export function mergeSpecs(specs: readonly ResiliencySpec[], logger: Logger): Merged {
  const m: Merged = {
    timeouts: new Map(),
    retries: new Map(),
    circuitBreakers: new Map(),
    apps: new Map(),
    actors: new Map(),
    components: new Map(),
  };
  for (const [name, spec] of BUILT_IN_RETRIES) m.retries.set(name, { value: spec, origin: BUILT_IN_ORIGIN });
  for (const spec of specs) {
    const origin: Origin = { name: spec.name, namespace: spec.namespace };
    for (const [n, v] of spec.timeouts) m.timeouts.set(n, { value: v, origin });
    for (const [n, v] of spec.retries) {
      if (isProtectedPolicyName(n)) {
        logger.warn(
          `Attempted to override protected policy ${n} which is not allowed. Ignoring provided policy and using default.`,
        );
        continue;
      }
      let value = v;
      if (isBuiltInPolicyName(n) && v.maxRetries >= 0 && v.maxRetries < BUILT_IN_MIN_RETRIES) {
        logger.warn(
          `Attempted override of ${n} did not meet minimum retry count, resetting to ${BUILT_IN_MIN_RETRIES}.`,
        );
        value = Object.freeze({ ...v, maxRetries: BUILT_IN_MIN_RETRIES });
      }
      m.retries.set(n, { value, origin });
    }
    for (const [n, v] of spec.circuitBreakers) m.circuitBreakers.set(n, { value: v, origin });
    for (const [n, v] of spec.apps) m.apps.set(n, { value: v, origin });
    for (const [n, v] of spec.actors) m.actors.set(n, { value: v, origin });
    for (const [n, v] of spec.components) m.components.set(n, { value: v, origin });
  }
  return m;
}

/** Problems for every target naming a policy that does not exist. */
export function checkReferences(m: Merged): ResiliencyProblem[] {
  const problems: ResiliencyProblem[] = [];
  const check = (names: PolicyNames, origin: Origin, path: string): void => {
    if (names.timeout !== undefined && !m.timeouts.has(names.timeout)) {
      problems.push({
        resource: origin.name,
        path: `${path}.timeout`,
        rule: `refers to unknown timeout policy "${names.timeout}"`,
      });
    }
    if (names.retry !== undefined && !m.retries.has(names.retry)) {
      problems.push({
        resource: origin.name,
        path: `${path}.retry`,
        rule: `refers to unknown retry policy "${names.retry}"`,
      });
    }
    if (names.circuitBreaker !== undefined && !m.circuitBreakers.has(names.circuitBreaker)) {
      problems.push({
        resource: origin.name,
        path: `${path}.circuitBreaker`,
        rule: `refers to unknown circuit breaker policy "${names.circuitBreaker}"`,
      });
    }
  };
  for (const [id, e] of m.apps) check(e.value, e.origin, `spec.targets.apps.${id}`);
  for (const [type, e] of m.actors) check(e.value, e.origin, `spec.targets.actors.${type}`);
  for (const [name, e] of m.components) {
    check(e.value.inbound, e.origin, `spec.targets.components.${name}.inbound`);
    check(e.value.outbound, e.origin, `spec.targets.components.${name}.outbound`);
  }
  return problems;
}
