import { Counter, Gauge, type Registry } from 'prom-client';
import {
  type CertificateIssuedEvent,
  type CertificateRequestFailedEvent,
  securityChannels,
} from '../security/security-events.js';

/**
 * Workload-certificate metrics, fed from the security module's diagnostics channels. daprd has no
 * metric for its own SVID expiry, so these carry Outrigger's prefix rather than a made-up Dapr name.
 */
export function registerSecurityMetrics(registry: Registry, appId: string): () => void {
  const expiry = new Gauge({
    name: 'outrigger_runtime_workload_cert_expiry_timestamp',
    help: 'Unix time (seconds) at which the workload certificate in use expires.',
    labelNames: ['app_id'] as const,
    registers: [registry],
  });
  const renewals = new Counter({
    name: 'outrigger_runtime_workload_cert_issued_total',
    help: 'Workload certificates obtained from sentry (first one and renewals).',
    labelNames: ['app_id'] as const,
    registers: [registry],
  });
  const failures = new Counter({
    name: 'outrigger_runtime_workload_cert_request_failed_total',
    help: 'Failed certificate requests to sentry (each is retried with backoff).',
    labelNames: ['app_id'] as const,
    registers: [registry],
  });
  const onIssued = (message: unknown): void => {
    const e = message as CertificateIssuedEvent;
    expiry.set({ app_id: appId }, e.expiryTimestampSeconds);
    renewals.inc({ app_id: appId });
  };
  const onFailed = (message: unknown): void => {
    void (message as CertificateRequestFailedEvent);
    failures.inc({ app_id: appId });
  };
  securityChannels.certificateIssued.subscribe(onIssued);
  securityChannels.certificateRequestFailed.subscribe(onFailed);
  return () => {
    securityChannels.certificateIssued.unsubscribe(onIssued);
    securityChannels.certificateRequestFailed.unsubscribe(onFailed);
  };
}
