import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { after, describe, it } from 'node:test';
import type {
  CertificateIssuedEvent,
  CertificateRequestFailedEvent,
} from '../../../sidecar/security/security-events.js';
import { securityChannels } from '../../../sidecar/security/security-events.js';
import { freePort, waitUntil } from '../../env/process.js';
import { callPeer, startPeerServer } from './mtls-peers.js';
import type { SentryFixture } from './sentry-fixture.js';
import { startSentryFixture } from './sentry-fixture.js';

describe('the sidecar identity while sentry is down', () => {
  const fixtures: SentryFixture[] = [];
  const failures: CertificateRequestFailedEvent[] = [];
  const issued: CertificateIssuedEvent[] = [];
  const onFail = (m: unknown) => failures.push(m as CertificateRequestFailedEvent);
  const onIssued = (m: unknown) => issued.push(m as CertificateIssuedEvent);
  subscribe(securityChannels.certificateRequestFailed.name, onFail);
  subscribe(securityChannels.certificateIssued.name, onIssued);
  after(async () => {
    unsubscribe(securityChannels.certificateRequestFailed.name, onFail);
    unsubscribe(securityChannels.certificateIssued.name, onIssued);
    for (const f of fixtures) await f.close();
  });

  it('retries with backoff until sentry is back, keeps serving the current certificate, then renews', async () => {
    const port = await freePort();
    const fx = await startSentryFixture({ port });
    fixtures.push(fx);
    const server = await fx.identity('orders');
    const client = await fx.identity('checkout');
    await server.start();
    await client.start();
    const peer = await startPeerServer(server);
    try {
      const firstSerial = server.current()?.leaf.serialNumber;
      assert.ok(
        issued.some(
          (e) =>
            e.spiffeId === 'spiffe://public/ns/default/orders' &&
            e.expiryTimestampSeconds === Math.floor(e.notAfter.getTime() / 1000),
        ),
      );

      await fx.sentry.close();
      const failedBefore = failures.length;
      await assert.rejects(server.renewNow());
      assert.ok(failures.length > failedBefore, 'a failed request is published on the diagnostics channel');
      assert.equal(failures.at(-1)?.currentNotAfter?.getTime(), server.current()?.notAfter.getTime());
      // Still serving on the current certificate.
      assert.equal(server.current()?.leaf.serialNumber, firstSerial);
      assert.equal(
        await callPeer(peer.port, client.tlsClientOptions()),
        'spiffe://public/ns/default/checkout',
      );

      // The retry loop keeps going on its own; bring sentry back on the same port and credentials.
      await waitUntil('a second failed retry', async () => failures.length >= failedBefore + 2, 10_000, {
        intervalMs: 20,
      });
      const revived = await startSentryFixtureOn(port, fx);
      fixtures.push(revived);
      await waitUntil(
        'the identity renews once sentry is back',
        async () => server.current()?.leaf.serialNumber !== firstSerial,
        15_000,
        { intervalMs: 20 },
      );
      assert.equal(
        await callPeer(peer.port, client.tlsClientOptions()),
        'spiffe://public/ns/default/checkout',
      );
    } finally {
      await peer.close();
    }
  });
});

/** A new sentry on `port` reading the same credential directory as `fx`. */
async function startSentryFixtureOn(port: number, fx: SentryFixture): Promise<SentryFixture> {
  const { SentryServer } = await import('../../../operator/sentry/sentry-server.js');
  const { InsecureValidator } = await import('../../../operator/sentry/validators.js');
  const { createSentryMetrics } = await import('../../../operator/sentry/metrics.js');
  const { silentLogger } = await import('../../../operator/sentry/logger.js');
  const { Registry } = await import('prom-client');
  const registry = new Registry();
  const sentry = new SentryServer({
    store: fx.store,
    trustDomain: 'cluster.local',
    namespace: 'dapr-system',
    host: '127.0.0.1',
    port,
    validators: { INSECURE: new InsecureValidator() },
    defaultValidator: 'INSECURE',
    workloadTtlMs: 24 * 3_600_000,
    skewMs: 15 * 60_000,
    caValidityMs: 365 * 86_400_000,
    reloadIntervalMs: 100,
    metrics: createSentryMetrics(registry),
    logger: silentLogger(),
    now: Date.now,
  });
  await sentry.start();
  return { ...fx, sentry, registry, close: () => sentry.close() };
}
