import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SidecarMetrics } from '../../../sidecar/observability/metrics.js';
import { securityChannels } from '../../../sidecar/security/security-events.js';

test('a new workload certificate sets the expiry gauge; a failed request counts', async () => {
  const metrics = new SidecarMetrics({ appId: 'orders' });
  try {
    const notAfter = new Date('2026-11-27T12:00:00Z');
    securityChannels.certificateIssued.publish({
      spiffeId: 'spiffe://public/ns/default/orders',
      notBefore: new Date('2026-11-26T12:00:00Z'),
      notAfter,
      expiryTimestampSeconds: notAfter.getTime() / 1000,
      renewAt: new Date('2026-11-27T00:00:00Z'),
    });
    securityChannels.certificateRequestFailed.publish({
      error: 'sentry unavailable',
      failures: 1,
      retryInMs: 1000,
      currentNotAfter: notAfter,
    });
    const text = await metrics.registry.metrics();
    assert.match(text, /outrigger_runtime_workload_cert_expiry_timestamp\{app_id="orders"\} 1795780800/);
    assert.match(text, /outrigger_runtime_workload_cert_issued_total\{app_id="orders"\} 1/);
    assert.match(text, /outrigger_runtime_workload_cert_request_failed_total\{app_id="orders"\} 1/);
  } finally {
    metrics.close();
  }
});
