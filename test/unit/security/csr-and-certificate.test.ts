import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { describe, it } from 'node:test';
import forge from 'node-forge';
import { bootstrapCaBundle, generateP256 } from '../../../operator/sentry/ca-bundle.js';
import { CertificateAuthority } from '../../../operator/sentry/certificate-authority.js';
import { parseSubjectAltName, uriSans } from '../../../sidecar/pki/x509/certificate.js';
import { CsrError, createCsr, derToPem, parseCsr, pemToDer } from '../../../sidecar/pki/x509/csr.js';

const NOW = Date.UTC(2026, 5, 1, 12);
const bundle = bootstrapCaBundle({
  trustDomain: 'cluster.local',
  namespace: 'dapr-system',
  validityMs: 365 * 86_400_000,
  skewMs: 15 * 60_000,
  now: new Date(NOW),
});
const ca = new CertificateAuthority(bundle, {
  workloadTtlMs: 24 * 3_600_000,
  skewMs: 15 * 60_000,
  now: () => NOW,
});

describe('CSR parsing', () => {
  it('accepts an ECDSA P-256 CSR and returns its key', () => {
    const keys = generateP256();
    const parsed = parseCsr(createCsr(keys.privateKey, keys.publicKey));
    assert.equal(
      parsed.publicKey.export({ type: 'spki', format: 'pem' }),
      keys.publicKey.export({ type: 'spki', format: 'pem' }),
    );
  });

  it('accepts an Ed25519 CSR', () => {
    const keys = generateKeyPairSync('ed25519');
    assert.equal(parseCsr(createCsr(keys.privateKey, keys.publicKey)).publicKey.asymmetricKeyType, 'ed25519');
  });

  it('refuses text that is not PEM', () => {
    assert.throws(() => parseCsr('hello'), CsrError);
  });

  it('refuses a CSR whose signature was tampered with', () => {
    const keys = generateP256();
    const der = pemToDer(createCsr(keys.privateKey, keys.publicKey), 'CERTIFICATE REQUEST');
    der[der.length - 3] = (der[der.length - 3] ?? 0) ^ 0xff;
    assert.throws(
      () => parseCsr(derToPem(der, 'CERTIFICATE REQUEST')),
      /signature does not verify|invalid certificate signing request/,
    );
  });

  it('refuses a CSR signed for another key', () => {
    const a = generateP256();
    const b = generateP256();
    assert.throws(() => parseCsr(createCsr(a.privateKey, b.publicKey)), /signature does not verify/);
  });

  it('refuses an RSA CSR (workload keys are ECDSA)', () => {
    const keys = forge.pki.rsa.generateKeyPair(1024);
    const csr = forge.pki.createCertificationRequest();
    csr.publicKey = keys.publicKey;
    csr.sign(keys.privateKey, forge.md.sha256.create());
    assert.throws(() => parseCsr(forge.pki.certificationRequestToPem(csr)), /unsupported key type rsa/);
  });
});

describe('workload certificate shape', () => {
  const keys = generateP256();
  const signed = ca.sign({
    csrPem: createCsr(keys.privateKey, keys.publicKey),
    spiffeId: 'spiffe://public/ns/default/orders',
  });

  it('carries the SPIFFE ID as its only SAN, NotBefore backdated by the skew, NotAfter = now + TTL', () => {
    assert.deepEqual(uriSans(signed.leaf), ['spiffe://public/ns/default/orders']);
    assert.equal(new Date(signed.leaf.validFrom).getTime(), NOW - 15 * 60_000);
    assert.equal(new Date(signed.leaf.validTo).getTime(), NOW + 24 * 3_600_000);
    assert.ok(signed.leaf.subject === undefined || signed.leaf.subject === '', 'empty subject');
  });

  it('is a leaf, chains to the issuer and the root, and returns the trust anchors', () => {
    const issuer = bundle.issuerChain[0];
    const root = bundle.trustAnchors[0];
    assert.ok(issuer && root);
    assert.equal(signed.leaf.ca, false);
    assert.equal(signed.leaf.verify(issuer.publicKey), true);
    assert.equal(issuer.verify(root.publicKey), true);
    assert.equal(issuer.subject, 'O=spiffe://cluster.local/ns/dapr-system/dapr-sentry');
    assert.equal(root.subject, 'O=cluster.local');
    assert.deepEqual(signed.trustAnchorsPem, [root.toString()]);
    assert.equal((signed.certChainPem.match(/BEGIN CERTIFICATE/g) ?? []).length, 2);
  });

  it('is never valid past its issuer', () => {
    const longCa = new CertificateAuthority(bundle, {
      workloadTtlMs: 2 * 365 * 86_400_000,
      skewMs: 0,
      now: () => NOW,
    });
    const k = generateP256();
    const s = longCa.sign({
      csrPem: createCsr(k.privateKey, k.publicKey),
      spiffeId: 'spiffe://public/ns/default/x',
    });
    assert.equal(s.leaf.validTo, bundle.issuerChain[0]?.validTo);
  });
});

describe('subjectAltName parsing', () => {
  it('reads URI and DNS entries, including quoted values', () => {
    assert.deepEqual(parseSubjectAltName('DNS:a.svc, URI:spiffe://public/ns/x/y, URI:"spiffe://a,b"'), [
      { kind: 'DNS', value: 'a.svc' },
      { kind: 'URI', value: 'spiffe://public/ns/x/y' },
      { kind: 'URI', value: 'spiffe://a,b' },
    ]);
  });
});
