/**
 * PKCS#10 certificate signing requests: creation (sidecar side) and parsing with signature
 * verification (sentry side). Forge's `pki.certificationRequestFromPem` only reads RSA keys, so the
 * structure is walked with forge's asn1 and the signature is checked with node:crypto.
 */

import type { KeyObject } from 'node:crypto';
import { createPublicKey, sign, verify } from 'node:crypto';
import {
  algorithm,
  bitString,
  children,
  contextTag,
  fromDer,
  name,
  OID,
  readOid,
  sequence,
  smallInteger,
  toDer,
} from './asn1-builders.js';
import { signatureAlgorithmFor, spkiDer } from './certificate.js';

/** A CSR whose self-signature verified. */
export interface ParsedCsr {
  /** The requester's public key. */
  readonly publicKey: KeyObject;
}

/** Raised for any malformed or badly signed CSR (sentry maps it to InvalidArgument). */
export class CsrError extends Error {
  /** Stable code for callers. */
  readonly code = 'ERR_CSR_INVALID';
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'CsrError';
  }
}

/** Creates a PEM CSR with an empty subject (identity goes in the certificate's URI SAN). */
export function createCsr(privateKey: KeyObject, publicKey: KeyObject): string {
  const info = sequence([smallInteger(0), name([]), fromDer(spkiDer(publicKey)), contextTag(0, true, [])]);
  const infoDer = toDer(info);
  const alg = signatureAlgorithmFor(privateKey);
  const signature = sign(alg.digest, infoDer, privateKey);
  const der = toDer(sequence([info, algorithm(alg.oid), bitString(signature)]));
  return derToPem(der, 'CERTIFICATE REQUEST');
}

const DIGESTS: Readonly<Record<string, string | null>> = {
  [OID.ecdsaWithSha256]: 'sha256',
  [OID.ecdsaWithSha384]: 'sha384',
  [OID.ed25519]: null,
};

/** Parses a PEM (or DER) CSR and verifies its self-signature; only EC and Ed25519 keys pass. */
export function parseCsr(input: string | Buffer): ParsedCsr {
  let der: Buffer;
  try {
    der = pemToDer(input, 'CERTIFICATE REQUEST');
  } catch (err) {
    throw new CsrError('certificate signing request is not PEM', { cause: err });
  }
  try {
    const top = children(fromDer(der), 'CertificationRequest');
    const info = top[0];
    const infoChildren = children(info, 'CertificationRequestInfo');
    const spki = infoChildren[2];
    if (info === undefined || spki === undefined) throw new Error('missing CertificationRequestInfo');
    const algOid = readOid(children(top[1], 'signature algorithm')[0]);
    const sigBits = top[2]?.value;
    if (typeof sigBits !== 'string') throw new Error('missing signature');
    const signature = Buffer.from(sigBits, 'binary').subarray(1);
    const publicKey = createPublicKey({ key: toDer(spki), format: 'der', type: 'spki' });
    if (publicKey.asymmetricKeyType !== 'ec' && publicKey.asymmetricKeyType !== 'ed25519') {
      throw new Error(
        `unsupported key type ${publicKey.asymmetricKeyType ?? 'unknown'} (want ECDSA or Ed25519)`,
      );
    }
    const digest = DIGESTS[algOid];
    if (digest === undefined) throw new Error(`unsupported signature algorithm ${algOid}`);
    if (!verify(digest, toDer(info), publicKey, signature)) throw new Error('signature does not verify');
    return { publicKey };
  } catch (err) {
    if (err instanceof CsrError) throw err;
    throw new CsrError(`invalid certificate signing request: ${(err as Error).message}`, { cause: err });
  }
}

/** DER bytes → PEM text with the given label. */
export function derToPem(der: Buffer, label: string): string {
  const b64 = der
    .toString('base64')
    .replace(/(.{64})/g, '$1\n')
    .replace(/\n$/, '');
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}

/** PEM text (first block with the label) → DER bytes; DER input passes through. */
export function pemToDer(input: string | Buffer, label: string): Buffer {
  const text = typeof input === 'string' ? input : input.toString('latin1');
  const m = new RegExp(`-----BEGIN ${label}-----([\\s\\S]+?)-----END ${label}-----`).exec(text);
  if (m === null) {
    if (typeof input !== 'string' && input[0] === 0x30) return input;
    throw new Error(`no ${label} PEM block`);
  }
  return Buffer.from((m[1] ?? '').replace(/\s+/g, ''), 'base64');
}
