import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import { parseDuration } from '../components/metadata-schema.js';
import { LOG_LEVELS, type LogLevel } from '../observability/logger.js';
import { FLAGS } from './flag-table.js';
import {
  APP_PROTOCOLS,
  type AppProtocol,
  type FlagParseResult,
  type Options,
  type RuntimeMode,
} from './options.js';
import { parseByteQuantity } from './quantity.js';

/**
 * `outriggerd` flags: daprd's names and defaults (dapr/dapr cmd/daprd/options/options.go, plus the
 * logger and metrics flags from dapr/kit). daprd parses with Go-style flags, so `-app-id x`,
 * `--app-id x`, `--app-id=x` all work, and booleans take `--flag`, `--flag=false`.
 * Every problem is reported at once; the result is frozen.
 */

const BY_NAME = new Map(FLAGS.map((spec) => [spec.name, spec]));
const GO_BOOL_TRUE = new Set(['1', 't', 'T', 'true', 'TRUE', 'True']);
const GO_BOOL_FALSE = new Set(['0', 'f', 'F', 'false', 'FALSE', 'False']);

/** Machine facts the default internal gRPC port depends on (injectable for tests). */
export interface MachineFacts {
  readonly cwd: string;
  readonly uid: number;
  readonly hostname: string;
}

/** daprd's "stable random" port: start + 11 bits of sha256(appId|cwd|uid|hostname), i.e. start..start+2047. */
export function stablePort(start: number, appId: string, machine: MachineFacts): number {
  const digest = createHash('sha256')
    .update([appId, machine.cwd, String(machine.uid), machine.hostname].join('|'))
    .digest();
  return start + (digest[0] ?? 0) + (((digest[1] ?? 0) >> 5) << 8);
}

/** Where daprd starts the stable internal gRPC port range. */
export const INTERNAL_GRPC_PORT_START = 47300;

function currentMachine(): MachineFacts {
  return {
    cwd: process.cwd(),
    uid: typeof process.getuid === 'function' ? process.getuid() : 0,
    hostname: hostname(),
  };
}

/** Raw values collected from argv: last one wins for scalars, lists accumulate. */
type RawValues = Map<string, string[]>;

function collect(argv: readonly string[], errors: string[]): RawValues {
  const raw: RawValues = new Map();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg === '--') {
      if (i + 1 < argv.length) errors.push(`unexpected arguments after "--": ${argv.slice(i + 1).join(' ')}`);
      break;
    }
    if (!arg.startsWith('-') || arg === '-') {
      errors.push(`unexpected argument "${arg}" (flags start with - or --)`);
      continue;
    }
    const body = arg.startsWith('--') ? arg.slice(2) : arg.slice(1);
    const eq = body.indexOf('=');
    const name = eq === -1 ? body : body.slice(0, eq);
    const spec = BY_NAME.get(name === 'h' ? 'help' : name);
    if (spec === undefined) {
      errors.push(`unknown flag: ${arg.startsWith('--') ? '--' : '-'}${name}`);
      continue;
    }
    let value: string;
    if (eq !== -1) value = body.slice(eq + 1);
    else if (spec.type === 'bool') {
      // Go's flag package needs `--flag=false`; we also take a following literal true/false.
      const next = argv[i + 1];
      if (next !== undefined && (GO_BOOL_TRUE.has(next) || GO_BOOL_FALSE.has(next))) {
        value = next;
        i++;
      } else value = 'true';
    } else {
      const next = argv[i + 1];
      if (next === undefined) {
        errors.push(`flag needs an argument: --${spec.name}`);
        continue;
      }
      value = next;
      i++;
    }
    const list = raw.get(spec.name) ?? [];
    list.push(value);
    raw.set(spec.name, list);
  }
  return raw;
}

/** Typed accessors over the raw values, recording every bad value. */
class Reader {
  constructor(
    private readonly raw: RawValues,
    private readonly errors: string[],
  ) {}

  has(name: string): boolean {
    return this.raw.has(name);
  }
  last(name: string): string | undefined {
    const values = this.raw.get(name);
    return values === undefined ? undefined : values[values.length - 1];
  }
  string(name: string, def: string): string {
    return this.last(name) ?? def;
  }
  optString(name: string): string | undefined {
    const v = this.last(name);
    return v === undefined || v === '' ? undefined : v;
  }
  list(name: string): string[] {
    const spec = BY_NAME.get(name);
    const values = this.raw.get(name) ?? [];
    const out = spec?.csv === true ? values.flatMap((v) => v.split(',')) : values;
    return out.map((v) => v.trim()).filter((v) => v !== '');
  }
  bool(name: string, def: boolean): boolean {
    const v = this.last(name);
    if (v === undefined) return def;
    if (GO_BOOL_TRUE.has(v)) return true;
    if (GO_BOOL_FALSE.has(v)) return false;
    this.errors.push(`invalid value "${v}" for flag --${name}: must be true or false`);
    return def;
  }
  int(name: string, def: number, min?: number, max?: number): number {
    const v = this.last(name);
    if (v === undefined) return def;
    return this.#checkInt(name, v, min, max) ?? def;
  }
  optInt(name: string, min?: number, max?: number): number | undefined {
    const v = this.last(name);
    if (v === undefined || v === '') return undefined;
    return this.#checkInt(name, v, min, max);
  }
  #checkInt(name: string, v: string, min?: number, max?: number): number | undefined {
    const n = /^[+-]?\d+$/.test(v.trim()) ? Number(v.trim()) : Number.NaN;
    if (!Number.isSafeInteger(n)) {
      this.errors.push(`invalid value "${v}" for flag --${name}: must be an integer`);
      return undefined;
    }
    if ((min !== undefined && n < min) || (max !== undefined && n > max)) {
      const range = max === undefined ? `>= ${min}` : `between ${min} and ${max}`;
      this.errors.push(`invalid value "${v}" for flag --${name}: must be ${range}`);
      return undefined;
    }
    return n;
  }
  oneOf<T extends string>(name: string, values: readonly T[], def: T): T {
    const v = this.last(name);
    if (v === undefined) return def;
    if ((values as readonly string[]).includes(v)) return v as T;
    this.errors.push(`invalid value "${v}" for flag --${name}: must be one of ${values.join(', ')}`);
    return def;
  }
}

const PORT_MAX = 65535;

/**
 * A size flag with daprd's pair of spellings: the quantity flag (`--max-body-size 4Mi`) wins over
 * the legacy integer one in `legacyUnit` bytes (`--dapr-http-max-request-size 4`, in MB).
 */
function sizeFlag(
  r: Reader,
  errors: string[],
  spec: {
    readonly flag: string;
    readonly legacy: string;
    readonly legacyUnit: number;
    readonly defaultBytes: number;
    readonly examples: string;
  },
): number {
  if (r.has(spec.flag)) {
    const text = r.string(spec.flag, '');
    const bytes = parseByteQuantity(text);
    if (bytes !== undefined) return bytes;
    errors.push(
      `invalid value "${text}" for flag --${spec.flag}: must be a size like ${spec.examples} or a number of bytes`,
    );
    return spec.defaultBytes;
  }
  if (r.has(spec.legacy)) {
    return r.int(spec.legacy, spec.defaultBytes / spec.legacyUnit, 0) * spec.legacyUnit;
  }
  return spec.defaultBytes;
}

/** `--read-buffer-size` / `--dapr-http-read-buffer-size` (KB): daprd's default is 4 KiB. */
function readBufferBytes(r: Reader, errors: string[]): number {
  return sizeFlag(r, errors, {
    flag: 'read-buffer-size',
    legacy: 'dapr-http-read-buffer-size',
    legacyUnit: 2 ** 10,
    defaultBytes: 4 << 10,
    examples: '4Ki, 16Ki, 1Mi',
  });
}

/** `--max-body-size` / `--dapr-http-max-request-size` (MB): daprd's default is 4 MiB. */
function maxBodyBytes(r: Reader, errors: string[]): number {
  return sizeFlag(r, errors, {
    flag: 'max-body-size',
    legacy: 'dapr-http-max-request-size',
    legacyUnit: 2 ** 20,
    defaultBytes: 4 << 20,
    examples: '4Mi, 512Ki, 16M',
  });
}

/** `--app-protocol`, with daprd's conversion of the legacy `--app-ssl` (http → https, grpc → grpcs). */
function appProtocol(r: Reader): AppProtocol {
  const protocol = r.oneOf<AppProtocol>('app-protocol', APP_PROTOCOLS, 'http');
  if (!r.bool('app-ssl', false)) return protocol;
  if (protocol === 'http') return 'https';
  if (protocol === 'grpc') return 'grpcs';
  return protocol;
}

/** `--dapr-block-shutdown-duration`, a Go duration (`10s`, `1m`). */
function blockShutdown(r: Reader, errors: string[]): { blockShutdownMs?: number } {
  const text = r.optString('dapr-block-shutdown-duration');
  if (text === undefined) return {};
  const ms = parseDuration(text);
  if (ms === undefined || ms < 0) {
    errors.push(
      `invalid value "${text}" for flag --dapr-block-shutdown-duration: must be a duration like 10s or 1m`,
    );
    return {};
  }
  return { blockShutdownMs: ms };
}

function logLevel(r: Reader): LogLevel {
  const level = r.oneOf('log-level', [...LOG_LEVELS, 'fatal'] as const, 'info');
  return level === 'fatal' ? 'error' : level;
}

function buildOptions(
  r: Reader,
  env: Readonly<Record<string, string | undefined>>,
  machine: MachineFacts,
  errors: string[],
): Options {
  const appId = r.string('app-id', '').trim();
  if (appId === '') errors.push('--app-id is required');
  else if (appId.includes('.'))
    errors.push(`invalid value "${appId}" for flag --app-id: app ids cannot contain dots`);
  const appPort = r.optInt('app-port', 1, PORT_MAX);
  const publicPort = r.optInt('dapr-public-port', 1, PORT_MAX);
  const internal = r.optInt('dapr-internal-grpc-port', 1, PORT_MAX);
  const apiToken = env.DAPR_API_TOKEN;
  const appApiToken = env.APP_API_TOKEN;
  const namespace =
    r.optString('namespace') ??
    (env.NAMESPACE === undefined || env.NAMESPACE === '' ? 'default' : env.NAMESPACE);
  const publicListen = r.optString('dapr-public-listen-address');
  const internalListen = r.optString('dapr-internal-grpc-listen-address');
  const unixDomainSocket = r.optString('unix-domain-socket');
  const metricsListen = r.optString('metrics-listen-address');
  const sentry = r.optString('sentry-address');
  const controlPlane = r.optString('control-plane-address');
  const trustAnchorsFile = r.optString('trust-anchors-file') || env.DAPR_TRUST_ANCHORS_FILE;
  const kubeconfig = r.optString('kubeconfig');
  const placement = r.optString('placement-host-address');
  const enableApiLogging = r.has('enable-api-logging') ? r.bool('enable-api-logging', false) : undefined;
  const schedulerFromEnv = env.DAPR_SCHEDULER_HOST_ADDRESS;
  const scheduler = r.has('scheduler-host-address')
    ? r.list('scheduler-host-address')
    : (schedulerFromEnv ?? '')
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== '');
  const options: Options = {
    appId,
    ...(appPort === undefined ? {} : { appPort }),
    appProtocol: appProtocol(r),
    appChannelAddress: r.string('app-channel-address', '127.0.0.1'),
    daprHttpPort: r.int('dapr-http-port', 3500, 1, PORT_MAX),
    daprGrpcPort: r.int('dapr-grpc-port', 50001, 1, PORT_MAX),
    daprInternalGrpcPort: internal ?? stablePort(INTERNAL_GRPC_PORT_START, appId, machine),
    daprInternalGrpcPortIsStable: internal === undefined,
    ...(unixDomainSocket === undefined || unixDomainSocket === '' ? {} : { unixDomainSocket }),
    ...(internalListen === undefined || internalListen === ''
      ? {}
      : { daprInternalGrpcListenAddress: internalListen }),
    ...(publicPort === undefined ? {} : { daprPublicPort: publicPort }),
    ...(publicListen === undefined ? {} : { daprPublicListenAddress: publicListen }),
    metricsPort: r.int('metrics-port', 9090, 1, PORT_MAX),
    ...(metricsListen === undefined ? {} : { metricsListenAddress: metricsListen }),
    enableMetrics: r.bool('enable-metrics', true),
    listenAddresses: r
      .string('dapr-listen-addresses', '')
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== ''),
    resourcesPaths: [...r.list('resources-path'), ...r.list('components-path')],
    configPaths: r.list('config'),
    mode: r.oneOf<RuntimeMode>('mode', ['standalone', 'kubernetes'], 'standalone'),
    logLevel: logLevel(r),
    logAsJson: r.bool('log-as-json', false),
    ...(enableApiLogging === undefined ? {} : { enableApiLogging }),
    appMaxConcurrency: r.int('app-max-concurrency', -1, -1),
    maxBodyBytes: maxBodyBytes(r, errors),
    readBufferBytes: readBufferBytes(r, errors),
    allowedOrigins: r.string('allowed-origins', '*'),
    disableBuiltinK8sSecretStore: r.bool('disable-builtin-k8s-secret-store', false),
    enableProfiling: r.bool('enable-profiling', false),
    profilePort: r.int('profile-port', 7777, 1, PORT_MAX),
    gracefulShutdownMs: r.int('dapr-graceful-shutdown-seconds', 5, 0) * 1000,
    ...blockShutdown(r, errors),
    appHealth: {
      enabled: r.bool('enable-app-health-check', false),
      path: r.string('app-health-check-path', '/healthz'),
      probeIntervalMs: r.int('app-health-probe-interval', 5, 1) * 1000,
      probeTimeoutMs: r.int('app-health-probe-timeout', 500, 1),
      threshold: r.int('app-health-threshold', 3, 1),
    },
    enableMtls: r.bool('enable-mtls', false),
    ...(sentry === undefined ? {} : { sentryAddress: sentry }),
    ...(trustAnchorsFile === undefined || trustAnchorsFile === '' ? {} : { trustAnchorsFile }),
    ...(kubeconfig === undefined || kubeconfig === '' ? {} : { kubeconfig }),
    ...(controlPlane === undefined ? {} : { controlPlaneAddress: controlPlane }),
    controlPlaneNamespace:
      r.optString('control-plane-namespace') ?? env.DAPR_CONTROLPLANE_NAMESPACE ?? 'default',
    controlPlaneTrustDomain:
      r.optString('control-plane-trust-domain') ?? env.DAPR_CONTROLPLANE_TRUST_DOMAIN ?? 'localhost',
    ...(placement === undefined ? {} : { placementHostAddress: placement }),
    schedulerHostAddresses: scheduler,
    namespace,
    ...(apiToken === undefined || apiToken === '' ? {} : { apiToken }),
    ...(appApiToken === undefined || appApiToken === '' ? {} : { appApiToken }),
    unimplementedFlags: FLAGS.filter((spec) => !spec.implemented && r.has(spec.name)).map(
      (spec) => spec.name,
    ),
  };
  if (options.appHealth.enabled && appPort === undefined) {
    errors.push('--enable-app-health-check needs --app-port');
  }
  return options;
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value)) deepFreeze(inner);
  }
  return value;
}

/**
 * Parses daprd-style flags and the environment into frozen Options, or returns every problem at
 * once. Pure apart from `machine`, which only feeds the default internal gRPC port.
 */
export function parseFlags(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  machine: MachineFacts = currentMachine(),
): FlagParseResult {
  const errors: string[] = [];
  const raw = collect(argv, errors);
  const r = new Reader(raw, errors);
  if (r.bool('help', false)) return { kind: 'help', text: helpText() };
  if (r.bool('version', false)) return { kind: 'version' };
  if (r.bool('build-info', false)) return { kind: 'build-info' };
  if (r.bool('wait', false)) {
    const daprHttpPort = r.int('dapr-http-port', 3500, 1, PORT_MAX);
    return errors.length > 0 ? { kind: 'errors', errors } : { kind: 'wait', daprHttpPort };
  }
  const options = buildOptions(r, env, machine, errors);
  if (errors.length > 0) return { kind: 'errors', errors };
  return { kind: 'options', options: deepFreeze(options) };
}

/** The `--help` text, generated from the flag table. */
export function helpText(): string {
  const lines = ['Usage of outriggerd:'];
  for (const spec of FLAGS) {
    const type = spec.type === 'bool' ? '' : spec.type === 'list' ? ' strings' : ` ${spec.type}`;
    const note = spec.implemented ? '' : ' [accepted for daprd compatibility; no effect yet]';
    const def = spec.default === undefined ? '' : ` (default ${JSON.stringify(spec.default)})`;
    lines.push(`  --${spec.name}${type}`, `    \t${spec.help}${def}${note}`);
  }
  lines.push(
    '',
    'Environment: DAPR_API_TOKEN (required from API callers), APP_API_TOKEN (sent to the app), NAMESPACE.',
  );
  return lines.join('\n');
}
