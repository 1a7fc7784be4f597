/**
 * Sentry's flags, parsed and checked once at the boundary (every problem reported together),
 * then frozen. Names follow Dapr's sentry flags where they exist.
 */
import { parseArgs } from 'node:util';

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

/** Parses a Go duration (`24h`, `15m`, `1h30m`, `500ms`); undefined when malformed. */
export function parseGoDuration(text: string): number | undefined {
  const trimmed = text.trim();
  if (!/^(\d+(\.\d+)?(ms|s|m|h))+$/.test(trimmed)) return undefined;
  let total = 0;
  for (const m of trimmed.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g))
    total += Number(m[1]) * (UNIT_MS[m[2] ?? 's'] ?? 0);
  return total;
}

/** Where credentials live. */
export type SentryMode = 'kubernetes' | 'standalone';

/** Validated sentry configuration. */
export interface SentryConfig {
  readonly mode: SentryMode;
  readonly trustDomain: string;
  readonly namespace: string;
  readonly host: string;
  readonly port: number;
  readonly metricsPort: number;
  readonly issuerCredentials: string;
  readonly trustAnchorsFile: string | undefined;
  readonly kubeconfig: string | undefined;
  readonly workloadTtlMs: number;
  readonly skewMs: number;
  readonly caValidityMs: number;
  readonly reloadIntervalMs: number;
  readonly enableInsecureValidator: boolean;
  readonly logLevel: 'debug' | 'info' | 'warn' | 'error';
}

/** Flag definitions (shared with the rotate-root command). */
export const SENTRY_FLAGS = {
  mode: { type: 'string' },
  'trust-domain': { type: 'string' },
  namespace: { type: 'string' },
  'listen-address': { type: 'string' },
  port: { type: 'string' },
  'metrics-port': { type: 'string' },
  'issuer-credentials': { type: 'string' },
  'trust-anchors-file': { type: 'string' },
  kubeconfig: { type: 'string' },
  'workload-cert-ttl': { type: 'string' },
  'allowed-clock-skew': { type: 'string' },
  'ca-validity': { type: 'string' },
  'reload-interval': { type: 'string' },
  'enable-insecure-validator': { type: 'boolean' },
  'log-level': { type: 'string' },
  'root-key': { type: 'string' },
} as const;

/** Raised with every problem found in the flags. */
export class SentryConfigError extends Error {
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(`invalid sentry flags:\n  - ${problems.join('\n  - ')}`);
    this.name = 'SentryConfigError';
    this.problems = problems;
  }
}

/** Parses argv (without node and script) plus env into a frozen config. */
export function parseSentryConfig(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
): SentryConfig & { readonly positionals: readonly string[]; readonly rootKey: string | undefined } {
  const { values, positionals } = parseArgs({
    args: [...argv],
    options: SENTRY_FLAGS,
    allowPositionals: true,
    strict: true,
  });
  const problems: string[] = [];
  const duration = (flag: string, raw: string | undefined, fallback: number): number => {
    if (raw === undefined) return fallback;
    try {
      const ms = parseGoDuration(raw);
      if (ms === undefined || !(ms > 0))
        throw new Error(`"${raw}" is not a positive duration like 24h or 15m`);
      return ms;
    } catch (err) {
      problems.push(`--${flag}: ${(err as Error).message}`);
      return fallback;
    }
  };
  const port = (flag: string, raw: string | undefined, fallback: number): number => {
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 0 || n > 65535) problems.push(`--${flag}: "${raw}" is not a port`);
    return n;
  };
  const inCluster = env.KUBERNETES_SERVICE_HOST !== undefined;
  const modeRaw = values.mode ?? (inCluster || values.kubeconfig !== undefined ? 'kubernetes' : 'standalone');
  if (modeRaw !== 'kubernetes' && modeRaw !== 'standalone')
    problems.push(`--mode: "${modeRaw}" is not kubernetes or standalone`);
  const mode = modeRaw as SentryMode;
  const level = values['log-level'] ?? 'info';
  if (!['debug', 'info', 'warn', 'error'].includes(level))
    problems.push(`--log-level: "${level}" is not debug, info, warn or error`);
  const insecure = values['enable-insecure-validator'] ?? false;
  if (insecure && mode === 'kubernetes')
    problems.push('--enable-insecure-validator is for self-hosted mode only');
  const config = {
    mode,
    trustDomain: values['trust-domain'] ?? 'cluster.local',
    namespace: values.namespace ?? env.NAMESPACE ?? 'dapr-system',
    host: values['listen-address'] ?? '0.0.0.0',
    port: port('port', values.port, 50001),
    metricsPort: port('metrics-port', values['metrics-port'], 9090),
    issuerCredentials: values['issuer-credentials'] ?? `${env.HOME ?? '.'}/.outrigger/certs`,
    trustAnchorsFile: values['trust-anchors-file'],
    kubeconfig: values.kubeconfig ?? env.KUBECONFIG,
    workloadTtlMs: duration('workload-cert-ttl', values['workload-cert-ttl'], 24 * 3_600_000),
    skewMs: duration('allowed-clock-skew', values['allowed-clock-skew'], 15 * 60_000),
    caValidityMs: duration('ca-validity', values['ca-validity'], 365 * 24 * 3_600_000),
    reloadIntervalMs: duration('reload-interval', values['reload-interval'], 5_000),
    enableInsecureValidator: insecure,
    logLevel: level as SentryConfig['logLevel'],
    positionals,
    rootKey: values['root-key'],
  };
  if (problems.length > 0) throw new SentryConfigError(problems);
  return Object.freeze(config);
}
