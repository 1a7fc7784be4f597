import assert from 'node:assert/strict';
import type { X509Certificate } from 'node:crypto';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { bootstrapCaBundle } from '../../../operator/sentry/ca-bundle.js';
import { addRoot, reissueIssuer, removeOldRoots } from '../../../operator/sentry/root-rotation.js';
import { certificatesToPem, parseCertificates } from '../../../sidecar/pki/x509/certificate.js';
import type { TrustBundleChangedEvent } from '../../../sidecar/security/security-events.js';
import { securityChannels } from '../../../sidecar/security/security-events.js';
import type { WorkloadIdentity } from '../../../sidecar/security/workload-identity.js';
import { waitUntil } from '../../env/process.js';
import type { SentryFixture } from './sentry-fixture.js';
import { startSentryFixture } from './sentry-fixture.js';

const foreignRoot = () =>
  bootstrapCaBundle({
    trustDomain: 'elsewhere',
    namespace: 'x',
    validityMs: 86_400_000,
    skewMs: 0,
    now: new Date(),
  }).trustAnchors[0];

describe('trust bundle sources of the workload identity', () => {
  let fx: SentryFixture;
  let id: WorkloadIdentity;
  const events: TrustBundleChangedEvent[] = [];
  const onEvent = (m: unknown) => events.push(m as TrustBundleChangedEvent);

  before(async () => {
    subscribe(securityChannels.trustBundleChanged.name, onEvent);
    fx = await startSentryFixture();
    id = await fx.identity('orders');
    await id.start();
  });
  after(async () => {
    unsubscribe(securityChannels.trustBundleChanged.name, onEvent);
    await fx?.close();
  });

  it('takes a bundle from a callback (the operator stream) and notifies listeners', async () => {
    const extra = foreignRoot();
    assert.ok(extra);
    const changes: string[] = [];
    const off = id.onChange((what) => changes.push(what));
    id.updateTrustAnchors(id.trustAnchorsPem() + extra.toString());
    off();
    assert.equal(parseCertificates(id.trustAnchorsPem()).length, 2);
    assert.deepEqual(changes, ['trust-bundle']);
    assert.deepEqual(events.at(-1), { roots: 2, source: 'callback' });
  });

  it('picks up a rewritten trust file (mounted ConfigMap)', async () => {
    const extra = foreignRoot();
    assert.ok(extra);
    const real = certificatesToPem(fx.sentry.ca.bundle.trustAnchors);
    await fx.store.publishTrustAnchors(real + extra.toString());
    await waitUntil(
      'the file bundle is applied',
      async () => events.at(-1)?.source === 'file' && events.at(-1)?.roots === 2,
      5_000,
      { intervalMs: 20 },
    );
    await fx.store.publishTrustAnchors(real);
    await waitUntil(
      'and again when it changes back',
      async () => parseCertificates(id.trustAnchorsPem()).length === 1,
      5_000,
      { intervalMs: 20 },
    );
  });

  it('renews at once when a new bundle no longer anchors its certificate', async () => {
    const gen = () => ({
      trustDomain: 'cluster.local',
      namespace: 'dapr-system',
      validityMs: 86_400_000,
      skewMs: 0,
      now: new Date(),
    });
    const key = join(fx.dir, 'next-root.key');
    await addRoot(fx.store, key, gen());
    await reissueIssuer(fx.store, key, gen());
    await waitUntil(
      'sentry on the new issuer',
      async () =>
        fx.sentry.ca.bundle.trustAnchors.length === 2 &&
        fx.sentry.ca.bundle.issuerChain[0]?.checkIssued(
          fx.sentry.ca.bundle.trustAnchors[1] as X509Certificate,
        ) === true,
      10_000,
      { intervalMs: 20 },
    );
    // No renewNow(): dropping the old root must be enough for the sidecar to move.
    await removeOldRoots(fx.store);
    await waitUntil(
      'the identity renewed under the new issuer',
      async () => {
        const issuer = fx.sentry.ca.bundle.issuerChain[0];
        return issuer !== undefined && id.current()?.leaf.checkIssued(issuer) === true;
      },
      10_000,
      { intervalMs: 20 },
    );
  });
});
