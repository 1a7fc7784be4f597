/**
 * X.509 v3 certificate creation for ECDSA P-256 (and Ed25519) keys: forge's asn1 module builds the
 * TBSCertificate, node:crypto signs it. Parsing and chain checks use node:crypto's X509Certificate.
 */

import type { KeyObject } from 'node:crypto';
import { createHash, createPublicKey, randomBytes, sign, X509Certificate } from 'node:crypto';
import type { Asn1 } from './asn1-builders.js';
import {
  algorithm,
  bitString,
  boolean,
  children,
  contextTag,
  extension,
  fromDer,
  KEY_USAGE,
  keyUsageBits,
  name,
  OID,
  octetString,
  oid,
  sequence,
  smallInteger,
  time,
  toDer,
  unsignedInteger,
} from './asn1-builders.js';

/** What a certificate is for; decides basic constraints, key usage and extended key usage. */
export type CertificateRole = 'root' | 'issuer' | 'workload';

/** Everything needed to create one certificate. */
export interface CertificateTemplate {
  /** root: self-signed CA; issuer: intermediate CA; workload: leaf for mTLS (server + client). */
  readonly role: CertificateRole;
  /** Subject O values (empty for workload leaves, which are named by their URI SAN). */
  readonly organizations?: readonly string[];
  /** URI SANs, e.g. the SPIFFE ID. */
  readonly uris?: readonly string[];
  /** DNS SANs. */
  readonly dnsNames?: readonly string[];
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** Public key of the subject. */
  readonly publicKey: KeyObject;
}

/** The issuing side: its certificate (absent for self-signed roots) and its private key. */
export interface Signer {
  /** Issuer certificate; undefined means self-signed (issuer = subject). */
  readonly certificate?: X509Certificate;
  readonly privateKey: KeyObject;
}

/** Signature algorithm OID and node:crypto digest name for a signing key. */
export function signatureAlgorithmFor(key: KeyObject): {
  readonly oid: string;
  readonly digest: string | null;
} {
  if (key.asymmetricKeyType === 'ed25519') return { oid: OID.ed25519, digest: null };
  if (key.asymmetricKeyType === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve;
    if (curve === 'secp384r1') return { oid: OID.ecdsaWithSha384, digest: 'sha384' };
    return { oid: OID.ecdsaWithSha256, digest: 'sha256' };
  }
  throw new Error(`unsupported signing key type ${key.asymmetricKeyType ?? 'unknown'}`);
}

/** SubjectPublicKeyInfo DER of a public key. */
export function spkiDer(publicKey: KeyObject): Buffer {
  return publicKey.export({ type: 'spki', format: 'der' });
}

/** RFC 5280 §4.2.1.2 method 1: SHA-1 of the subjectPublicKey BIT STRING contents. */
export function keyIdentifier(publicKey: KeyObject): Buffer {
  return createHash('sha1').update(subjectPublicKeyBits(publicKey)).digest();
}

/** The subjectPublicKey bits: read from the JWK for EC/Ed25519 (fast), else from the SPKI DER. */
function subjectPublicKeyBits(publicKey: KeyObject): Buffer {
  const type = publicKey.asymmetricKeyType;
  if (type === 'ec' || type === 'ed25519') {
    const jwk = publicKey.export({ format: 'jwk' });
    const x = Buffer.from(jwk.x ?? '', 'base64url');
    // Uncompressed EC point: 0x04 || X || Y (node exports EC public keys uncompressed).
    return type === 'ec' ? Buffer.concat([Buffer.from([4]), x, Buffer.from(jwk.y ?? '', 'base64url')]) : x;
  }
  const spki = children(fromDer(spkiDer(publicKey)), 'SubjectPublicKeyInfo');
  const bits = spki[1]?.value;
  if (typeof bits !== 'string') throw new Error('malformed SubjectPublicKeyInfo');
  return Buffer.from(bits, 'binary').subarray(1);
}

/** The subject Name node of a certificate, copied byte for byte (used as a child's issuer). */
const subjectNames = new WeakMap<X509Certificate, Asn1>();
const authorityKeyIds = new WeakMap<X509Certificate, Buffer>();

function subjectNameOf(cert: X509Certificate): Asn1 {
  const cached = subjectNames.get(cert);
  if (cached !== undefined) return cached;
  const tbs = children(children(fromDer(cert.raw), 'certificate')[0], 'TBSCertificate');
  // TBSCertificate: [0] version, serial, signature, issuer, validity, subject, ...
  const subject = tbs[0]?.tagClass === 0x80 ? tbs[5] : tbs[4];
  if (subject === undefined) throw new Error('malformed certificate subject');
  subjectNames.set(cert, subject);
  return subject;
}

function extensionsFor(template: CertificateTemplate, signer: Signer): Asn1[] {
  const exts: Asn1[] = [];
  const isCa = template.role !== 'workload';
  if (isCa) {
    const bc: Asn1[] = [boolean(true)];
    if (template.role === 'issuer') bc.push(smallInteger(0));
    exts.push(extension(OID.basicConstraints, true, sequence(bc)));
    exts.push(extension(OID.keyUsage, true, keyUsageBits([KEY_USAGE.keyCertSign, KEY_USAGE.cRLSign])));
  } else {
    exts.push(extension(OID.basicConstraints, true, sequence([])));
    exts.push(extension(OID.keyUsage, true, keyUsageBits([KEY_USAGE.digitalSignature])));
    exts.push(extension(OID.extKeyUsage, false, sequence([oid(OID.serverAuth), oid(OID.clientAuth)])));
  }
  exts.push(extension(OID.subjectKeyIdentifier, false, octetString(keyIdentifier(template.publicKey))));
  exts.push(
    extension(
      OID.authorityKeyIdentifier,
      false,
      sequence([contextTag(0, false, authorityKeyId(template, signer).toString('binary'))]),
    ),
  );
  const sans: Asn1[] = [
    ...(template.uris ?? []).map((u) => contextTag(6, false, u)),
    ...(template.dnsNames ?? []).map((d) => contextTag(2, false, d)),
  ];
  if (sans.length > 0) {
    // An empty subject makes the SAN extension critical (RFC 5280 §4.2.1.6).
    const emptySubject = (template.organizations ?? []).length === 0;
    exts.push(extension(OID.subjectAltName, emptySubject, sequence(sans)));
  }
  return exts;
}

/** Key id of the signer (cached per issuer certificate: every leaf repeats it). */
function authorityKeyId(template: CertificateTemplate, signer: Signer): Buffer {
  const cert = signer.certificate;
  if (cert === undefined) return keyIdentifier(template.publicKey);
  let id = authorityKeyIds.get(cert);
  if (id === undefined) {
    id = keyIdentifier(cert.publicKey);
    authorityKeyIds.set(cert, id);
  }
  return id;
}

/** Builds the DER TBSCertificate (exported so the bench can time signing alone). */
export function buildTbsCertificate(template: CertificateTemplate, signer: Signer): Buffer {
  const subject = name((template.organizations ?? []).map((value) => ({ oid: OID.organizationName, value })));
  const issuer = signer.certificate === undefined ? subject : subjectNameOf(signer.certificate);
  const serial = randomBytes(16);
  serial[0] = (serial[0] ?? 0) & 0x7f;
  const tbs = sequence([
    contextTag(0, true, [smallInteger(2)]),
    unsignedInteger(serial),
    algorithm(signatureAlgorithmFor(signer.privateKey).oid),
    issuer,
    sequence([time(template.notBefore), time(template.notAfter)]),
    subject,
    fromDer(spkiDer(template.publicKey)),
    contextTag(3, true, [sequence(extensionsFor(template, signer))]),
  ]);
  return toDer(tbs);
}

/** Signs DER bytes with the key's natural algorithm (ECDSA signatures come out DER-encoded). */
export function signDer(tbs: Buffer, privateKey: KeyObject): Buffer {
  return sign(signatureAlgorithmFor(privateKey).digest, tbs, privateKey);
}

/** Wraps a TBSCertificate and its signature into a Certificate. */
export function assembleCertificate(tbs: Buffer, signature: Buffer, privateKey: KeyObject): X509Certificate {
  const der = toDer(
    sequence([fromDer(tbs), algorithm(signatureAlgorithmFor(privateKey).oid), bitString(signature)]),
  );
  return new X509Certificate(der);
}

/** Creates and signs a certificate. */
export function createCertificate(template: CertificateTemplate, signer: Signer): X509Certificate {
  const tbs = buildTbsCertificate(template, signer);
  return assembleCertificate(tbs, signDer(tbs, signer.privateKey), signer.privateKey);
}

/** PEM of one certificate. */
export function certificateToPem(cert: X509Certificate): string {
  return cert.toString();
}

/** Splits a PEM bundle into certificates (order kept). */
export function parseCertificates(pem: string | Buffer): X509Certificate[] {
  const text = typeof pem === 'string' ? pem : pem.toString('utf8');
  const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  return blocks.map((b) => new X509Certificate(b));
}

/** Concatenated PEM of several certificates. */
export function certificatesToPem(certs: readonly X509Certificate[]): string {
  return certs.map((c) => c.toString().trim()).join('\n') + (certs.length > 0 ? '\n' : '');
}

/** URI SANs of a certificate (node reports them as `URI:<value>` entries). */
export function uriSans(cert: X509Certificate): string[] {
  return parseSubjectAltName(cert.subjectAltName ?? '')
    .filter((e) => e.kind === 'URI')
    .map((e) => e.value);
}

/** Parses node's `subjectAltName` string (`DNS:a, URI:b`), which quotes values that contain commas. */
export function parseSubjectAltName(san: string): { kind: string; value: string }[] {
  const out: { kind: string; value: string }[] = [];
  const re = /(DNS|URI|IP Address|email|othername|DirName):("(?:[^"\\]|\\.)*"|[^,]*)(?:,\s*|$)/g;
  for (const m of san.matchAll(re)) {
    const kind = m[1] ?? '';
    let value = m[2] ?? '';
    if (value.startsWith('"')) value = JSON.parse(value) as string;
    out.push({ kind, value });
  }
  return out;
}

/** Public key of a PEM/DER certificate or key as a KeyObject. */
export function publicKeyOf(cert: X509Certificate): KeyObject {
  return createPublicKey(cert.publicKey.export({ type: 'spki', format: 'pem' }));
}
