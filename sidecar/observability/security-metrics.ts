import type { Registry } from 'prom-client';
import {
  type CertificateIssuedEvent,
  type CertificateRequestFailedEvent,
  type IdentityInitFailedEvent,
  securityChannels,
} from '../security/security-events.js';
import { familyMakers } from './metric-families.js';

/**
 * Workload-certificate metrics, fed from the security module's diagnostics channels: daprd's
 * `dapr_runtime_mtls_*` families, plus the certificate's expiry, for which daprd has no metric
 * (so it carries Outrigger's prefix rather than a made-up Dapr name).
 */
export function registerSecurityMetrics(registry: Registry, appId: string): () => void {
  const { counter, gauge } = familyMakers(registry);
  const expiry = gauge(
    'outrigger_runtime_workload_cert_expiry_timestamp',
    'Unix time (seconds) at which the workload certificate in use expires.',
    ['app_id'],
  );
  const initialized = counter(
    'dapr_runtime_mtls_init_total',
    'The number of successful mTLS authenticator initialization.',
    ['app_id'],
  );
  const initFailed = counter(
    'dapr_runtime_mtls_init_fail_total',
    'The number of mTLS authenticator init failures.',
    ['app_id', 'reason'],
  );
  const rotated = counter(
    'dapr_runtime_mtls_workload_cert_rotated_total',
    'The number of the successful workload certificate rotations.',
    ['app_id'],
  );
  const rotationFailed = counter(
    'dapr_runtime_mtls_workload_cert_rotated_fail_total',
    'The number of the failed workload certificate rotations.',
    ['app_id', 'reason'],
  );
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
