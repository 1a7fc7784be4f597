import type { RequestMetadata } from '../../../state/state-store.js';
import { ETagError, parseTtlSeconds } from '../../../state/state-store.js';

/**
 * Helpers every state store shares: telling JSON values from opaque bytes, TTL arithmetic,
 * ETag format checks and the `ttlExpireTime` response metadata contrib stores return.
 */

const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** The JSON text of a value when its bytes are UTF-8 JSON (so queries can see it), else undefined. */
export function jsonText(value: Uint8Array): string | undefined {
  let text: string;
  try {
    text = UTF8.decode(value);
  } catch {
    return undefined;
  }
  if (text.trim() === '') return undefined;
  try {
    JSON.parse(text);
  } catch {
    return undefined;
  }
  return text;
}

/** Parses a value as JSON for query evaluation; undefined when the bytes are not JSON. */
export function parseJsonValue(value: Uint8Array): { readonly json: unknown } | undefined {
  const text = jsonText(value);
  return text === undefined ? undefined : { json: JSON.parse(text) as unknown };
}

/**
 * The expiry instant (epoch ms) for a write: `ttlInSeconds` from the request, else the store's
 * default. Undefined, 0 and -1 all mean "never expires" (a write without TTL clears an old one).
 */
export function expiryFor(
  metadata: RequestMetadata,
  nowMs: number,
  defaultTtlSeconds?: number,
): number | undefined {
  const ttl = parseTtlSeconds(metadata) ?? defaultTtlSeconds;
  if (ttl === undefined || ttl <= 0) return undefined;
  return nowMs + ttl * 1000;
}

/** RFC3339 (second precision, UTC) as contrib writes `ttlExpireTime`. */
export function rfc3339(epochMs: number): string {
  return new Date(epochMs).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Response metadata for an item: `{ttlExpireTime}` when it expires, else undefined. */
export function ttlMetadata(
  expiresAtMs: number | undefined | null,
): Readonly<Record<string, string>> | undefined {
  return expiresAtMs === undefined || expiresAtMs === null
    ? undefined
    : { ttlExpireTime: rfc3339(expiresAtMs) };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Throws `ETagError('invalid')` unless the ETag is a UUID (SQLite and PostgreSQL v2 ETags). */
export function assertUuidEtag(etag: string): void {
  if (!UUID.test(etag)) throw new ETagError('invalid', `invalid etag value: "${etag}" is not a UUID`);
}

/** Throws `ETagError('invalid')` unless the ETag is a positive integer (Redis and memory versions). */
export function assertIntegerEtag(etag: string): void {
  if (!/^[1-9]\d{0,17}$/.test(etag))
    throw new ETagError('invalid', `invalid etag value: "${etag}" is not an integer version`);
}

/** True when the request asks for first-write concurrency (only meaningful without an ETag). */
export function isFirstWrite(options: { readonly concurrency?: string } | undefined): boolean {
  return options?.concurrency === 'first-write';
}

/** Converts bytes to a Node Buffer view without copying. */
export function toBuffer(value: Uint8Array): Buffer {
  return Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
}

/** Copies bytes out of a Buffer into a plain Uint8Array, so callers never hold pooled memory. */
export function toBytes(value: Uint8Array): Uint8Array {
  return new Uint8Array(value);
}
