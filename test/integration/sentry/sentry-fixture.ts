/**
 * Test fixture: a real sentry (in-process gRPC server over TLS, file CA store in a temp dir) and
 * workload identities that get their certificates from it through the real SignCertificate API.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { FileCaStore } from '../../../operator/sentry/ca-store.js';
import { silentLogger } from '../../../operator/sentry/logger.js';
import { createSentryMetrics } from '../../../operator/sentry/metrics.js';
import type { SentryServerOptions } from '../../../operator/sentry/sentry-server.js';
import { SentryServer } from '../../../operator/sentry/sentry-server.js';
import { InsecureValidator } from '../../../operator/sentry/validators.js';
import type { WorkloadIdentityOptions } from '../../../sidecar/security/workload-identity.js';
import { WorkloadIdentity } from '../../../sidecar/security/workload-identity.js';
import { makeTempDir, removeTempDir } from '../../env/process.js';

/** A running sentry with its credential directory. */
export interface SentryFixture {
  readonly sentry: SentryServer;
  readonly registry: Registry;
  readonly store: FileCaStore;
  /** `--issuer-credentials` directory. */
  readonly dir: string;
  /** Trust-anchors file sidecars watch (the "mounted ConfigMap"). */
  readonly trustFile: string;
  readonly address: string;
  /** Creates (but does not start) a workload identity for `appId` against this sentry. */
  identity(appId: string, overrides?: Partial<WorkloadIdentityOptions>): Promise<WorkloadIdentity>;
  close(): Promise<void>;
}

const quietSecurityLogger = { info: () => {}, warn: () => {}, error: () => {} };

/** Starts sentry on a free port with the dev (insecure) validator enabled. */
export async function startSentryFixture(
  overrides: Partial<SentryServerOptions> = {},
): Promise<SentryFixture> {
  const dir = await makeTempDir('sentry');
  const trustFile = join(dir, 'trust-bundle.pem');
  const store = new FileCaStore(join(dir, 'credentials'), trustFile);
  const registry = new Registry();
  const sentry = new SentryServer({
    store,
    trustDomain: 'cluster.local',
    namespace: 'dapr-system',
    host: '127.0.0.1',
    port: 0,
    validators: { INSECURE: new InsecureValidator() },
    defaultValidator: 'INSECURE',
    workloadTtlMs: 24 * 3_600_000,
    skewMs: 15 * 60_000,
    caValidityMs: 365 * 24 * 3_600_000,
    reloadIntervalMs: 100,
    metrics: createSentryMetrics(registry),
    logger: silentLogger(),
    now: Date.now,
    ...overrides,
  });
  await sentry.start();
  const address = `127.0.0.1:${sentry.port}`;
  const identities: WorkloadIdentity[] = [];
  return {
    sentry,
    registry,
    store,
    dir,
    trustFile,
    address,
    async identity(appId, more = {}) {
      const identity = new WorkloadIdentity({
        appId,
        namespace: 'default',
        trustDomain: 'public',
        sentry: { address, spiffeId: sentry.spiffeId, timeoutMs: 3_000 },
        tokenFile: join(dir, 'no-token'),
        tokenValidator: 'INSECURE',
        trustAnchorsPem: await readFile(trustFile, 'utf8'),
        trustAnchorsFile: trustFile,
        trustBundlePollMs: 100,
        retryBaseMs: 50,
        retryMaxMs: 500,
        logger: quietSecurityLogger,
        ...more,
      });
      identities.push(identity);
      return identity;
    },
    async close() {
      for (const i of identities) i.close();
      await sentry.close();
      await removeTempDir(dir);
    },
  };
}

/** Reads a counter/gauge value from the registry (0 when absent). */
export async function metricValue(
  registry: Registry,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  const metric = registry.getSingleMetric(name);
  if (metric === undefined) return 0;
  const data = await metric.get();
  const match = data.values.find((v) => Object.entries(labels).every(([k, val]) => v.labels[k] === val));
  return match?.value ?? 0;
}
