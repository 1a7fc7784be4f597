/**
 * Small ASN.1 building blocks on top of node-forge's `asn1` module. Forge builds and encodes the
 * DER structures; node:crypto does every key operation (see docs/mtls-rotation.md, "Why forge
 * plus node:crypto": forge's `pki` only handles RSA keys, and its JS signing is slow).
 */
import forge from 'node-forge';

const { asn1 } = forge;
const U = asn1.Class.UNIVERSAL;

/** A forge ASN.1 node. */
export type Asn1 = forge.asn1.Asn1;

/** Object identifiers used by workload and CA certificates. */
export const OID = {
  ecPublicKey: '1.2.840.10045.2.1',
  prime256v1: '1.2.840.10045.3.1.7',
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  ecdsaWithSha384: '1.2.840.10045.4.3.3',
  ed25519: '1.3.101.112',
  organizationName: '2.5.4.10',
  commonName: '2.5.4.3',
  subjectKeyIdentifier: '2.5.29.14',
  keyUsage: '2.5.29.15',
  subjectAltName: '2.5.29.17',
  basicConstraints: '2.5.29.19',
  authorityKeyIdentifier: '2.5.29.35',
  extKeyUsage: '2.5.29.37',
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
} as const;

/** SEQUENCE of the given nodes. */
export function sequence(items: Asn1[]): Asn1 {
  return asn1.create(U, asn1.Type.SEQUENCE, true, items);
}

/** SET of the given nodes. */
export function set(items: Asn1[]): Asn1 {
  return asn1.create(U, asn1.Type.SET, true, items);
}

/** OBJECT IDENTIFIER. */
export function oid(dotted: string): Asn1 {
  return asn1.create(U, asn1.Type.OID, false, asn1.oidToDer(dotted).getBytes());
}

/** INTEGER from unsigned big-endian bytes (a 0x00 is prepended when the top bit is set). */
export function unsignedInteger(bytes: Buffer): Asn1 {
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0) start++;
  let body = bytes.subarray(start);
  if (((body[0] ?? 0) & 0x80) !== 0) body = Buffer.concat([Buffer.from([0]), body]);
  return asn1.create(U, asn1.Type.INTEGER, false, body.toString('binary'));
}

/** INTEGER from a small non-negative number. */
export function smallInteger(value: number): Asn1 {
  return asn1.create(U, asn1.Type.INTEGER, false, asn1.integerToDer(value).getBytes());
}

/** BOOLEAN. */
export function boolean(value: boolean): Asn1 {
  return asn1.create(U, asn1.Type.BOOLEAN, false, value ? '\xff' : '\x00');
}

/** OCTET STRING wrapping raw bytes. */
export function octetString(bytes: Buffer): Asn1 {
  return asn1.create(U, asn1.Type.OCTETSTRING, false, bytes.toString('binary'));
}

/** BIT STRING with zero unused bits wrapping raw bytes (signatures, key bits). */
export function bitString(bytes: Buffer): Asn1 {
  return asn1.create(U, asn1.Type.BITSTRING, false, `\x00${bytes.toString('binary')}`);
}

/** UTF8String. */
export function utf8String(value: string): Asn1 {
  return asn1.create(U, asn1.Type.UTF8, false, forge.util.encodeUtf8(value));
}

/** Context-specific tagged node: explicit wraps `inner`, implicit replaces its tag. */
export function contextTag(tag: number, constructed: boolean, value: Asn1[] | string): Asn1 {
  return asn1.create(asn1.Class.CONTEXT_SPECIFIC, tag, constructed, value);
}

/** X.509 time: UTCTime before 2050, GeneralizedTime from 2050 (RFC 5280 §4.1.2.5). */
export function time(date: Date): Asn1 {
  if (date.getUTCFullYear() < 2050) {
    return asn1.create(U, asn1.Type.UTCTIME, false, asn1.dateToUtcTime(date));
  }
  return asn1.create(U, asn1.Type.GENERALIZEDTIME, false, asn1.dateToGeneralizedTime(date));
}

/** AlgorithmIdentifier without parameters (ECDSA, Ed25519). */
export function algorithm(dotted: string): Asn1 {
  return sequence([oid(dotted)]);
}

/** X.501 Name with one RDN per attribute; an empty list gives the empty Name. */
export function name(attributes: readonly { readonly oid: string; readonly value: string }[]): Asn1 {
  return sequence(attributes.map((a) => set([sequence([oid(a.oid), utf8String(a.value)])])));
}

/** Extension ::= SEQUENCE { extnID, critical DEFAULT FALSE, extnValue OCTET STRING }. */
export function extension(dotted: string, critical: boolean, value: Asn1): Asn1 {
  const items = [oid(dotted)];
  if (critical) items.push(boolean(true));
  items.push(octetString(toDer(value)));
  return sequence(items);
}

/** DER encoding of a node as a Buffer. */
export function toDer(node: Asn1): Buffer {
  return Buffer.from(asn1.toDer(node).getBytes(), 'binary');
}

/** Parses DER into a forge node without guessing at BIT STRING contents (keeps bytes exact). */
export function fromDer(der: Buffer): Asn1 {
  // forge's typings only declare the boolean `strict` form; the options object is its real API.
  const fromDerWithOptions = asn1.fromDer as unknown as (
    bytes: forge.util.ByteStringBuffer,
    options: object,
  ) => Asn1;
  return fromDerWithOptions(forge.util.createBuffer(der.toString('binary')), {
    decodeBitStrings: false,
    strict: true,
  });
}

/** The raw bytes of a primitive node's value. */
export function valueBytes(node: Asn1): Buffer {
  if (typeof node.value !== 'string') throw new Error('expected a primitive ASN.1 value');
  return Buffer.from(node.value, 'binary');
}

/** The children of a constructed node, or an error naming what was expected. */
export function children(node: Asn1 | undefined, what: string): Asn1[] {
  if (node === undefined || !Array.isArray(node.value)) throw new Error(`malformed ${what}`);
  return node.value;
}

/** The dotted form of an OBJECT IDENTIFIER node. */
export function readOid(node: Asn1 | undefined): string {
  if (node === undefined || node.type !== asn1.Type.OID || typeof node.value !== 'string') {
    throw new Error('expected an OBJECT IDENTIFIER');
  }
  return asn1.derToOid(forge.util.createBuffer(node.value));
}

/** KeyUsage bits, numbered as in RFC 5280 §4.2.1.3. */
export const KEY_USAGE = { digitalSignature: 0, keyCertSign: 5, cRLSign: 6 } as const;

/** KeyUsage BIT STRING for the given bit numbers, with the unused-bits count DER requires. */
export function keyUsageBits(bits: readonly number[]): Asn1 {
  let byte = 0;
  for (const b of bits) byte |= 0x80 >> b;
  let unused = 0;
  while (unused < 7 && (byte & (1 << unused)) === 0) unused++;
  return asn1.create(U, asn1.Type.BITSTRING, false, String.fromCharCode(unused, byte));
}
