/**
 * The fields of a Multi-App Run template (`dapr.yaml`), named as the dapr CLI's YAML tags
 * (dapr/cli pkg/standalone/run.go `RunConfig`/`SharedRunConfig`, pkg/runfileconfig
 * `App`/`Common`): which section may hold each, how its value is checked, and the daprd flag it
 * becomes. Fields that the dapr CLI reads but Outrigger cannot honour carry the reason; fields that
 * only matter elsewhere (Kubernetes, a separate runtime install) are ignored with a warning.
 */
import { parseByteQuantity } from '../runtime/quantity.js';

/** How a field's value is checked. */
export type FieldKind =
  | 'string'
  | 'bool'
  | 'int'
  | 'port'
  | 'strings'
  | 'env'
  | 'path'
  | 'paths'
  | 'quantity'
  | 'logDestination'
  | 'protocol'
  | 'logLevel';

/** Where a field may appear: both sections (dapr's SharedRunConfig), per app only, or common only. */
export type FieldScope = 'shared' | 'app' | 'common';

/** One template field. */
export interface FieldSpec {
  readonly kind: FieldKind;
  readonly scope: FieldScope;
  /** The daprd flag the value is passed as, when it maps 1:1. */
  readonly flag?: string;
  /** Set when Outrigger cannot honour the field: why, for the error message. */
  readonly unsupported?: string;
  /** Set when the field does not apply to a local run and is ignored: why, for the warning. */
  readonly ignored?: string;
}

/** The log destinations of `appLogDestination` / `daprdLogDestination` (dapr's LogDestType). */
export const LOG_DESTINATIONS = ['console', 'file', 'fileAndConsole'] as const;

/** One of `LOG_DESTINATIONS`. */
export type LogDestination = (typeof LOG_DESTINATIONS)[number];

/** App protocols daprd accepts (`--app-protocol`); the template may spell them in any case. */
export const TEMPLATE_APP_PROTOCOLS = ['http', 'https', 'grpc', 'grpcs', 'h2c'] as const;

/** Log levels daprd accepts (`--log-level`). */
export const TEMPLATE_LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'fatal'] as const;

const KUBERNETES_ONLY = 'it is only read by "dapr run -f -k" (Kubernetes)';

/** Every field the dapr CLI reads from a template section, keyed by its YAML name. */
export const TEMPLATE_FIELDS: Readonly<Record<string, FieldSpec>> = {
  // SharedRunConfig: allowed in `common` and in each app; an app's own value wins.
  configFilePath: { kind: 'path', scope: 'shared' },
  appProtocol: { kind: 'protocol', scope: 'shared', flag: 'app-protocol' },
  apiListenAddresses: { kind: 'string', scope: 'shared', flag: 'dapr-listen-addresses' },
  enableProfiling: { kind: 'bool', scope: 'shared', flag: 'enable-profiling' },
  logLevel: { kind: 'logLevel', scope: 'shared', flag: 'log-level' },
  appMaxConcurrency: { kind: 'int', scope: 'shared', flag: 'app-max-concurrency' },
  placementHostAddress: { kind: 'string', scope: 'shared', flag: 'placement-host-address' },
  schedulerHostAddress: { kind: 'string', scope: 'shared', flag: 'scheduler-host-address' },
  resourcesPath: { kind: 'path', scope: 'shared' },
  resourcesPaths: { kind: 'paths', scope: 'shared' },
  appSSL: { kind: 'bool', scope: 'shared', flag: 'app-ssl' },
  maxBodySize: { kind: 'quantity', scope: 'shared', flag: 'max-body-size' },
  readBufferSize: { kind: 'quantity', scope: 'shared', flag: 'read-buffer-size' },
  // The names of older dapr CLIs and of the docs' table (sizes in MB / KB).
  daprHTTPMaxRequestSize: { kind: 'int', scope: 'shared', flag: 'dapr-http-max-request-size' },
  daprHTTPReadBufferSize: { kind: 'int', scope: 'shared', flag: 'dapr-http-read-buffer-size' },
  enableAppHealthCheck: { kind: 'bool', scope: 'shared', flag: 'enable-app-health-check' },
  appHealthCheckPath: { kind: 'string', scope: 'shared', flag: 'app-health-check-path' },
  appHealthProbeInterval: { kind: 'int', scope: 'shared', flag: 'app-health-probe-interval' },
  appHealthProbeTimeout: { kind: 'int', scope: 'shared', flag: 'app-health-probe-timeout' },
  appHealthThreshold: { kind: 'int', scope: 'shared', flag: 'app-health-threshold' },
  enableApiLogging: { kind: 'bool', scope: 'shared', flag: 'enable-api-logging' },
  env: { kind: 'env', scope: 'shared' },
  appLogDestination: { kind: 'logDestination', scope: 'shared' },
  daprdLogDestination: { kind: 'logDestination', scope: 'shared' },
  runtimePath: {
    kind: 'string',
    scope: 'shared',
    ignored: 'outriggerd ships with the outrigger CLI; there is no separate runtime install to point at',
  },
  // Common only (dapr/cli runfileconfig.Common).
  envFile: { kind: 'path', scope: 'common' },
  // RunConfig: per app only.
  appID: { kind: 'string', scope: 'app' },
  appDirPath: { kind: 'path', scope: 'app' },
  appChannelAddress: { kind: 'string', scope: 'app', flag: 'app-channel-address' },
  appPort: { kind: 'port', scope: 'app' },
  daprHTTPPort: { kind: 'port', scope: 'app' },
  daprGRPCPort: { kind: 'port', scope: 'app' },
  daprInternalGRPCPort: { kind: 'port', scope: 'app' },
  metricsPort: { kind: 'port', scope: 'app' },
  profilePort: { kind: 'port', scope: 'app', flag: 'profile-port' },
  command: { kind: 'strings', scope: 'app' },
  unixDomainSocket: {
    kind: 'string',
    scope: 'app',
    unsupported:
      'outrigger run starts sidecars on TCP ports only (outriggerd itself takes --unix-domain-socket)',
  },
  containerImage: { kind: 'string', scope: 'app', ignored: KUBERNETES_ONLY },
  containerImagePullPolicy: { kind: 'string', scope: 'app', ignored: KUBERNETES_ONLY },
  createService: { kind: 'bool', scope: 'app', ignored: KUBERNETES_ONLY },
};

/** Top-level keys of a template. */
export const TOP_LEVEL_FIELDS = ['version', 'name', 'common', 'apps'] as const;

/** A checked field value. */
export type FieldValue = string | number | boolean | readonly string[] | Readonly<Record<string, string>>;

/** The closest known field name, for "did you mean" hints (same letters ignoring case). */
export function suggestField(key: string, names: readonly string[]): string | undefined {
  const lower = key.toLowerCase();
  return names.find((n) => n.toLowerCase() === lower);
}

function scalarText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return undefined;
}

function show(value: unknown): string {
  return JSON.stringify(value) ?? String(value);
}

/**
 * Checks one value against its kind; returns the typed value or a problem phrase (`must be ...`).
 * Strings take numbers and booleans too, as YAML decoding into a Go string does.
 */
export function checkValue(kind: FieldKind, value: unknown): { value: FieldValue } | { problem: string } {
  switch (kind) {
    case 'string':
    case 'path': {
      const text = scalarText(value);
      return text === undefined ? { problem: `must be a string, got ${show(value)}` } : { value: text };
    }
    case 'bool':
      return typeof value === 'boolean'
        ? { value }
        : { problem: `must be true or false, got ${show(value)}` };
    case 'int':
      return typeof value === 'number' && Number.isSafeInteger(value)
        ? { value }
        : { problem: `must be an integer, got ${show(value)}` };
    case 'port':
      return typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= 65535
        ? { value }
        : { problem: `must be a port number between 1 and 65535, got ${show(value)}` };
    case 'quantity': {
      const text = scalarText(value);
      return text !== undefined && parseByteQuantity(text) !== undefined
        ? { value: text }
        : { problem: `must be a size like 4Mi or 512Ki, got ${show(value)}` };
    }
    case 'strings':
    case 'paths': {
      if (!Array.isArray(value)) return { problem: `must be a list of strings, got ${show(value)}` };
      const items = value.map(scalarText);
      return items.every((i) => i !== undefined)
        ? { value: items as string[] }
        : { problem: `must be a list of strings, got ${show(value)}` };
    }
    case 'env': {
      if (typeof value !== 'object' || value === null || Array.isArray(value))
        return { problem: `must be a map of NAME: value, got ${show(value)}` };
      const out: Record<string, string> = {};
      for (const [k, v] of Object.entries(value)) {
        const text = v === null ? '' : scalarText(v);
        if (text === undefined) return { problem: `value of ${k} must be a string, got ${show(v)}` };
        out[k] = text;
      }
      return { value: out };
    }
    case 'logDestination':
      return (LOG_DESTINATIONS as readonly unknown[]).includes(value)
        ? { value: value as string }
        : { problem: `must be one of ${LOG_DESTINATIONS.join(', ')}, got ${show(value)}` };
    case 'protocol': {
      const text = scalarText(value)?.toLowerCase();
      return text !== undefined && (TEMPLATE_APP_PROTOCOLS as readonly string[]).includes(text)
        ? { value: text }
        : { problem: `must be one of ${TEMPLATE_APP_PROTOCOLS.join(', ')}, got ${show(value)}` };
    }
    case 'logLevel': {
      const text = scalarText(value)?.toLowerCase();
      return text !== undefined && (TEMPLATE_LOG_LEVELS as readonly string[]).includes(text)
        ? { value: text }
        : { problem: `must be one of ${TEMPLATE_LOG_LEVELS.join(', ')}, got ${show(value)}` };
    }
  }
}
