import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createSecureContext } from 'node:tls';
import { addRoot, reissueIssuer, removeOldRoots } from '../../../operator/sentry/root-rotation.js';
import { parseCertificates } from '../../../sidecar/pki/x509/certificate.js';
import type { WorkloadIdentity } from '../../../sidecar/security/workload-identity.js';
import { waitUntil } from '../../env/process.js';
import type { PeerServer } from './mtls-peers.js';
import { callPeer, startPeerServer } from './mtls-peers.js';
import type { SentryFixture } from './sentry-fixture.js';
import { startSentryFixture } from './sentry-fixture.js';

/** Calls `server` from `client` over fresh mTLS connections until stopped; counts outcomes per phase. */
function callLoop(client: WorkloadIdentity, server: PeerServer, phase: () => string) {
  const state = {
    stop: false,
    ok: 0,
    failed: 0,
    errors: [] as string[],
    perPhase: new Map<string, number>(),
  };
  const done = (async () => {
    while (!state.stop) {
      const p = phase();
      try {
        await callPeer(server.port, client.tlsClientOptions());
        state.ok++;
        state.perPhase.set(p, (state.perPhase.get(p) ?? 0) + 1);
      } catch (err) {
        state.failed++;
        state.errors.push(`[${p}] ${(err as Error).message}`);
      }
      await sleep(5);
    }
  })();
  return { state, done };
}

describe('trust-anchor rotation without restarts', () => {
  let fx: SentryFixture;
  let orders: WorkloadIdentity;
  let checkout: WorkloadIdentity;
  let ordersServer: PeerServer;
  let checkoutServer: PeerServer;
  let oldCheckout: { key: string; cert: string } | undefined;

  before(async () => {
    fx = await startSentryFixture();
    orders = await fx.identity('orders');
    checkout = await fx.identity('checkout');
    await orders.start();
    await checkout.start();
    ordersServer = await startPeerServer(orders);
    checkoutServer = await startPeerServer(checkout);
  });
  after(async () => {
    await ordersServer?.close();
    await checkoutServer?.close();
    await fx?.close();
  });

  it('keeps every call succeeding through add root → re-issue issuer → renew → remove old root', async () => {
    let phase = 'before';
    const forward = callLoop(checkout, ordersServer, () => phase);
    const backward = callLoop(orders, checkoutServer, () => phase);
    const gen = () => ({
      trustDomain: 'cluster.local',
      namespace: 'dapr-system',
      validityMs: 365 * 86_400_000,
      skewMs: 15 * 60_000,
      now: new Date(),
    });
    const rootKey = join(fx.dir, 'new-root.key');
    const roots = (id: WorkloadIdentity) => parseCertificates(id.trustAnchorsPem()).length;
    const waitFor = (what: string, cond: () => boolean) =>
      waitUntil(what, async () => cond(), 20_000, { intervalMs: 20 });
    const callsIn = async (p: string) =>
      waitFor(
        `calls during ${p}`,
        () => (forward.state.perPhase.get(p) ?? 0) >= 5 && (backward.state.perPhase.get(p) ?? 0) >= 5,
      );
    try {
      await callsIn('before');
      const oldRoot = parseCertificates(orders.trustAnchorsPem())[0];

      phase = 'added';
      await addRoot(fx.store, rootKey, gen());
      await waitFor(
        'sidecars and sentry trust old+new roots',
        () => roots(orders) === 2 && roots(checkout) === 2 && fx.sentry.ca.bundle.trustAnchors.length === 2,
      );
      await callsIn('added');

      phase = 'reissued';
      const oldIssuerSerial = fx.sentry.ca.bundle.issuerChain[0]?.serialNumber;
      await reissueIssuer(fx.store, rootKey, gen());
      await waitFor(
        'sentry reloads the new issuer',
        () => fx.sentry.ca.bundle.issuerChain[0]?.serialNumber !== oldIssuerSerial,
      );
      await callsIn('reissued');

      // Sidecars renew (normally at ~50% of validity; here right away, one after the other).
      phase = 'renewing';
      const before = checkout.current();
      if (before !== undefined) oldCheckout = { key: before.keyPem, cert: before.certChainPem };
      await orders.renewNow();
      await callsIn('renewing');
      await checkout.renewNow();
      const newIssuer = fx.sentry.ca.bundle.issuerChain[0];
      assert.ok(newIssuer);
      for (const id of [orders, checkout]) assert.equal(id.current()?.leaf.checkIssued(newIssuer), true);
      await callsIn('renewing');

      phase = 'finished';
      await removeOldRoots(fx.store);
      await waitFor('sidecars drop the old root', () => roots(orders) === 1 && roots(checkout) === 1);
      assert.notEqual(
        parseCertificates(orders.trustAnchorsPem())[0]?.fingerprint256,
        oldRoot?.fingerprint256,
      );
      await callsIn('finished');
    } finally {
      forward.state.stop = true;
      backward.state.stop = true;
      await Promise.all([forward.done, backward.done]);
    }
    assert.deepEqual(
      [...forward.state.errors, ...backward.state.errors],
      [],
      'no call may fail during the rotation',
    );
    assert.equal(forward.state.failed + backward.state.failed, 0);
    assert.ok(
      forward.state.ok + backward.state.ok >= 50,
      `made ${forward.state.ok + backward.state.ok} calls`,
    );
  });

  it('after the rotation, a certificate from the old issuer is no longer trusted', async () => {
    // The old root is gone from every bundle; the sidecars now only accept the new chain.
    assert.equal(parseCertificates(orders.trustAnchorsPem()).length, 1);
    assert.ok(oldCheckout, 'the rotation test captured the pre-rotation certificate');
    const stale = createSecureContext({ ...oldCheckout, ca: checkout.trustAnchorsPem() });
    await assert.rejects(
      callPeer(ordersServer.port, { secureContext: stale, checkServerIdentity: () => undefined }),
    );
    const body = await callPeer(ordersServer.port, checkout.tlsClientOptions());
    assert.equal(body, 'spiffe://public/ns/default/checkout');
  });
});
