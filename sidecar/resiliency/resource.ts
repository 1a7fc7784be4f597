/**
 * Validation of one `Resiliency` resource (`dapr.io/v1alpha1`) into a frozen, typed spec. Every
 * problem is collected (resource, path, rule) rather than stopping at the first. References from
 * targets to policies are checked later, across all merged resources (see provider.ts).
 */

import { parseResiliencyDuration } from './durations.js';
import type { ResiliencyProblem } from './errors.js';
import { GRPC_CODES, HTTP_CODES, parseCodeRanges, StatusCodeMatcher } from './status-codes.js';
import { TripExpression, TripExpressionError } from './trip-expression.js';

/** A retry policy as Dapr's retry.Config sees it (durations in ms). */
export interface RetrySpec {
  readonly policy: 'constant' | 'exponential';
  /** Constant interval (default 5 s). */
  readonly durationMs: number;
  /** Exponential first interval (500 ms for user policies: Dapr takes cenkalti's default). */
  readonly initialIntervalMs: number;
  readonly maxIntervalMs: number;
  /** Exponential give-up time (15 min for user policies: cenkalti's default, kept by Dapr). */
  readonly maxElapsedMs: number;
  readonly maxRetries: number;
  readonly matching: StatusCodeMatcher | undefined;
}

/** A circuit breaker template. */
export interface CircuitBreakerSpec {
  readonly maxRequests: number;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly trip: TripExpression | undefined;
}

/** Policy names a target refers to ('' or absent = none). */
export interface PolicyNames {
  readonly timeout?: string | undefined;
  readonly retry?: string | undefined;
  readonly circuitBreaker?: string | undefined;
}

/** `targets.apps.<appId>`. */
export interface AppTargetSpec extends PolicyNames {
  readonly circuitBreakerCacheSize: number;
}

/** How actor breakers are keyed. */
export type ActorBreakerScope = 'id' | 'type' | 'both';

/** `targets.actors.<type>`. */
export interface ActorTargetSpec extends PolicyNames {
  readonly circuitBreakerScope: ActorBreakerScope | undefined;
  readonly circuitBreakerCacheSize: number;
}

/** `targets.components.<name>`. */
export interface ComponentTargetSpec {
  readonly inbound: PolicyNames;
  readonly outbound: PolicyNames;
}

/** One validated resource. */
export interface ResiliencySpec {
  readonly name: string;
  readonly namespace: string;
  readonly scopes: readonly string[];
  readonly timeouts: ReadonlyMap<string, number>;
  readonly retries: ReadonlyMap<string, RetrySpec>;
  readonly circuitBreakers: ReadonlyMap<string, CircuitBreakerSpec>;
  readonly apps: ReadonlyMap<string, AppTargetSpec>;
  readonly actors: ReadonlyMap<string, ActorTargetSpec>;
  readonly components: ReadonlyMap<string, ComponentTargetSpec>;
}

/** Result of validating one resource. */
export interface ParsedResource {
  readonly spec: ResiliencySpec | undefined;
  readonly problems: readonly ResiliencyProblem[];
  /** Unknown fields (ignored, as Dapr ignores them) worth a log line. */
  readonly warnings: readonly string[];
}

/** Dapr's default breaker cache size for app targets (per app, keyed by endpoint). */
export const DEFAULT_APP_CACHE_SIZE = 100;
/** Dapr's default breaker cache size for actor targets (per actor type). */
export const DEFAULT_ACTOR_CACHE_SIZE = 5000;

type Obj = Readonly<Record<string, unknown>>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

class Collector {
  readonly problems: ResiliencyProblem[] = [];
  readonly warnings: string[] = [];
  constructor(readonly resource: string) {}
  problem(path: string, rule: string): void {
    this.problems.push({ resource: this.resource, path, rule });
  }
  unknownKeys(obj: Obj, path: string, known: readonly string[]): void {
    for (const k of Object.keys(obj)) {
      if (!known.includes(k))
        this.warnings.push(`Resiliency "${this.resource}" ${path}: unknown field "${k}" ignored`);
    }
  }
  duration(value: unknown, path: string, fallback: number): number {
    if (value === undefined || value === null || value === '') return fallback;
    const ms = parseResiliencyDuration(value);
    if (ms === undefined) {
      this.problem(
        path,
        `must be a duration like "5s", "1m30s" or "500ms" (a bare integer is milliseconds), got ${JSON.stringify(value)}`,
      );
      return fallback;
    }
    if (ms < 0) {
      this.problem(path, `must not be negative, got ${JSON.stringify(value)}`);
      return fallback;
    }
    return ms;
  }
  integer(value: unknown, path: string, fallback: number, min: number): number {
    if (value === undefined || value === null || value === '') return fallback;
    const n = typeof value === 'string' && /^[-+]?\d+$/.test(value.trim()) ? Number(value.trim()) : value;
    if (typeof n !== 'number' || !Number.isInteger(n)) {
      this.problem(path, `must be an integer, got ${JSON.stringify(value)}`);
      return fallback;
    }
    if (n < min) {
      this.problem(path, `must be >= ${min}, got ${n}`);
      return fallback;
    }
    return n;
  }
  name(value: unknown, path: string): string | undefined {
    if (value === undefined || value === null || value === '') return undefined;
    if (typeof value !== 'string') {
      this.problem(path, `must be a policy name (string), got ${JSON.stringify(value)}`);
      return undefined;
    }
    return value;
  }
  section(value: unknown, path: string): Obj {
    if (value === undefined || value === null) return {};
    if (!isObj(value)) {
      this.problem(path, 'must be a map');
      return {};
    }
    return value;
  }
}

function parseRetry(c: Collector, raw: unknown, path: string): RetrySpec | undefined {
  if (!isObj(raw)) {
    c.problem(path, 'must be a map with policy, duration, maxInterval, maxRetries, matching');
    return undefined;
  }
  c.unknownKeys(raw, path, ['policy', 'duration', 'maxInterval', 'maxRetries', 'matching']);
  let policy: RetrySpec['policy'] = 'constant';
  if (raw.policy !== undefined && raw.policy !== null && raw.policy !== '') {
    const p = typeof raw.policy === 'string' ? raw.policy.toLowerCase() : '';
    if (p === 'constant' || p === 'exponential') policy = p;
    else
      c.problem(`${path}.policy`, `must be "constant" or "exponential", got ${JSON.stringify(raw.policy)}`);
  }
  let matching: StatusCodeMatcher | undefined;
  if (raw.matching !== undefined && raw.matching !== null) {
    const m = c.section(raw.matching, `${path}.matching`);
    c.unknownKeys(m, `${path}.matching`, ['httpStatusCodes', 'gRPCStatusCodes']);
    const lists: (readonly { start: number; end: number }[] | undefined)[] = [];
    for (const [field, valid] of [
      ['httpStatusCodes', HTTP_CODES],
      ['gRPCStatusCodes', GRPC_CODES],
    ] as const) {
      const value = m[field];
      if (value === undefined || value === null) {
        lists.push(undefined);
        continue;
      }
      const parsed = parseCodeRanges(
        typeof value === 'number' ? String(value) : typeof value === 'string' ? value : '\u0000',
        valid,
      );
      if (typeof parsed === 'string') {
        c.problem(`${path}.matching.${field}`, parsed);
        lists.push(undefined);
      } else lists.push(parsed);
    }
    matching = new StatusCodeMatcher(lists[0], lists[1]);
  }
  return Object.freeze({
    policy,
    durationMs: c.duration(raw.duration, `${path}.duration`, 5000),
    initialIntervalMs: 500,
    maxIntervalMs: c.duration(raw.maxInterval, `${path}.maxInterval`, 60_000),
    maxElapsedMs: 15 * 60_000,
    maxRetries: c.integer(raw.maxRetries, `${path}.maxRetries`, -1, -1),
    matching,
  });
}

function parseBreaker(c: Collector, raw: unknown, path: string): CircuitBreakerSpec | undefined {
  if (!isObj(raw)) {
    c.problem(path, 'must be a map with maxRequests, interval, timeout, trip');
    return undefined;
  }
  c.unknownKeys(raw, path, ['maxRequests', 'interval', 'timeout', 'trip']);
  let trip: TripExpression | undefined;
  if (raw.trip !== undefined && raw.trip !== null && raw.trip !== '') {
    if (typeof raw.trip !== 'string')
      c.problem(`${path}.trip`, `must be a CEL expression string, got ${JSON.stringify(raw.trip)}`);
    else {
      try {
        trip = TripExpression.compile(raw.trip);
      } catch (err) {
        if (!(err instanceof TripExpressionError)) throw err;
        c.problem(`${path}.trip`, err.message);
      }
    }
  }
  return Object.freeze({
    maxRequests: c.integer(raw.maxRequests, `${path}.maxRequests`, 0, 0),
    intervalMs: c.duration(raw.interval, `${path}.interval`, 0),
    timeoutMs: c.duration(raw.timeout, `${path}.timeout`, 0),
    trip,
  });
}

function policyNames(c: Collector, raw: Obj, path: string): PolicyNames {
  const out: { timeout?: string; retry?: string; circuitBreaker?: string } = {};
  const timeout = c.name(raw.timeout, `${path}.timeout`);
  const retry = c.name(raw.retry, `${path}.retry`);
  const circuitBreaker = c.name(raw.circuitBreaker, `${path}.circuitBreaker`);
  if (timeout !== undefined) out.timeout = timeout;
  if (retry !== undefined) out.retry = retry;
  if (circuitBreaker !== undefined) out.circuitBreaker = circuitBreaker;
  return Object.freeze(out);
}

/** Validates one raw resource (as parsed from YAML or JSON). `index` names resources without a name. */
export function parseResiliencyResource(raw: unknown, index = 0): ParsedResource {
  const meta = isObj(raw) && isObj(raw.metadata) ? raw.metadata : {};
  const name = typeof meta.name === 'string' && meta.name !== '' ? meta.name : `#${index}`;
  const c = new Collector(name);
  if (!isObj(raw)) {
    c.problem('', 'must be a map');
    return { spec: undefined, problems: c.problems, warnings: c.warnings };
  }
  if (raw.apiVersion !== 'dapr.io/v1alpha1')
    c.problem('apiVersion', `must be "dapr.io/v1alpha1", got ${JSON.stringify(raw.apiVersion)}`);
  if (raw.kind !== 'Resiliency') c.problem('kind', `must be "Resiliency", got ${JSON.stringify(raw.kind)}`);
  if (typeof meta.name !== 'string' || meta.name === '') c.problem('metadata.name', 'is required');
  const namespace = typeof meta.namespace === 'string' ? meta.namespace : '';
  let scopes: string[] = [];
  if (raw.scopes !== undefined && raw.scopes !== null) {
    if (!Array.isArray(raw.scopes) || raw.scopes.some((s) => typeof s !== 'string'))
      c.problem('scopes', 'must be a list of app ids');
    else scopes = raw.scopes as string[];
  }
  if (!isObj(raw.spec)) {
    c.problem('spec', 'is required and must be a map');
    return { spec: undefined, problems: c.problems, warnings: c.warnings };
  }
  c.unknownKeys(raw.spec, 'spec', ['policies', 'targets']);
  if (!isObj(raw.spec.policies)) c.problem('spec.policies', 'is required and must be a map');
  const policies = c.section(raw.spec.policies, 'spec.policies');
  const targets = c.section(raw.spec.targets, 'spec.targets');
  c.unknownKeys(policies, 'spec.policies', ['timeouts', 'retries', 'circuitBreakers']);
  c.unknownKeys(targets, 'spec.targets', ['apps', 'actors', 'components']);

  const timeouts = new Map<string, number>();
  for (const [n, v] of Object.entries(c.section(policies.timeouts, 'spec.policies.timeouts'))) {
    const path = `spec.policies.timeouts.${n}`;
    if (v === undefined || v === null || v === '') {
      c.problem(path, 'must be a duration like "5s"');
      continue;
    }
    timeouts.set(n, c.duration(v, path, 0));
  }
  const retries = new Map<string, RetrySpec>();
  for (const [n, v] of Object.entries(c.section(policies.retries, 'spec.policies.retries'))) {
    const spec = parseRetry(c, v, `spec.policies.retries.${n}`);
    if (spec) retries.set(n, spec);
  }
  const circuitBreakers = new Map<string, CircuitBreakerSpec>();
  for (const [n, v] of Object.entries(c.section(policies.circuitBreakers, 'spec.policies.circuitBreakers'))) {
    const spec = parseBreaker(c, v, `spec.policies.circuitBreakers.${n}`);
    if (spec) circuitBreakers.set(n, spec);
  }

  const apps = new Map<string, AppTargetSpec>();
  for (const [id, v] of Object.entries(c.section(targets.apps, 'spec.targets.apps'))) {
    const path = `spec.targets.apps.${id}`;
    const t = c.section(v, path);
    c.unknownKeys(t, path, ['timeout', 'retry', 'circuitBreaker', 'circuitBreakerCacheSize']);
    apps.set(
      id,
      Object.freeze({
        ...policyNames(c, t, path),
        circuitBreakerCacheSize:
          c.integer(t.circuitBreakerCacheSize, `${path}.circuitBreakerCacheSize`, 0, 0) ||
          DEFAULT_APP_CACHE_SIZE,
      }),
    );
  }
  const actors = new Map<string, ActorTargetSpec>();
  for (const [type, v] of Object.entries(c.section(targets.actors, 'spec.targets.actors'))) {
    const path = `spec.targets.actors.${type}`;
    const t = c.section(v, path);
    c.unknownKeys(t, path, [
      'timeout',
      'retry',
      'circuitBreaker',
      'circuitBreakerScope',
      'circuitBreakerCacheSize',
    ]);
    const names = policyNames(c, t, path);
    let scope: ActorBreakerScope | undefined;
    if (
      t.circuitBreakerScope !== undefined &&
      t.circuitBreakerScope !== null &&
      t.circuitBreakerScope !== ''
    ) {
      if (
        t.circuitBreakerScope === 'id' ||
        t.circuitBreakerScope === 'type' ||
        t.circuitBreakerScope === 'both'
      )
        scope = t.circuitBreakerScope;
      else
        c.problem(
          `${path}.circuitBreakerScope`,
          `must be "id", "type" or "both", got ${JSON.stringify(t.circuitBreakerScope)}`,
        );
    } else if (names.circuitBreaker !== undefined) {
      c.problem(
        `${path}.circuitBreakerScope`,
        'is required when circuitBreaker is set (actor circuit breakers must include scope)',
      );
    }
    actors.set(
      type,
      Object.freeze({
        ...names,
        circuitBreakerScope: scope,
        circuitBreakerCacheSize:
          c.integer(t.circuitBreakerCacheSize, `${path}.circuitBreakerCacheSize`, 0, 0) ||
          DEFAULT_ACTOR_CACHE_SIZE,
      }),
    );
  }
  const components = new Map<string, ComponentTargetSpec>();
  for (const [compName, v] of Object.entries(c.section(targets.components, 'spec.targets.components'))) {
    const path = `spec.targets.components.${compName}`;
    const t = c.section(v, path);
    c.unknownKeys(t, path, ['inbound', 'outbound']);
    const inbound = c.section(t.inbound, `${path}.inbound`);
    const outbound = c.section(t.outbound, `${path}.outbound`);
    c.unknownKeys(inbound, `${path}.inbound`, ['timeout', 'retry', 'circuitBreaker']);
    c.unknownKeys(outbound, `${path}.outbound`, ['timeout', 'retry', 'circuitBreaker']);
    components.set(
      compName,
      Object.freeze({
        inbound: policyNames(c, inbound, `${path}.inbound`),
        outbound: policyNames(c, outbound, `${path}.outbound`),
      }),
    );
  }

  const spec: ResiliencySpec = Object.freeze({
    name,
    namespace,
    scopes: Object.freeze(scopes),
    timeouts,
    retries,
    circuitBreakers,
    apps,
    actors,
    components,
  });
  return { spec, problems: c.problems, warnings: c.warnings };
}
