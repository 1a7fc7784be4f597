import type { Component } from '../components/component.js';

/**
 * The state store contract, after components-contrib's `state.Store`. Keys arrive already
 * prefixed (`appid||key`); stores never see Dapr's key-prefix rules. Values are opaque bytes.
 * Optional capabilities are separate interfaces, advertised through `features`.
 */

/** Capability names as daprd reports them in `/v1.0/metadata`. */
export type StateFeature = 'ETAG' | 'TRANSACTIONAL' | 'QUERY_API' | 'TTL' | 'ACTOR' | 'DELETE_WITH_PREFIX';

/** Request options from the API's `options` object. */
export interface StateOptions {
  readonly concurrency?: 'first-write' | 'last-write';
  readonly consistency?: 'strong' | 'eventual';
}

/** Per-request metadata (`metadata.*` query params and item metadata). `ttlInSeconds` lives here. */
export type RequestMetadata = Readonly<Record<string, string>>;

export interface GetRequest {
  readonly key: string;
  readonly metadata: RequestMetadata;
  readonly options?: StateOptions;
}

export interface GetResponse {
  readonly data: Uint8Array;
  readonly etag?: string;
  /** Response metadata, e.g. `ttlExpireTime` (RFC3339) when the item has a TTL. */
  readonly metadata?: Readonly<Record<string, string>>;
  readonly contentType?: string;
}

export interface SetRequest {
  readonly key: string;
  readonly value: Uint8Array;
  /** When present the write is optimistic: it must match the stored ETag. */
  readonly etag?: string;
  readonly metadata: RequestMetadata;
  readonly options?: StateOptions;
  readonly contentType?: string;
}

export interface DeleteRequest {
  readonly key: string;
  readonly etag?: string;
  readonly metadata: RequestMetadata;
  readonly options?: StateOptions;
}

export interface BulkGetItem {
  readonly key: string;
  readonly data?: Uint8Array;
  readonly etag?: string;
  readonly metadata?: Readonly<Record<string, string>>;
  readonly error?: string;
}

/** The base contract every state store implements. */
export interface StateStore extends Component {
  readonly features: ReadonlySet<StateFeature>;
  /** Returns undefined when the key does not exist (or has expired). */
  get(req: GetRequest): Promise<GetResponse | undefined>;
  /** Throws `ETagError` on mismatch or a malformed ETag. */
  set(req: SetRequest): Promise<void>;
  /** Deleting a missing key without an ETag succeeds. Throws `ETagError` on mismatch. */
  delete(req: DeleteRequest): Promise<void>;
  /** Optional native bulk get; the universal API falls back to parallel `get`. */
  bulkGet?(keys: readonly GetRequest[]): Promise<BulkGetItem[]>;
}

/** One operation of a transaction. */
export type TransactionOperation =
  | { readonly operation: 'upsert'; readonly request: SetRequest }
  | { readonly operation: 'delete'; readonly request: DeleteRequest };

/** Stores with `TRANSACTIONAL`: all operations commit atomically or none do. */
export interface TransactionalStore {
  multi(operations: readonly TransactionOperation[], metadata: RequestMetadata): Promise<void>;
}

/** A Dapr state query filter (`EQ`, `NEQ`, `GT`, `GTE`, `LT`, `LTE`, `IN`, `AND`, `OR`). */
export type QueryFilter =
  | { readonly EQ: Readonly<Record<string, unknown>> }
  | { readonly NEQ: Readonly<Record<string, unknown>> }
  | { readonly GT: Readonly<Record<string, unknown>> }
  | { readonly GTE: Readonly<Record<string, unknown>> }
  | { readonly LT: Readonly<Record<string, unknown>> }
  | { readonly LTE: Readonly<Record<string, unknown>> }
  | { readonly IN: Readonly<Record<string, readonly unknown[]>> }
  | { readonly AND: readonly QueryFilter[] }
  | { readonly OR: readonly QueryFilter[] };

/** A parsed, validated state query. Keys are dotted paths into the JSON value (`value.` prefix stripped). */
export interface StateQuery {
  readonly filter?: QueryFilter;
  readonly sort?: readonly { readonly key: string; readonly order: 'ASC' | 'DESC' }[];
  readonly page?: { readonly limit: number; readonly token?: string };
}

export interface QueryResultItem {
  readonly key: string;
  readonly data: Uint8Array;
  readonly etag?: string;
  readonly error?: string;
}

export interface QueryResponse {
  readonly results: readonly QueryResultItem[];
  readonly token?: string;
  readonly metadata?: Readonly<Record<string, string>>;
}

/** Stores with `QUERY_API`. `keyPrefix` restricts results to this app's keys (`appid||`). */
export interface QueryableStore {
  query(
    query: StateQuery,
    metadata: RequestMetadata & { readonly keyPrefix?: string },
  ): Promise<QueryResponse>;
}

/** Why an ETag was refused: a stale value (→ 409) or a value the store cannot parse (→ 400). */
export type ETagErrorKind = 'mismatch' | 'invalid';

/** Thrown by stores when an optimistic-concurrency check fails. */
export class ETagError extends Error {
  override readonly name = 'ETagError';
  readonly kind: ETagErrorKind;
  constructor(kind: ETagErrorKind, message?: string, options?: { cause?: unknown }) {
    super(
      message ??
        (kind === 'mismatch' ? 'possible etag mismatch. error from state store' : 'invalid etag value'),
      options,
    );
    this.kind = kind;
  }
}

/** Narrowing helpers for optional capabilities. */
export function isTransactional(store: StateStore): store is StateStore & TransactionalStore {
  return (
    store.features.has('TRANSACTIONAL') && typeof (store as Partial<TransactionalStore>).multi === 'function'
  );
}

export function isQueryable(store: StateStore): store is StateStore & QueryableStore {
  return store.features.has('QUERY_API') && typeof (store as Partial<QueryableStore>).query === 'function';
}

/** Parses `metadata.ttlInSeconds`: undefined when absent, -1 means never expire. Throws on bad input. */
export function parseTtlSeconds(metadata: RequestMetadata): number | undefined {
  const raw = metadata.ttlInSeconds;
  if (raw === undefined || raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < -1)
    throw new RangeError(`ttlInSeconds must be an integer >= -1, got "${raw}"`);
  return n;
}
