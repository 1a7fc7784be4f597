import { Counter, Gauge, type Registry } from 'prom-client';
import {
  type CertificateIssuedEvent,
  type CertificateRequestFailedEvent,
  type IdentityInitFailedEvent,
  securityChannels,
} from '../security/security-events.js';

/**
 * Workload-certificate metrics, fed from the security module's diagnostics channels: daprd's
 * `dapr_runtime_mtls_*` families, plus the certificate's expiry, for which daprd has no metric
 * (so it carries Outrigger's prefix rather than a made-up Dapr name).
 */
export function registerSecurityMetrics(registry: Registry, appId: string): () => void {
  const registers = [registry];
  const expiry = new Gauge({
    name: 'outrigger_runtime_workload_cert_expiry_timestamp',
    help: 'Unix time (seconds) at which the workload certificate in use expires.',
    labelNames: ['app_id'] as const,
    registers,
  });
  const initialized = new Counter({
    name: 'dapr_runtime_mtls_init_total',
    help: 'The number of successful mTLS authenticator initialization.',
    labelNames: ['app_id'] as const,
    registers,
  });
  const initFailed = new Counter({
    name: 'dapr_runtime_mtls_init_fail_total',
    help: 'The number of mTLS authenticator init failures.',
    labelNames: ['app_id', 'reason'] as const,
    registers,
  });
  const rotated = new Counter({
    name: 'dapr_runtime_mtls_workload_cert_rotated_total',
    help: 'The number of the successful workload certificate rotations.',
    labelNames: ['app_id'] as const,
    registers,
  });
  const rotationFailed = new Counter({
    name: 'dapr_runtime_mtls_workload_cert_rotated_fail_total',
    help: 'The number of the failed workload certificate rotations.',
    labelNames: ['app_id', 'reason'] as const,
    registers,
  });
  const onIssued = (message: unknown): void => {
    const e = message as CertificateIssuedEvent;
    expiry.set({ app_id: appId }, e.expiryTimestampSeconds);
    (e.rotation ? rotated : initialized).inc({ app_id: appId });
  };
  const onFailed = (message: unknown): void => {
    const e = message as CertificateRequestFailedEvent;
    rotationFailed.inc({ app_id: appId, reason: e.reason });
  };
  const onInitFailed = (message: unknown): void => {
    initFailed.inc({ app_id: appId, reason: (message as IdentityInitFailedEvent).reason });
  };
  securityChannels.certificateIssued.subscribe(onIssued);
  securityChannels.certificateRequestFailed.subscribe(onFailed);
  securityChannels.identityInitFailed.subscribe(onInitFailed);
  return () => {
    securityChannels.certificateIssued.unsubscribe(onIssued);
    securityChannels.certificateRequestFailed.unsubscribe(onFailed);
    securityChannels.identityInitFailed.unsubscribe(onInitFailed);
  };
}
