/**
 * Compiles Resiliency resources into a provider of per-target policies, with Dapr's lookup rules
 * (pkg/resiliency/resiliency.go):
 * - resources whose `scopes` do not list this app are ignored; the rest merge in order, a later
 *   definition of a policy or target replacing an earlier one;
 * - a named target uses exactly the policies it names (defaults do not fill its gaps);
 * - without a named target, each kind (timeout, retry, breaker) independently takes the most
 *   specific `Default<Scope><Kind>Policy`, then `Default<Kind>Policy`;
 * - built-in retries (`DaprBuiltIn*`) exist before any resource and may be overridden by name;
 * - breakers are instances shared across calls: per app (keyed by endpoint, bounded LRU),
 *   per actor type or id (bounded LRU), per component and direction.
 */
import type { Logger } from '../components/component.js';
import { ConstantBackoff, ExponentialBackoff } from './backoff.js';
import { BuiltInPolicies, type BuiltInPolicyName } from './built-ins.js';
import { CircuitBreaker } from './circuit-breaker.js';
import { type Clock, systemClock } from './clock.js';
import { formatProblem, type ResiliencyProblem, ResiliencyValidationError } from './errors.js';
import type { FlowDirection, PolicyTelemetry } from './events.js';
import { LruCache } from './lru.js';
import {
  BUILT_IN_ORIGIN,
  checkReferences,
  type Entry,
  type Merged,
  mergeSpecs,
  type Origin,
} from './merged-spec.js';
import {
  type CircuitBreakerSpec,
  DEFAULT_APP_CACHE_SIZE,
  type PolicyNames,
  parseResiliencyResource,
  type ResiliencySpec,
  type RetrySpec,
} from './resource.js';
import { RetryPolicy } from './retry-policy.js';
import { isUnavailableOrUnauthenticated } from './status-codes.js';
import { TargetPolicy } from './target-policy.js';
import { TimeoutPolicy } from './timeout-policy.js';

/** Component kinds, as building blocks name them. */
export type ComponentKind =
  | 'state'
  | 'pubsub'
  | 'bindings'
  | 'secretstores'
  | 'configuration'
  | 'lock'
  | 'crypto';

/** Dapr's ComponentType for each kind (used in default policy names and metric targets). */
export const COMPONENT_TYPE_NAMES: Readonly<Record<ComponentKind, string>> = Object.freeze({
  state: 'Statestore',
  pubsub: 'Pubsub',
  bindings: 'Binding',
  secretstores: 'Secretstore',
  configuration: 'Configuration',
  lock: 'Lock',
  crypto: 'Crypto',
});

/** Options of `compileResiliency`. */
export interface ResiliencyProviderOptions {
  /** This sidecar's app id: resources with `scopes` not listing it are ignored. */
  readonly appId: string;
  readonly clock?: Clock;
  /** Random source of exponential backoffs (tests inject one). */
  readonly random?: () => number;
  readonly logger?: Logger;
  /**
   * Dapr logs an invalid resource and carries on without it. With `skipInvalid` we do the same
   * (the whole resource is dropped, and listed in `problems`), and a target naming a policy that
   * no resource defines is kept with a warning and gets no policy of that kind, as in daprd.
   * Without it, compilation throws a ResiliencyValidationError listing every problem, dangling
   * references included.
   */
  readonly skipInvalid?: boolean;
}

/** Options of `builtIn`. */
export interface BuiltInOptions {
  /** Which failures to retry. Default for service and actor retries: gRPC Unavailable/Unauthenticated. */
  readonly shouldRetry?: (error: unknown) => boolean;
}

/** A resource that was loaded (Dapr's `dapr_resiliency_loaded` counts these). */
export interface LoadedResiliency {
  readonly name: string;
  readonly namespace: string;
}

const NOOP_LOGGER: Logger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
  child: () => NOOP_LOGGER,
};

/** Validates, filters by scope and merges resources; throws ResiliencyValidationError unless `skipInvalid`. */
export function compileResiliency(
  resources: readonly unknown[],
  options: ResiliencyProviderOptions,
): ResiliencyProvider {
  const logger = options.logger ?? NOOP_LOGGER;
  const problems: ResiliencyProblem[] = [];
  const specs: ResiliencySpec[] = [];
  resources.forEach((raw, index) => {
    const parsed = parseResiliencyResource(raw, index);
    for (const w of parsed.warnings) logger.warn(w);
    if (parsed.problems.length > 0 || parsed.spec === undefined) {
      problems.push(...parsed.problems);
      return;
    }
    const spec = parsed.spec;
    if (spec.scopes.length > 0 && !spec.scopes.includes(options.appId)) {
      logger.debug(`Resiliency "${spec.name}" is not scoped to app "${options.appId}"; ignored`);
      return;
    }
    specs.push(spec);
  });
  // References may point at policies of other resources, so they are checked on the merged set.
  const merged = mergeSpecs(specs, logger);
  const refProblems = checkReferences(merged);
  if (!options.skipInvalid) {
    const all = [...problems, ...refProblems];
    if (all.length > 0) throw new ResiliencyValidationError(all);
    return new ResiliencyProvider(merged, specs, problems, options, logger);
  }
  for (const p of problems) logger.error(`Could not read resiliency policy: ${formatProblem(p)}`);
  // daprd keeps a target that names a missing policy: the lookup finds nothing, so the target
  // gets no policy of that kind (and, being a named target, no default or built-in one either).
  for (const p of refProblems) logger.warn(`${formatProblem(p)}: the target gets no such policy`);
  return new ResiliencyProvider(merged, specs, problems, options, logger);
}

interface Resolved {
  readonly names: PolicyNames;
  readonly origin: Origin;
}

/** Per-target policy lookups over compiled Resiliency resources. */
export class ResiliencyProvider {
  /** Resources in effect, in merge order (for `dapr_resiliency_loaded`). */
  readonly loaded: readonly LoadedResiliency[];
  /** Problems of resources that were skipped (only with `skipInvalid`). */
  readonly problems: readonly ResiliencyProblem[];
  private readonly m: Merged;
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly logger: Logger;
  private readonly appBreakers = new Map<string, LruCache<string, CircuitBreaker>>();
  private readonly actorBreakers = new Map<string, LruCache<string, CircuitBreaker>>();
  private readonly componentBreakers = new Map<string, CircuitBreaker>();

  /** Use `compileResiliency`. */
  constructor(
    merged: Merged,
    specs: readonly ResiliencySpec[],
    problems: readonly ResiliencyProblem[],
    options: ResiliencyProviderOptions,
    logger: Logger,
  ) {
    this.m = merged;
    this.loaded = Object.freeze(specs.map((s) => Object.freeze({ name: s.name, namespace: s.namespace })));
    this.problems = Object.freeze([...problems]);
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? Math.random;
    this.logger = logger;
  }

  /** The number of Resiliency resources in effect. */
  get loadedCount(): number {
    return this.loaded.length;
  }

  /** Dapr's `PolicyDefined` for apps: a named target exists (built-in service retries are then skipped). */
  hasAppTarget(appId: string): boolean {
    return this.m.apps.has(appId);
  }

  /** Whether a named actor target exists. */
  hasActorTarget(actorType: string): boolean {
    return this.m.actors.has(actorType);
  }

  /** Whether a named component target exists. */
  hasComponentTarget(name: string): boolean {
    return this.m.components.has(name);
  }

  /**
   * The policy for service invocation of `appId`. Breakers are kept per app in an LRU keyed by
   * `endpoint`; Dapr's HTTP invoke passes `<appId>:<method>`, so pass that to mirror it exactly.
   */
  forApp(appId: string, endpoint: string = appId): TargetPolicy {
    const target = this.m.apps.get(appId);
    const resolved = target ? { names: target.value, origin: target.origin } : this.defaults(['App']);
    const telemetry = this.telemetry(resolved.origin, `app_${appId}`, 'outbound');
    const cacheSize = target?.value.circuitBreakerCacheSize ?? DEFAULT_APP_CACHE_SIZE;
    const breaker = this.breakerFrom(resolved.names, (template, name) =>
      cacheFor(this.appBreakers, appId, cacheSize).getOrCreate(endpoint, () =>
        this.newBreaker(endpoint, name, template, telemetry),
      ),
    );
    return this.compose(resolved.names, telemetry, breaker);
  }

  /** The whole policy for an actor call: retry, breaker and timeout (Dapr splits it around the actor lock). */
  forActor(actorType: string, actorId: string): TargetPolicy {
    const pre = this.forActorPreLock(actorType, actorId);
    const post = this.forActorPostLock(actorType, actorId);
    return new TargetPolicy(
      { retry: pre.retry, circuitBreaker: pre.circuitBreaker, timeout: post.timeout },
      pre.telemetry,
    );
  }

  /** Dapr's `ActorPreLockPolicy`: retry and breaker, no timeout (the lock wait is unbounded). */
  forActorPreLock(actorType: string, actorId: string): TargetPolicy {
    const target = this.m.actors.get(actorType);
    const resolved = target ? { names: target.value, origin: target.origin } : this.defaults(['Actor']);
    const telemetry = this.telemetry(resolved.origin, `actor_${actorType}`, 'outbound');
    const cacheSize = target?.value.circuitBreakerCacheSize ?? DEFAULT_APP_CACHE_SIZE;
    // Dapr keys by type for scope "type" (and for default policies), by type-id otherwise; "both" acts as "id".
    const key = target && target.value.circuitBreakerScope !== 'type' ? `${actorType}-${actorId}` : actorType;
    const breaker = this.breakerFrom(resolved.names, (template, name) =>
      cacheFor(this.actorBreakers, actorType, cacheSize).getOrCreate(key, () =>
        this.newBreaker(key, name, template, telemetry),
      ),
    );
    return this.compose({ retry: resolved.names.retry }, telemetry, breaker);
  }

  /** Dapr's `ActorPostLockPolicy`: the timeout only. */
  forActorPostLock(actorType: string, _actorId: string): TargetPolicy {
    const target = this.m.actors.get(actorType);
    const resolved = target ? { names: target.value, origin: target.origin } : this.defaults(['Actor']);
    return this.compose(
      { timeout: resolved.names.timeout },
      this.telemetry(resolved.origin, `actor_${actorType}`, 'outbound'),
      undefined,
    );
  }

  /** The policy for calls from the sidecar to a component (state, publish, output bindings…). */
  forComponentOutbound(name: string, kind: ComponentKind): TargetPolicy {
    return this.forComponent(name, kind, 'outbound');
  }

  /** The policy for calls from a component into the app (pub/sub delivery, input bindings). */
  forComponentInbound(name: string, kind: ComponentKind): TargetPolicy {
    return this.forComponent(name, kind, 'inbound');
  }

  /** A built-in retry (`DaprBuiltIn*`), possibly overridden by a resource. */
  builtIn(name: BuiltInPolicyName, options: BuiltInOptions = {}): RetryPolicy {
    const entry = this.m.retries.get(name) as Entry<RetrySpec>;
    const defaultPredicate =
      name === BuiltInPolicies.serviceRetries || name === BuiltInPolicies.actorRetries
        ? isUnavailableOrUnauthenticated
        : undefined;
    return this.retryPolicy(
      name,
      entry.value,
      this.telemetry(entry.origin, '', 'outbound'),
      options.shouldRetry ?? defaultPredicate,
    );
  }

  private forComponent(name: string, kind: ComponentKind, direction: FlowDirection): TargetPolicy {
    const typeName = COMPONENT_TYPE_NAMES[kind];
    const dir = direction === 'inbound' ? 'Inbound' : 'Outbound';
    const target = this.m.components.get(name);
    // Dapr: a named component target uses only its own inbound/outbound names, even when empty.
    const resolved = target
      ? { names: target.value[direction], origin: target.origin }
      : this.defaults([`${typeName}Component${dir}`, `Component${dir}`, 'Component']);
    const telemetry = this.telemetry(resolved.origin, `${typeName}_${name}`, direction);
    const breaker = this.breakerFrom(resolved.names, (template, policyName) => {
      const key = `${direction}/${name}`;
      let cb = this.componentBreakers.get(key);
      if (cb === undefined) {
        cb = this.newBreaker(`${policyName}-${name}`, policyName, template, telemetry);
        this.componentBreakers.set(key, cb);
      }
      return cb;
    });
    return this.compose(resolved.names, telemetry, breaker);
  }

  /** Per kind, the most specific `Default<Level><Kind>Policy` that exists, then `Default<Kind>Policy`. */
  private defaults(levels: readonly string[]): Resolved {
    const find = (
      map: ReadonlyMap<string, Entry<unknown>>,
      kind: string,
    ): (Entry<unknown> & { key: string }) | undefined => {
      for (const level of [...levels, '']) {
        const key = `Default${level}${kind}Policy`;
        const e = map.get(key);
        if (e !== undefined) return { ...e, key };
      }
      return undefined;
    };
    const timeout = find(this.m.timeouts, 'Timeout');
    const retry = find(this.m.retries, 'Retry');
    const circuitBreaker = find(this.m.circuitBreakers, 'CircuitBreaker');
    const names: { timeout?: string; retry?: string; circuitBreaker?: string } = {};
    if (timeout) names.timeout = timeout.key;
    if (retry) names.retry = retry.key;
    if (circuitBreaker) names.circuitBreaker = circuitBreaker.key;
    const origin = (timeout ?? retry ?? circuitBreaker)?.origin ?? BUILT_IN_ORIGIN;
    return { names, origin };
  }

  private telemetry(origin: Origin, target: string, direction: FlowDirection): PolicyTelemetry {
    return Object.freeze({ resiliencyName: origin.name, namespace: origin.namespace, target, direction });
  }

  private breakerFrom(
    names: PolicyNames,
    get: (template: CircuitBreakerSpec, name: string) => CircuitBreaker,
  ): CircuitBreaker | undefined {
    if (names.circuitBreaker === undefined) return undefined;
    const template = this.m.circuitBreakers.get(names.circuitBreaker);
    return template === undefined ? undefined : get(template.value, names.circuitBreaker);
  }

  private newBreaker(
    instance: string,
    policyName: string,
    spec: CircuitBreakerSpec,
    telemetry: PolicyTelemetry,
  ): CircuitBreaker {
    return new CircuitBreaker({
      name: instance,
      policyName,
      maxRequests: spec.maxRequests,
      intervalMs: spec.intervalMs,
      timeoutMs: spec.timeoutMs,
      ...(spec.trip ? { trip: spec.trip } : {}),
      clock: this.clock,
      telemetry,
      onStateChange: (from, to) =>
        this.logger.info(`Circuit breaker "${instance}" changed state from ${from} to ${to}`),
    });
  }

  private retryPolicy(
    name: string,
    spec: RetrySpec,
    telemetry: PolicyTelemetry,
    shouldRetry?: (error: unknown) => boolean,
  ): RetryPolicy {
    const backoff =
      spec.policy === 'constant'
        ? new ConstantBackoff(spec.durationMs)
        : new ExponentialBackoff({
            initialIntervalMs: spec.initialIntervalMs,
            maxIntervalMs: spec.maxIntervalMs,
            maxElapsedMs: spec.maxElapsedMs,
            random: this.random,
          });
    return new RetryPolicy({
      backoff,
      maxRetries: spec.maxRetries,
      ...(spec.matching ? { matching: spec.matching } : {}),
      ...(shouldRetry ? { shouldRetry } : {}),
      clock: this.clock,
      name,
      telemetry,
      onRetry: (err, delay) =>
        this.logger.debug(`Error processing operation with retry policy ${name}. Retrying in ${delay}ms`, {
          error: String(err),
        }),
    });
  }

  private compose(
    names: PolicyNames,
    telemetry: PolicyTelemetry,
    breaker: CircuitBreaker | undefined,
  ): TargetPolicy {
    const timeoutMs = names.timeout === undefined ? undefined : this.m.timeouts.get(names.timeout)?.value;
    const retry = names.retry === undefined ? undefined : this.m.retries.get(names.retry)?.value;
    return new TargetPolicy(
      {
        // Dapr applies a timeout only when it is > 0.
        timeout:
          timeoutMs !== undefined && timeoutMs > 0
            ? new TimeoutPolicy(timeoutMs, { clock: this.clock, name: names.timeout ?? '', telemetry })
            : undefined,
        retry:
          retry && names.retry !== undefined ? this.retryPolicy(names.retry, retry, telemetry) : undefined,
        circuitBreaker: breaker,
      },
      telemetry,
    );
  }
}

function cacheFor(
  map: Map<string, LruCache<string, CircuitBreaker>>,
  key: string,
  size: number,
): LruCache<string, CircuitBreaker> {
  let cache = map.get(key);
  if (cache === undefined) {
    cache = new LruCache(size);
    map.set(key, cache);
  }
  return cache;
}
