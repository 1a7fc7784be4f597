import { isObj, type Obj, type ProblemSink } from './problems.js';

/** `spec.secrets.scopes[]` entry. */
export interface SecretScopeSpec {
  readonly storeName: string;
  readonly defaultAccess: 'allow' | 'deny';
  readonly allowedSecrets: readonly string[];
  readonly deniedSecrets: readonly string[];
}

/** `spec.accessControl.policies[].operations[]`. */
export interface AccessOperation {
  readonly name: string;
  readonly httpVerb: readonly string[];
  readonly action: 'allow' | 'deny';
}

/** `spec.accessControl.policies[]`. */
export interface AccessPolicy {
  readonly appId: string;
  readonly defaultAction: 'allow' | 'deny';
  readonly trustDomain: string;
  readonly namespace: string;
  readonly operations: readonly AccessOperation[];
}

/** `spec.accessControl`. */
export interface AccessControlSpec {
  readonly defaultAction: 'allow' | 'deny';
  readonly trustDomain: string;
  readonly policies: readonly AccessPolicy[];
}

/** `spec.api.allowed[]` / `denied[]` entry. */
export interface ApiRule {
  readonly name: string;
  readonly version: string;
  /** `http`, `grpc` or empty for both. */
  readonly protocol: string;
}

/** `spec.tracing`. */
export interface TracingSpec {
  /** Parsed `samplingRate`; daprd treats empty/unparsable as 1e-4. */
  readonly samplingRate: number;
  readonly stdout: boolean;
  readonly zipkinEndpoint?: string;
  readonly otel?: {
    readonly endpointAddress: string;
    readonly protocol: 'http' | 'grpc';
    readonly isSecure: boolean;
    /** `headers`: `key=value` pairs separated by commas. */
    readonly headers?: string;
    /** `timeout` in milliseconds (daprd: 10000). */
    readonly timeoutMs?: number;
  };
}

/** `spec.metric` (or `spec.metrics`). */
export interface MetricSpec {
  readonly enabled: boolean;
  readonly recordErrorCodes: boolean;
  /** `http.increasedCardinality` (daprd's default: true). */
  readonly increasedCardinality: boolean;
  readonly pathMatching: readonly string[];
  readonly excludeVerbs: boolean;
  readonly latencyDistributionBuckets: readonly number[];
  /** `rules`: label values rewritten per metric. */
  readonly rules: readonly MetricRuleSpec[];
}

/** One `spec.metrics.rules[]` entry: a metric's labels whose values a pattern rewrites. */
export interface MetricRuleSpec {
  /** The metric's Prometheus name, e.g. `dapr_runtime_service_invocation_req_sent_total`. */
  readonly name: string;
  readonly labels: readonly {
    readonly name: string;
    /** Replacement → regular expression; a value the expression matches becomes the replacement. */
    readonly regex: readonly (readonly [string, RegExp])[];
  }[];
}

/** A parsed `Configuration` resource. */
export interface ConfigurationResource {
  readonly kind: 'Configuration';
  readonly name: string;
  readonly secretScopes: readonly SecretScopeSpec[];
  /** Names of `spec.features[]` with `enabled: true`. */
  readonly enabledFeatures: readonly string[];
  readonly accessControl?: AccessControlSpec;
  readonly apiAllowed: readonly ApiRule[];
  readonly apiDenied: readonly ApiRule[];
  readonly tracing?: TracingSpec;
  readonly metric: MetricSpec;
  /** `spec.logging.apiLogging.enabled`, when given. */
  readonly apiLoggingEnabled?: boolean;
  readonly apiLoggingOmitHealthChecks: boolean;
  /** `spec.logging.apiLogging.obfuscateURLs`: API log lines name the endpoint, not the URL. */
  readonly apiLoggingObfuscateUrls: boolean;
  /** `spec.components.deny[]`: component types (`state.redis`) or type/version (`state.redis/v1`) not to load. */
  readonly deniedComponents: readonly string[];
  /** The whole `spec` as written, for building blocks that read more of it later. */
  readonly spec: Obj;
  readonly source: string;
}

function action(
  sink: ProblemSink,
  obj: Obj,
  key: string,
  path: string,
  def: 'allow' | 'deny',
): 'allow' | 'deny' {
  const v = sink.str(obj, key, path);
  if (v === undefined) return def;
  const lower = v.toLowerCase();
  if (lower === 'allow' || lower === 'deny') return lower;
  sink.add(path, `must be allow or deny, got "${v}"`);
  return def;
}

function readApiRules(sink: ProblemSink, api: Obj, key: string): ApiRule[] {
  const out: ApiRule[] = [];
  sink.arr(api, key, `spec.api.${key}`).forEach((v, i) => {
    const path = `spec.api.${key}[${i}]`;
    if (!isObj(v)) {
      sink.add(path, 'must be an object with name and version');
      return;
    }
    const name = sink.str(v, 'name', `${path}.name`, true);
    const version = sink.str(v, 'version', `${path}.version`, true);
    const protocol = (sink.str(v, 'protocol', `${path}.protocol`) ?? '').toLowerCase();
    if (protocol !== '' && protocol !== 'http' && protocol !== 'grpc')
      sink.add(`${path}.protocol`, 'must be http or grpc');
    if (name !== undefined && version !== undefined) out.push({ name, version, protocol });
  });
  return out;
}

function readAccessControl(sink: ProblemSink, ac: Obj): AccessControlSpec {
  const policies: AccessPolicy[] = [];
  const trustDomain = sink.str(ac, 'trustDomain', 'spec.accessControl.trustDomain') ?? 'public';
  sink.arr(ac, 'policies', 'spec.accessControl.policies').forEach((p, i) => {
    const path = `spec.accessControl.policies[${i}]`;
    if (!isObj(p)) {
      sink.add(path, 'must be an object');
      return;
    }
    const operations: AccessOperation[] = [];
    sink.arr(p, 'operations', `${path}.operations`).forEach((o, j) => {
      const opPath = `${path}.operations[${j}]`;
      if (!isObj(o)) {
        sink.add(opPath, 'must be an object');
        return;
      }
      const name = sink.str(o, 'name', `${opPath}.name`, true);
      const verbs = sink.strings(o, 'httpVerb', `${opPath}.httpVerb`);
      const act = action(sink, o, 'action', `${opPath}.action`, 'deny');
      if (name !== undefined) operations.push({ name, httpVerb: verbs, action: act });
    });
    const appId = sink.str(p, 'appId', `${path}.appId`, true);
    if (appId === undefined) return;
    policies.push({
      appId,
      defaultAction: action(sink, p, 'defaultAction', `${path}.defaultAction`, 'deny'),
      trustDomain: sink.str(p, 'trustDomain', `${path}.trustDomain`) ?? trustDomain,
      namespace: sink.str(p, 'namespace', `${path}.namespace`) ?? '',
      operations,
    });
  });
  return {
    defaultAction: action(sink, ac, 'defaultAction', 'spec.accessControl.defaultAction', 'allow'),
    trustDomain,
    policies,
  };
}

function readTracing(sink: ProblemSink, t: Obj): TracingSpec {
  const rawRate = t.samplingRate;
  const rate = typeof rawRate === 'number' ? rawRate : Number.parseFloat(String(rawRate ?? ''));
  const zipkin = sink.obj(t, 'zipkin', 'spec.tracing.zipkin');
  const otel = sink.obj(t, 'otel', 'spec.tracing.otel');
  const zipkinEndpoint =
    zipkin === undefined
      ? undefined
      : sink.str(zipkin, 'endpointAddress', 'spec.tracing.zipkin.endpointAddress');
  let otelSpec: TracingSpec['otel'];
  if (otel !== undefined) {
    const endpointAddress =
      sink.str(otel, 'endpointAddress', 'spec.tracing.otel.endpointAddress', true) ?? '';
    const protocol = (sink.str(otel, 'protocol', 'spec.tracing.otel.protocol') ?? 'http').toLowerCase();
    if (protocol !== 'http' && protocol !== 'grpc')
      sink.add('spec.tracing.otel.protocol', 'must be http or grpc');
    const headers = sink.str(otel, 'headers', 'spec.tracing.otel.headers');
    const timeout = otel.timeout;
    if (timeout !== undefined && (typeof timeout !== 'number' || !Number.isInteger(timeout) || timeout <= 0))
      sink.add('spec.tracing.otel.timeout', 'must be a positive whole number of milliseconds');
    otelSpec = {
      endpointAddress,
      protocol: protocol === 'grpc' ? 'grpc' : 'http',
      isSecure: sink.bool(otel, 'isSecure', 'spec.tracing.otel.isSecure') ?? true,
      ...(headers === undefined || headers === '' ? {} : { headers }),
      ...(typeof timeout === 'number' && Number.isInteger(timeout) && timeout > 0
        ? { timeoutMs: timeout }
        : {}),
    };
  }
  return {
    samplingRate: Number.isFinite(rate) ? rate : 1e-4,
    stdout: sink.bool(t, 'stdout', 'spec.tracing.stdout') ?? false,
    ...(zipkinEndpoint === undefined ? {} : { zipkinEndpoint }),
    ...(otelSpec === undefined ? {} : { otel: otelSpec }),
  };
}

function readMetric(sink: ProblemSink, spec: Obj): MetricSpec {
  const key = spec.metric !== undefined ? 'metric' : 'metrics';
  const m = sink.obj(spec, key, `spec.${key}`) ?? {};
  const http = sink.obj(m, 'http', `spec.${key}.http`) ?? {};
  const buckets: number[] = [];
  sink.arr(m, 'latencyDistributionBuckets', `spec.${key}.latencyDistributionBuckets`).forEach((b, i) => {
    if (typeof b === 'number' && b > 0) buckets.push(b);
    else sink.add(`spec.${key}.latencyDistributionBuckets[${i}]`, 'must be a positive number');
  });
  const rules: MetricRuleSpec[] = [];
  sink.arr(m, 'rules', `spec.${key}.rules`).forEach((r, i) => {
    const path = `spec.${key}.rules[${i}]`;
    if (!isObj(r)) {
      sink.add(path, 'must be an object');
      return;
    }
    const name = sink.str(r, 'name', `${path}.name`, true);
    const labels: MetricRuleSpec['labels'][number][] = [];
    sink.arr(r, 'labels', `${path}.labels`).forEach((l, j) => {
      const lpath = `${path}.labels[${j}]`;
      if (!isObj(l)) {
        sink.add(lpath, 'must be an object');
        return;
      }
      const label = sink.str(l, 'name', `${lpath}.name`, true);
      const regex: [string, RegExp][] = [];
      for (const [replacement, pattern] of Object.entries(sink.obj(l, 'regex', `${lpath}.regex`) ?? {})) {
        try {
          if (typeof pattern !== 'string') throw new Error('must be a string');
          regex.push([replacement, new RegExp(pattern)]);
        } catch (err) {
          sink.add(
            `${lpath}.regex.${replacement}`,
            `not a valid regular expression: ${(err as Error).message}`,
          );
        }
      }
      if (label !== undefined) labels.push({ name: label, regex });
    });
    if (name !== undefined) rules.push({ name, labels });
  });
  return {
    enabled: sink.bool(m, 'enabled', `spec.${key}.enabled`) ?? true,
    recordErrorCodes: sink.bool(m, 'recordErrorCodes', `spec.${key}.recordErrorCodes`) ?? false,
    increasedCardinality:
      sink.bool(http, 'increasedCardinality', `spec.${key}.http.increasedCardinality`) ?? true,
    pathMatching: sink.strings(http, 'pathMatching', `spec.${key}.http.pathMatching`),
    excludeVerbs: sink.bool(http, 'excludeVerbs', `spec.${key}.http.excludeVerbs`) ?? false,
    latencyDistributionBuckets: buckets,
    rules,
  };
}

/** Reads a Configuration document. */
export function readConfiguration(doc: Obj, name: string, sink: ProblemSink): ConfigurationResource {
  const spec = sink.obj(doc, 'spec', 'spec') ?? {};
  const secretScopes: SecretScopeSpec[] = [];
  const secrets = sink.obj(spec, 'secrets', 'spec.secrets');
  if (secrets !== undefined) {
    sink.arr(secrets, 'scopes', 'spec.secrets.scopes').forEach((s, i) => {
      const path = `spec.secrets.scopes[${i}]`;
      if (!isObj(s)) {
        sink.add(path, 'must be an object');
        return;
      }
      const storeName = sink.str(s, 'storeName', `${path}.storeName`, true);
      if (storeName === undefined) return;
      secretScopes.push({
        storeName,
        defaultAccess: action(sink, s, 'defaultAccess', `${path}.defaultAccess`, 'allow'),
        allowedSecrets: sink.strings(s, 'allowedSecrets', `${path}.allowedSecrets`),
        deniedSecrets: sink.strings(s, 'deniedSecrets', `${path}.deniedSecrets`),
      });
    });
  }
  const enabledFeatures: string[] = [];
  sink.arr(spec, 'features', 'spec.features').forEach((ft, i) => {
    if (!isObj(ft)) {
      sink.add(`spec.features[${i}]`, 'must be an object with name and enabled');
      return;
    }
    const ftName = sink.str(ft, 'name', `spec.features[${i}].name`, true);
    if (ftName !== undefined && sink.bool(ft, 'enabled', `spec.features[${i}].enabled`) === true)
      enabledFeatures.push(ftName);
  });
  const api = sink.obj(spec, 'api', 'spec.api') ?? {};
  const ac = sink.obj(spec, 'accessControl', 'spec.accessControl');
  const tracing = sink.obj(spec, 'tracing', 'spec.tracing');
  const logging = sink.obj(spec, 'logging', 'spec.logging') ?? {};
  const apiLogging = sink.obj(logging, 'apiLogging', 'spec.logging.apiLogging') ?? {};
  const apiLoggingEnabled = sink.bool(apiLogging, 'enabled', 'spec.logging.apiLogging.enabled');
  return {
    kind: 'Configuration',
    name,
    secretScopes,
    enabledFeatures,
    ...(ac === undefined ? {} : { accessControl: readAccessControl(sink, ac) }),
    apiAllowed: readApiRules(sink, api, 'allowed'),
    apiDenied: readApiRules(sink, api, 'denied'),
    ...(tracing === undefined ? {} : { tracing: readTracing(sink, tracing) }),
    metric: readMetric(sink, spec),
    ...(apiLoggingEnabled === undefined ? {} : { apiLoggingEnabled }),
    apiLoggingOmitHealthChecks:
      sink.bool(apiLogging, 'omitHealthChecks', 'spec.logging.apiLogging.omitHealthChecks') ?? false,
    apiLoggingObfuscateUrls:
      sink.bool(apiLogging, 'obfuscateURLs', 'spec.logging.apiLogging.obfuscateURLs') ?? false,
    deniedComponents: sink.strings(
      sink.obj(spec, 'components', 'spec.components') ?? {},
      'deny',
      'spec.components.deny',
    ),
    spec,
    source: sink.file,
  };
}

/** The configuration daprd uses when none is given (metrics on, access control allow). */
export function defaultConfiguration(): ConfigurationResource {
  return {
    kind: 'Configuration',
    name: 'default',
    secretScopes: [],
    enabledFeatures: [],
    apiAllowed: [],
    apiDenied: [],
    metric: {
      enabled: true,
      recordErrorCodes: false,
      increasedCardinality: true,
      pathMatching: [],
      excludeVerbs: false,
      latencyDistributionBuckets: [],
      rules: [],
    },
    apiLoggingOmitHealthChecks: false,
    apiLoggingObfuscateUrls: false,
    deniedComponents: [],
    spec: {},
    source: '(default)',
  };
}
