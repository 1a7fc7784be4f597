import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SidecarMetrics } from '../../../sidecar/observability/metrics.js';
import {
  type CertificateIssuedEvent,
  type CertificateRequestFailedEvent,
  securityChannels,
} from '../../../sidecar/security/security-events.js';

test("certificates feed daprd's mTLS metrics and the expiry gauge", async () => {
  const metrics = new SidecarMetrics({ appId: 'orders' });
  try {
    const issued = (notAfter: Date, rotation: boolean): CertificateIssuedEvent => ({
      spiffeId: 'spiffe://public/ns/default/orders',
      notBefore: new Date(notAfter.getTime() - 86_400_000),
      notAfter,
      expiryTimestampSeconds: notAfter.getTime() / 1000,
      renewAt: new Date(notAfter.getTime() - 43_200_000),
      rotation,
    });
    const failed = (reason: CertificateRequestFailedEvent['reason']): CertificateRequestFailedEvent => ({
      error: 'sentry unavailable',
      reason,
      failures: 1,
      retryInMs: 1000,
      currentNotAfter: null,
    });
    securityChannels.certificateIssued.publish(issued(new Date('2026-11-27T12:00:00Z'), false));
    securityChannels.certificateRequestFailed.publish(failed('sentry_conn'));
    securityChannels.certificateRequestFailed.publish(failed('sentry_conn'));
    securityChannels.certificateRequestFailed.publish(failed('sign'));
    securityChannels.certificateIssued.publish(issued(new Date('2026-11-28T12:00:00Z'), true));
    securityChannels.identityInitFailed.publish({ reason: 'csr', error: 'no CSR' });
    const text = await metrics.registry.metrics();
    assert.match(text, /outrigger_runtime_workload_cert_expiry_timestamp\{app_id="orders"\} 1795867200/);
    assert.match(text, /dapr_runtime_mtls_init_total\{app_id="orders"\} 1\n/);
    assert.match(text, /dapr_runtime_mtls_workload_cert_rotated_total\{app_id="orders"\} 1\n/);
    assert.match(
      text,
      /dapr_runtime_mtls_workload_cert_rotated_fail_total\{app_id="orders",reason="sentry_conn"\} 2\n/,
    );
    assert.match(
      text,
      /dapr_runtime_mtls_workload_cert_rotated_fail_total\{app_id="orders",reason="sign"\} 1\n/,
    );
    assert.match(text, /dapr_runtime_mtls_init_fail_total\{app_id="orders",reason="csr"\} 1\n/);
  } finally {
    metrics.close();
  }
});
