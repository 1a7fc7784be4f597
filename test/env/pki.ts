import { generateKeyPairSync, randomBytes } from 'node:crypto';
import forge from 'node-forge';

/** A PEM certificate with its PEM private key. */
export interface CertificateKeyPair {
  /** PEM-encoded X.509 certificate. */
  readonly certPem: string;
  /** PEM-encoded private key (PKCS#1 RSA). */
  readonly keyPem: string;
}

/** What a leaf certificate is for; sets the extended key usage. */
export type CertificateUsage = 'server' | 'client' | 'server-and-client';

/** Subject and SANs of a leaf certificate issued by a test CA. */
export interface LeafCertificateRequest {
  /** Subject CN (the user name for Kubernetes client certs). */
  readonly commonName: string;
  /** Subject O entries (the groups for Kubernetes client certs, e.g. `system:masters`). */
  readonly organizations?: readonly string[];
  /** DNS subject alternative names. */
  readonly dnsNames?: readonly string[];
  /** IP subject alternative names. */
  readonly ipAddresses?: readonly string[];
  /** Extended key usage; defaults to `server`. */
  readonly usage?: CertificateUsage;
  /** Validity in days from now; defaults to 7. */
  readonly validityDays?: number;
}

/** A throwaway certificate authority for tests (never use outside tests). */
export interface TestCertificateAuthority extends CertificateKeyPair {
  /** Issues a leaf certificate signed by this CA, with a fresh RSA key. */
  issue(request: LeafCertificateRequest): CertificateKeyPair;
}

/** An RSA key pair in PEM form (e.g. the service-account signing key). */
export interface RsaKeyPairPem {
  /** PKCS#1 private key PEM. */
  readonly privateKeyPem: string;
  /** SPKI public key PEM. */
  readonly publicKeyPem: string;
}

/** Generates a 2048-bit RSA key pair with node:crypto (native, far faster than forge's JS RSA). */
export function generateRsaKeyPair(): RsaKeyPairPem {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  return { privateKeyPem: privateKey, publicKeyPem: publicKey };
}

function newCertificate(publicKeyPem: string, validityDays: number): forge.pki.Certificate {
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(publicKeyPem);
  // Positive serial: clear the top bit so DER does not read it as negative.
  const serial = randomBytes(16);
  serial[0] = (serial[0] ?? 0) & 0x7f;
  cert.serialNumber = serial.toString('hex');
  const now = Date.now();
  cert.validity.notBefore = new Date(now - 60 * 60 * 1000);
  cert.validity.notAfter = new Date(now + validityDays * 24 * 60 * 60 * 1000);
  return cert;
}

function subject(commonName: string, organizations: readonly string[] = []): forge.pki.CertificateField[] {
  return [
    { name: 'commonName', value: commonName },
    ...organizations.map((o) => ({ name: 'organizationName', value: o })),
  ];
}

/** Creates a self-signed CA valid for `validityDays` (default 7) that issues leaf certificates. */
export function createTestCertificateAuthority(
  commonName: string,
  validityDays = 7,
): TestCertificateAuthority {
  const keys = generateRsaKeyPair();
  const caKey = forge.pki.privateKeyFromPem(keys.privateKeyPem);
  const caCert = newCertificate(keys.publicKeyPem, validityDays);
  caCert.setSubject(subject(commonName));
  caCert.setIssuer(subject(commonName));
  caCert.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  caCert.sign(caKey, forge.md.sha256.create());
  const certPem = forge.pki.certificateToPem(caCert);
  return {
    certPem,
    keyPem: keys.privateKeyPem,
    issue(request: LeafCertificateRequest): CertificateKeyPair {
      const leafKeys = generateRsaKeyPair();
      const cert = newCertificate(leafKeys.publicKeyPem, request.validityDays ?? validityDays);
      cert.setSubject(subject(request.commonName, request.organizations));
      cert.setIssuer(caCert.subject.attributes);
      const usage = request.usage ?? 'server';
      const altNames = [
        ...(request.dnsNames ?? []).map((value) => ({ type: 2, value })),
        ...(request.ipAddresses ?? []).map((ip) => ({ type: 7, ip })),
      ];
      cert.setExtensions([
        { name: 'basicConstraints', cA: false },
        { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
        { name: 'extKeyUsage', serverAuth: usage !== 'client', clientAuth: usage !== 'server' },
        { name: 'authorityKeyIdentifier', keyIdentifier: caCert.generateSubjectKeyIdentifier().getBytes() },
        ...(altNames.length > 0 ? [{ name: 'subjectAltName', altNames }] : []),
      ]);
      cert.sign(caKey, forge.md.sha256.create());
      return { certPem: forge.pki.certificateToPem(cert), keyPem: leafKeys.privateKeyPem };
    },
  };
}
