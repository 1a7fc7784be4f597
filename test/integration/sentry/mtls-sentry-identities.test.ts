import assert from 'node:assert/strict';
import type { X509Certificate } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { createSecureContext } from 'node:tls';
import { generateP256, parseCaBundle, privateKeyToPem } from '../../../operator/sentry/ca-bundle.js';
import { certificatesToPem, createCertificate, uriSans } from '../../../sidecar/pki/x509/certificate.js';
import { serverIdentityChecker } from '../../../sidecar/security/peer-verification.js';
import type { WorkloadIdentity } from '../../../sidecar/security/workload-identity.js';
import { waitUntil } from '../../env/process.js';
import type { PeerServer } from './mtls-peers.js';
import { callPeer, startPeerServer } from './mtls-peers.js';
import type { SentryFixture } from './sentry-fixture.js';
import { startSentryFixture } from './sentry-fixture.js';

describe('mTLS between peers holding sentry certificates', () => {
  let fx: SentryFixture;
  let other: SentryFixture;
  let orders: WorkloadIdentity;
  let checkout: WorkloadIdentity;
  let server: PeerServer;

  before(async () => {
    fx = await startSentryFixture();
    other = await startSentryFixture();
    orders = await fx.identity('orders');
    checkout = await fx.identity('checkout');
    await orders.start();
    await checkout.start();
    server = await startPeerServer(orders);
  });
  after(async () => {
    await server?.close();
    await fx?.close();
    await other?.close();
  });

  it('issues a SPIFFE workload certificate with the Dapr shape', () => {
    const cur = checkout.current();
    assert.ok(cur);
    assert.equal(cur.spiffeId, 'spiffe://public/ns/default/checkout');
    assert.deepEqual(uriSans(cur.leaf), ['spiffe://public/ns/default/checkout']);
    assert.equal(cur.leaf.ca, false);
    assert.equal(cur.leaf.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
    const ttl = cur.notAfter.getTime() - cur.notBefore.getTime();
    // 24h TTL + 15m backdated skew.
    assert.equal(Math.round(ttl / 60_000), 24 * 60 + 15);
    assert.equal(cur.leaf.checkIssued(fx.sentry.ca.bundle.issuerChain[0] as X509Certificate), true);
  });

  it('completes a handshake both ways and each side sees the other SPIFFE ID', async () => {
    const body = await callPeer(server.port, checkout.tlsClientOptions());
    assert.equal(body, 'spiffe://public/ns/default/checkout');
  });

  it('refuses a client that pins another app id for the server', async () => {
    await assert.rejects(
      callPeer(server.port, checkout.tlsClientOptions({ trustDomains: ['public'], appIds: ['payments'] })),
      /app id "orders" is not allowed/,
    );
  });

  it('refuses a self-signed client certificate', async () => {
    const keys = generateP256();
    const now = Date.now();
    const selfSigned = createCertificate(
      {
        role: 'workload',
        uris: ['spiffe://public/ns/default/mallory'],
        notBefore: new Date(now - 60_000),
        notAfter: new Date(now + 3_600_000),
        publicKey: keys.publicKey,
      },
      { privateKey: keys.privateKey },
    );
    const ctx = createSecureContext({
      key: privateKeyToPem(keys.privateKey),
      cert: selfSigned.toString(),
      ca: checkout.trustAnchorsPem(),
    });
    const seen = server.rejections.length;
    await assert.rejects(callPeer(server.port, { secureContext: ctx, checkServerIdentity: () => undefined }));
    await waitUntil(
      'the server reports an untrusted chain',
      async () =>
        server.rejections
          .slice(seen)
          .some((m) =>
            /client certificate rejected: (UNABLE_TO_VERIFY_LEAF_SIGNATURE|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_GET_ISSUER_CERT)/.test(
              m,
            ),
          ),
      5_000,
      { intervalMs: 20 },
    );
  });

  it('refuses an expired certificate signed by the real issuer', async () => {
    const bundle = parseCaBundle((await fx.store.load()) ?? assert.fail('no credentials'));
    const keys = generateP256();
    const now = Date.now();
    const expired = createCertificate(
      {
        role: 'workload',
        uris: ['spiffe://public/ns/default/checkout'],
        notBefore: new Date(now - 2 * 86_400_000),
        notAfter: new Date(now - 86_400_000),
        publicKey: keys.publicKey,
      },
      { certificate: bundle.issuerChain[0] as X509Certificate, privateKey: bundle.issuerKey },
    );
    const ctx = createSecureContext({
      key: privateKeyToPem(keys.privateKey),
      cert: certificatesToPem([expired, ...bundle.issuerChain]),
      ca: checkout.trustAnchorsPem(),
    });
    const seen = server.rejections.length;
    await assert.rejects(callPeer(server.port, { secureContext: ctx, checkServerIdentity: () => undefined }));
    await waitUntil(
      'the server reports an expired certificate',
      async () => server.rejections.slice(seen).some((m) => /CERT_HAS_EXPIRED/.test(m)),
      5_000,
      { intervalMs: 20 },
    );
  });

  it('refuses a client from another trust domain, even under the same root', async () => {
    const foreign = await fx.identity('checkout', { trustDomain: 'evil.example' });
    await foreign.start();
    assert.equal(foreign.current()?.spiffeId, 'spiffe://evil.example/ns/default/checkout');
    const rejected = server.rejections.length;
    await assert.rejects(callPeer(server.port, foreign.tlsClientOptions({ trustDomains: ['public'] })));
    assert.match(server.rejections[rejected] ?? '', /trust domain "evil.example" is not trusted/);
  });

  it('a client refuses a server from another trust domain', async () => {
    const foreign = await fx.identity('orders', { trustDomain: 'evil.example' });
    await foreign.start();
    const foreignServer = await startPeerServer(foreign, { trustDomains: [] });
    try {
      await assert.rejects(
        callPeer(foreignServer.port, checkout.tlsClientOptions()),
        /trust domain "evil.example" is not trusted/,
      );
      // The same server is fine for a client that accepts that trust domain.
      const ok = await callPeer(foreignServer.port, {
        ...checkout.tlsClientOptions(),
        checkServerIdentity: serverIdentityChecker({ trustDomains: ['evil.example'] }),
      });
      assert.equal(ok, 'spiffe://public/ns/default/checkout');
    } finally {
      await foreignServer.close();
    }
  });

  it('refuses a peer whose certificate comes from another sentry (another root)', async () => {
    const stranger = await other.identity('checkout');
    await stranger.start();
    // The stranger does not trust our server either; let it try anyway, so our server decides.
    const seen = server.rejections.length;
    await assert.rejects(
      callPeer(server.port, { ...stranger.tlsClientOptions(), rejectUnauthorized: false }),
    );
    await waitUntil(
      'the server rejects the foreign chain',
      async () => server.rejections.slice(seen).some((m) => /client certificate rejected/.test(m)),
      5_000,
      { intervalMs: 20 },
    );
    // And the stranger refuses our server on its own.
    await assert.rejects(
      callPeer(server.port, stranger.tlsClientOptions()),
      /self.signed|unable to (get|verify)/i,
    );
  });
});
