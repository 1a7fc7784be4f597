/**
 * Sentry entry point.
 *   node operator/sentry/main.js [flags]                      serve the CA
 *   node operator/sentry/main.js rotate-root add|reissue|finish --root-key <file> [flags]
 * See docs/mtls-rotation.md for the rotation procedure.
 */

import type { Server } from 'node:http';
import { createServer } from 'node:http';
import { pathToFileURL } from 'node:url';
import * as k8s from '@kubernetes/client-node';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { formatSpiffeId } from '../../sidecar/pki/spiffe-id.js';
import type { CaStore } from './ca-store.js';
import { FileCaStore } from './ca-store.js';
import { KubernetesCaStore } from './ca-store-kubernetes.js';
import type { SentryConfig } from './config.js';
import { parseSentryConfig, SentryConfigError } from './config.js';
import { createJsonLogger } from './logger.js';
import { createSentryMetrics } from './metrics.js';
import type { RotationStepResult } from './root-rotation.js';
import { addRoot, reissueIssuer, removeOldRoots } from './root-rotation.js';
import type { SentryServerOptions } from './sentry-server.js';
import { SentryServer } from './sentry-server.js';
import { InsecureValidator, KubernetesValidator } from './validators.js';

function kubeConfigFor(config: SentryConfig): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  if (config.kubeconfig !== undefined) kc.loadFromFile(config.kubeconfig);
  else kc.loadFromDefault();
  return kc;
}

/** The CA store the flags select. */
export function storeFor(config: SentryConfig): CaStore {
  return config.mode === 'kubernetes'
    ? new KubernetesCaStore(kubeConfigFor(config), config.namespace)
    : new FileCaStore(config.issuerCredentials, config.trustAnchorsFile);
}

/** Builds server options from a config (exported for tests that run sentry in-process). */
export function serverOptionsFor(config: SentryConfig, registry: Registry): SentryServerOptions {
  const logger = createJsonLogger({}, config.logLevel);
  const sentryId = formatSpiffeId({
    trustDomain: config.trustDomain,
    namespace: config.namespace,
    appId: 'dapr-sentry',
  });
  const validators: SentryServerOptions['validators'] = {};
  if (config.mode === 'kubernetes') {
    validators.KUBERNETES = new KubernetesValidator({
      kubeConfig: kubeConfigFor(config),
      audiences: [sentryId, 'dapr.io/sentry'],
      controlPlaneTrustDomain: config.trustDomain,
      controlPlaneNamespace: config.namespace,
    });
  }
  if (config.enableInsecureValidator) validators.INSECURE = new InsecureValidator();
  return {
    store: storeFor(config),
    trustDomain: config.trustDomain,
    namespace: config.namespace,
    host: config.host,
    port: config.port,
    validators,
    defaultValidator: config.mode === 'kubernetes' ? 'KUBERNETES' : 'INSECURE',
    workloadTtlMs: config.workloadTtlMs,
    skewMs: config.skewMs,
    caValidityMs: config.caValidityMs,
    reloadIntervalMs: config.reloadIntervalMs,
    metrics: createSentryMetrics(registry),
    logger,
    now: Date.now,
  };
}

async function serve(config: SentryConfig): Promise<void> {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const sentry = new SentryServer(serverOptionsFor(config, registry));
  await sentry.start();
  const metricsServer: Server = createServer((_req, res) => {
    void registry.metrics().then((body) => {
      res.writeHead(200, { 'content-type': registry.contentType });
      res.end(body);
    });
  });
  metricsServer.listen(config.metricsPort, config.host);
  const stop = (): void => {
    metricsServer.close();
    void sentry.close().then(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

async function rotate(
  config: SentryConfig & { positionals: readonly string[]; rootKey: string | undefined },
): Promise<void> {
  const step = config.positionals[1];
  const store = storeFor(config);
  const gen = {
    trustDomain: config.trustDomain,
    namespace: config.namespace,
    validityMs: config.caValidityMs,
    skewMs: config.skewMs,
    now: new Date(),
  };
  const needKey = (): string => {
    if (config.rootKey === undefined)
      throw new SentryConfigError([`rotate-root ${step ?? ''} needs --root-key <file>`]);
    return config.rootKey;
  };
  let result: RotationStepResult;
  if (step === 'add') result = await addRoot(store, needKey(), gen);
  else if (step === 'reissue') result = await reissueIssuer(store, needKey(), gen);
  else if (step === 'finish') result = await removeOldRoots(store);
  else
    throw new SentryConfigError([`rotate-root needs a step: add, reissue or finish (got "${step ?? ''}")`]);
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

/** Usage text for `--help`. */
const USAGE = `sentry: Outrigger's certificate authority (Dapr's dapr.proto.sentry.v1.CA)

Usage:
  sentry [flags]                                   serve SignCertificate
  sentry rotate-root add|reissue|finish --root-key <file> [flags]
                                                   rotate the trust anchors (docs/mtls-rotation.md)

Flags:
  --mode kubernetes|standalone   where the root and issuer live (default: kubernetes in a cluster)
  --trust-domain <td>            control-plane trust domain (default cluster.local)
  --namespace <ns>               control-plane namespace (default $NAMESPACE or dapr-system)
  --listen-address <addr>        gRPC listen address (default 0.0.0.0)
  --port <n>                     gRPC port (default 50001)
  --metrics-port <n>             Prometheus port (default 9090)
  --issuer-credentials <dir>     standalone: folder with ca.crt, issuer.crt, issuer.key (default ~/.outrigger/certs)
  --trust-anchors-file <file>    standalone: where to publish ca.crt
  --kubeconfig <file>            kubernetes: kubeconfig when not in a cluster
  --workload-cert-ttl <dur>      workload certificate lifetime (default 24h)
  --allowed-clock-skew <dur>     NotBefore backdating (default 15m)
  --ca-validity <dur>            lifetime of a self-generated root and issuer (default 8760h)
  --reload-interval <dur>        how often credentials are checked for changes (default 5s)
  --enable-insecure-validator    standalone only: sign without validating a token (development)
  --log-level debug|info|warn|error
  --root-key <file>              rotate-root: the new root's private key (PEM)
`;

/** Runs the command line. */
export async function main(argv: readonly string[]): Promise<void> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(USAGE);
    return;
  }
  const config = parseSentryConfig(argv, process.env);
  if (config.positionals[0] === 'rotate-root') await rotate(config);
  else if (config.positionals.length === 0) await serve(config);
  else throw new SentryConfigError([`unknown command "${config.positionals[0] ?? ''}"`]);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
