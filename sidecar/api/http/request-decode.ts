import { DaprError } from '../../errors/dapr-error.js';
import type { RequestMetadata, StateOptions } from '../../state/state-store.js';
import {
  type SaveStateItem,
  type StateTransactionOperation,
  transactionOperationType,
} from '../universal/state.js';

/**
 * Decodes daprd's HTTP JSON bodies into the universal API's typed requests. Shape errors are
 * 400 ERR_MALFORMED_REQUEST, like Go's JSON decoder failing in daprd.
 */

type Json = Record<string, unknown>;

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v === 'number' ? 'number' : typeof v;
}

function malformed(message: string, prefix: string): DaprError {
  return new DaprError('ERR_MALFORMED_REQUEST', `${prefix}${message}`);
}

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A decoding context: daprd's message prefix for the route. */
interface Ctx {
  readonly prefix: string;
}

function optString(obj: Json, field: string, where: string, c: Ctx): string | undefined {
  const v = obj[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string')
    throw malformed(
      `json: cannot unmarshal ${typeName(v)} into field ${where}.${field} of type string`,
      c.prefix,
    );
  return v;
}

function decodeMetadata(v: unknown, where: string, c: Ctx): Record<string, string> {
  if (v === undefined || v === null) return {};
  if (!isObject(v))
    throw malformed(
      `json: cannot unmarshal ${typeName(v)} into field ${where}.metadata of type map[string]string`,
      c.prefix,
    );
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(v)) {
    if (typeof val !== 'string') {
      throw malformed(
        `json: cannot unmarshal ${typeName(val)} into field ${where}.metadata of type string`,
        c.prefix,
      );
    }
    out[k] = val;
  }
  return out;
}

/** Parses `concurrency`/`consistency` values; empty means unset. */
export function decodeOptions(
  concurrency: unknown,
  consistency: unknown,
  c: Ctx = { prefix: '' },
): StateOptions | undefined {
  let out: { concurrency?: 'first-write' | 'last-write'; consistency?: 'strong' | 'eventual' } = {};
  if (concurrency !== undefined && concurrency !== null && concurrency !== '') {
    if (concurrency !== 'first-write' && concurrency !== 'last-write') {
      throw malformed(`unrecognized concurrency model '${String(concurrency)}'`, c.prefix);
    }
    out = { ...out, concurrency };
  }
  if (consistency !== undefined && consistency !== null && consistency !== '') {
    if (consistency !== 'strong' && consistency !== 'eventual') {
      throw malformed(`unrecognized consistency model '${String(consistency)}'`, c.prefix);
    }
    out = { ...out, consistency };
  }
  return out.concurrency === undefined && out.consistency === undefined ? undefined : out;
}

function decodeItemOptions(v: unknown, where: string, c: Ctx): StateOptions | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isObject(v))
    throw malformed(`json: cannot unmarshal ${typeName(v)} into field ${where}.options`, c.prefix);
  return decodeOptions(v.concurrency, v.consistency, c);
}

/** daprd stores a JSON value as its JSON text (contrib's utils.Marshal); a missing value is `null`. */
export function encodeJsonValue(value: unknown): Uint8Array {
  return Buffer.from(JSON.stringify(value === undefined ? null : value), 'utf8');
}

/** Merges URL `metadata.*` params over item metadata (daprd: maps.Copy(item, query)). */
function merge(item: Record<string, string>, query: RequestMetadata): RequestMetadata {
  return Object.keys(query).length === 0 ? item : { ...item, ...query };
}

function decodeSaveItem(v: unknown, where: string, query: RequestMetadata, c: Ctx): SaveStateItem {
  if (!isObject(v))
    throw malformed(`json: cannot unmarshal ${typeName(v)} into ${where} of type object`, c.prefix);
  const key = optString(v, 'key', where, c) ?? '';
  const etag = optString(v, 'etag', where, c);
  const contentType = optString(v, 'contentType', where, c);
  const options = decodeItemOptions(v.options, where, c);
  return {
    key,
    value: encodeJsonValue(v.value),
    metadata: merge(decodeMetadata(v.metadata, where, c), query),
    ...(etag === undefined ? {} : { etag }),
    ...(contentType === undefined ? {} : { contentType }),
    ...(options === undefined ? {} : { options }),
  };
}

/** POST state/{store}: a JSON array of `{key, value, etag?, metadata?, options?}`. */
export function decodeSaveBody(body: unknown, query: RequestMetadata): SaveStateItem[] {
  const c: Ctx = { prefix: '' };
  if (!Array.isArray(body))
    throw malformed(
      `json: cannot unmarshal ${typeName(body)} into Go value of type []state.SetRequest`,
      c.prefix,
    );
  return body.map((item, i) => decodeSaveItem(item, `[${i}]`, query, c));
}

/** POST state/{store}/bulk: `{keys, parallelism?, metadata?}` with URL metadata merged in. */
export function decodeBulkGetBody(
  body: unknown,
  query: RequestMetadata,
): { keys: string[]; parallelism: number; metadata: RequestMetadata } {
  const c: Ctx = { prefix: 'failed deserializing HTTP body: ' };
  if (!isObject(body))
    throw malformed(
      `json: cannot unmarshal ${typeName(body)} into Go value of type http.BulkGetRequest`,
      c.prefix,
    );
  const keysRaw = body.keys ?? [];
  if (!Array.isArray(keysRaw) || keysRaw.some((k) => typeof k !== 'string')) {
    throw malformed(
      'json: cannot unmarshal keys into Go struct field BulkGetRequest.keys of type []string',
      c.prefix,
    );
  }
  const p = body.parallelism ?? 0;
  if (typeof p !== 'number' || !Number.isInteger(p)) {
    throw malformed(
      `json: cannot unmarshal ${typeName(p)} into Go struct field BulkGetRequest.parallelism of type int`,
      c.prefix,
    );
  }
  return {
    keys: keysRaw as string[],
    parallelism: p,
    metadata: merge(decodeMetadata(body.metadata, 'BulkGetRequest', c), query),
  };
}

/**
 * POST state/{store}/transaction. As daprd: the body `metadata` (with URL metadata over it) goes to
 * the store's Multi; each operation's metadata gets the URL metadata merged in. Unknown operation
 * types are 400 ERR_NOT_SUPPORTED_STATE_OPERATION.
 */
export function decodeTransactionBody(
  body: unknown,
  query: RequestMetadata,
): { operations: StateTransactionOperation[]; metadata: RequestMetadata } {
  const c: Ctx = { prefix: 'failed deserializing HTTP body: ' };
  if (!isObject(body))
    throw malformed(
      `json: cannot unmarshal ${typeName(body)} into Go value of type http.stateTransactionRequestBody`,
      c.prefix,
    );
  const opsRaw = body.operations ?? [];
  if (!Array.isArray(opsRaw))
    throw malformed(`json: cannot unmarshal ${typeName(opsRaw)} into Go struct field .operations`, c.prefix);
  const metadata = merge(decodeMetadata(body.metadata, 'stateTransactionRequestBody', c), query);
  const operations = opsRaw.map((raw, i): StateTransactionOperation => {
    if (!isObject(raw))
      throw malformed(`json: cannot unmarshal ${typeName(raw)} into operations[${i}]`, c.prefix);
    const opName = transactionOperationType(raw.operation);
    const where = `operations[${i}].request`;
    if (opName === 'upsert') {
      return { operation: 'upsert', request: decodeSaveItem(raw.request ?? {}, where, query, c) };
    }
    const r = raw.request ?? {};
    if (!isObject(r)) throw malformed(`json: cannot unmarshal ${typeName(r)} into ${where}`, c.prefix);
    const etag = optString(r, 'etag', where, c);
    const options = decodeItemOptions(r.options, where, c);
    return {
      operation: 'delete',
      request: {
        key: optString(r, 'key', where, c) ?? '',
        metadata: merge(decodeMetadata(r.metadata, where, c), query),
        ...(etag === undefined ? {} : { etag }),
        ...(options === undefined ? {} : { options }),
      },
    };
  });
  return { operations, metadata };
}
