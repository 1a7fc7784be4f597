/**
 * The CA's credentials: trust anchors (`ca.crt`, one or more roots), the issuer chain
 * (`issuer.crt`) and the issuer key (`issuer.key`), as stored in Secret `dapr-trust-bundle` or in
 * the `--issuer-credentials` directory. Bootstrap mirrors Dapr sentry (pkg/sentry/server/ca).
 */

import type { KeyObject } from 'node:crypto';
import { createPrivateKey, createPublicKey, generateKeyPairSync, type X509Certificate } from 'node:crypto';
import {
  certificatesToPem,
  createCertificate,
  parseCertificates,
} from '../../sidecar/pki/x509/certificate.js';

/** The three PEM files, exactly as stored. */
export interface CaBundlePem {
  /** `ca.crt`: PEM trust anchors (roots). During a rotation it holds the old and the new root. */
  readonly caCrt: string;
  /** `issuer.crt`: PEM issuer certificate, optionally followed by intermediates. */
  readonly issuerCrt: string;
  /** `issuer.key`: PEM (PKCS#8 or SEC1) private key of the issuer. */
  readonly issuerKey: string;
}

/** Parsed and checked CA credentials. */
export interface CaBundle {
  readonly pem: CaBundlePem;
  readonly trustAnchors: readonly X509Certificate[];
  /** Issuer certificate first. */
  readonly issuerChain: readonly X509Certificate[];
  readonly issuerKey: KeyObject;
}

/** Raised when stored CA credentials are inconsistent. */
export class CaBundleError extends Error {
  /** Stable code. */
  readonly code = 'ERR_CA_BUNDLE_INVALID';
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'CaBundleError';
  }
}

/** Parses PEM credentials and checks that the key matches and the issuer chains to an anchor. */
export function parseCaBundle(pem: CaBundlePem): CaBundle {
  const trustAnchors = parseCertificates(pem.caCrt);
  const issuerChain = parseCertificates(pem.issuerCrt);
  const issuer = issuerChain[0];
  if (trustAnchors.length === 0) throw new CaBundleError('ca.crt holds no certificate');
  if (issuer === undefined) throw new CaBundleError('issuer.crt holds no certificate');
  let issuerKey: KeyObject;
  try {
    issuerKey = createPrivateKey(pem.issuerKey);
  } catch (err) {
    throw new CaBundleError('issuer.key is not a private key', { cause: err });
  }
  if (!issuer.checkPrivateKey(issuerKey)) throw new CaBundleError('issuer.key does not match issuer.crt');
  if (!issuer.ca) throw new CaBundleError('issuer.crt is not a CA certificate');
  const top = issuerChain[issuerChain.length - 1] ?? issuer;
  const anchored =
    trustAnchors.some((root) => top.checkIssued(root) && top.verify(root.publicKey)) ||
    trustAnchors.some((root) => root.raw.equals(top.raw));
  if (!anchored) throw new CaBundleError('issuer.crt does not chain to any certificate in ca.crt');
  return { pem, trustAnchors, issuerChain, issuerKey };
}

/** Options for generating a root or an issuer. */
export interface CaGenerateOptions {
  /** Trust domain of the control plane (root subject O). */
  readonly trustDomain: string;
  /** Namespace of sentry (issuer subject O = its SPIFFE ID). */
  readonly namespace: string;
  /** Validity of root and issuer in ms (Dapr: 365 days). */
  readonly validityMs: number;
  /** NotBefore is backdated by this much (allowed clock skew). */
  readonly skewMs: number;
  /** Current time. */
  readonly now: Date;
}

/** A freshly generated ECDSA P-256 key pair. */
export function generateP256(): { privateKey: KeyObject; publicKey: KeyObject } {
  return generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
}

/** Creates a self-signed root: subject `O=<trustDomain>`, CA, keyCertSign. */
export function generateRoot(opts: CaGenerateOptions): { cert: X509Certificate; key: KeyObject } {
  const keys = generateP256();
  const cert = createCertificate(
    {
      role: 'root',
      organizations: [opts.trustDomain],
      notBefore: new Date(opts.now.getTime() - opts.skewMs),
      notAfter: new Date(opts.now.getTime() + opts.validityMs),
      publicKey: keys.publicKey,
    },
    { privateKey: keys.privateKey },
  );
  return { cert, key: keys.privateKey };
}

/** Creates an issuer signed by `root`: subject `O=spiffe://<td>/ns/<ns>/dapr-sentry`, pathlen 0. */
export function generateIssuer(
  opts: CaGenerateOptions,
  root: { cert: X509Certificate; key: KeyObject },
): { cert: X509Certificate; key: KeyObject } {
  const keys = generateP256();
  const notAfter = Math.min(opts.now.getTime() + opts.validityMs, new Date(root.cert.validTo).getTime());
  const cert = createCertificate(
    {
      role: 'issuer',
      organizations: [`spiffe://${opts.trustDomain}/ns/${opts.namespace}/dapr-sentry`],
      notBefore: new Date(opts.now.getTime() - opts.skewMs),
      notAfter: new Date(notAfter),
      publicKey: keys.publicKey,
    },
    { certificate: root.cert, privateKey: root.key },
  );
  return { cert, key: keys.privateKey };
}

/** Generates root + issuer, as sentry does when no credentials exist. */
export function bootstrapCaBundle(opts: CaGenerateOptions): CaBundle {
  const root = generateRoot(opts);
  const issuer = generateIssuer(opts, root);
  return parseCaBundle({
    caCrt: certificatesToPem([root.cert]),
    issuerCrt: certificatesToPem([issuer.cert]),
    issuerKey: privateKeyToPem(issuer.key),
  });
}

/** PKCS#8 PEM of a private key. */
export function privateKeyToPem(key: KeyObject): string {
  return key.export({ type: 'pkcs8', format: 'pem' }).toString();
}

/** Whether two public keys are the same key. */
export function samePublicKey(a: KeyObject, b: KeyObject): boolean {
  const der = (k: KeyObject): Buffer =>
    (k.type === 'public' ? k : createPublicKey(k)).export({ type: 'spki', format: 'der' });
  return der(a).equals(der(b));
}
