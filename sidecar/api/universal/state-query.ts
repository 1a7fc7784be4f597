import {
  isQueryable,
  type QueryFilter,
  type RequestMetadata,
  type StateQuery,
} from '../../state/state-store.js';
import { componentCall } from './component-calls.js';
import type { ApiContext } from './context.js';
import { keyScopeOf, outbound, resolveStateStore } from './state.js';
import { errorText, queryFailed, queryNotSupported } from './state-errors.js';
import { KEY_SEPARATOR, keyPrefixOf, originalStateKey } from './state-keys.js';

/**
 * The state query API (alpha1), after daprd's pkg/api/universal/state_query.go and contrib's
 * state/query parser. The JSON query is validated here into a typed `StateQuery`.
 */

/** POST v1.0-alpha1/state/{store}/query, body already parsed as JSON (or the raw parse failure). */
export interface QueryStateRequest {
  readonly storeName: string;
  /** The decoded JSON body; a string is parsed first. */
  readonly query: unknown;
  readonly metadata: RequestMetadata;
}

/** One result row; `key` is the app's key (prefix removed). */
export interface QueryStateItem {
  readonly key: string;
  readonly data: Uint8Array;
  readonly etag?: string;
  readonly error?: string;
}

/** Query results; an empty `results` list means HTTP 204. */
export interface QueryStateResult {
  readonly results: readonly QueryStateItem[];
  readonly token?: string;
  readonly metadata?: Readonly<Record<string, string>>;
}

const COMPARISONS = ['EQ', 'NEQ', 'GT', 'GTE', 'LT', 'LTE'] as const;

class QueryParseError extends Error {
  override readonly name = 'QueryParseError';
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Field keys address the JSON value; daprd's docs allow a leading `value.`. */
function fieldKey(key: string): string {
  if (key === '') throw new QueryParseError('empty key in filter');
  return key.startsWith('value.') ? key.slice('value.'.length) : key;
}

function parseFilter(raw: unknown): QueryFilter {
  if (!isRecord(raw)) throw new QueryParseError('filter must be an object');
  const ops = Object.keys(raw);
  if (ops.length !== 1)
    throw new QueryParseError(`filter must have exactly one operation, got ${ops.length}`);
  const op = ops[0] as string;
  const arg = raw[op];
  if (op === 'AND' || op === 'OR') {
    if (!Array.isArray(arg) || arg.length === 0)
      throw new QueryParseError(`${op} filter must be a non-empty array`);
    const filters = arg.map(parseFilter);
    return op === 'AND' ? { AND: filters } : { OR: filters };
  }
  if (!isRecord(arg)) throw new QueryParseError(`${op} filter must be an object`);
  const entries = Object.entries(arg);
  if (entries.length !== 1)
    throw new QueryParseError(`${op} filter must have exactly one key, got ${entries.length}`);
  const [key, value] = entries[0] as [string, unknown];
  if (op === 'IN') {
    if (!Array.isArray(value)) throw new QueryParseError(`IN filter value for "${key}" must be an array`);
    return { IN: { [fieldKey(key)]: value } };
  }
  if ((COMPARISONS as readonly string[]).includes(op)) {
    return { [op]: { [fieldKey(key)]: value } } as QueryFilter;
  }
  throw new QueryParseError(`unsupported filter operation "${op}"`);
}

/** Validates a JSON query into a `StateQuery`; throws with the reason. */
export function parseStateQuery(raw: unknown): StateQuery {
  if (!isRecord(raw)) throw new QueryParseError('query must be a JSON object');
  let query: {
    filter?: QueryFilter;
    sort?: { key: string; order: 'ASC' | 'DESC' }[];
    page?: { limit: number; token?: string };
  } = {};
  if (
    raw.filter !== undefined &&
    raw.filter !== null &&
    !(isRecord(raw.filter) && Object.keys(raw.filter).length === 0)
  ) {
    query = { ...query, filter: parseFilter(raw.filter) };
  }
  if (raw.sort !== undefined && raw.sort !== null) {
    if (!Array.isArray(raw.sort)) throw new QueryParseError('sort must be an array');
    const sort = raw.sort.map((s: unknown) => {
      if (!isRecord(s) || typeof s.key !== 'string')
        throw new QueryParseError('sort entries need a string "key"');
      const order = s.order === undefined || s.order === '' ? 'ASC' : s.order;
      if (order !== 'ASC' && order !== 'DESC')
        throw new QueryParseError(`sort order must be ASC or DESC, got "${String(order)}"`);
      return { key: fieldKey(s.key), order: order as 'ASC' | 'DESC' };
    });
    query = { ...query, sort };
  }
  if (raw.page !== undefined && raw.page !== null) {
    const page = raw.page;
    if (!isRecord(page)) throw new QueryParseError('page must be an object');
    const limit = page.limit ?? 0;
    if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 0)
      throw new QueryParseError('page.limit must be a non-negative integer');
    if (page.token !== undefined && typeof page.token !== 'string')
      throw new QueryParseError('page.token must be a string');
    query = { ...query, page: page.token === undefined ? { limit } : { limit, token: page.token } };
  }
  return query;
}

/** Runs a query on a store advertising QUERY_API; results are restricted to this app's keys. */
export async function queryState(ctx: ApiContext, req: QueryStateRequest): Promise<QueryStateResult> {
  const loaded = resolveStateStore(ctx, req.storeName);
  const store = loaded.store;
  if (!isQueryable(store)) throw queryNotSupported(req.storeName);
  let query: StateQuery;
  try {
    const raw = typeof req.query === 'string' ? (JSON.parse(req.query) as unknown) : req.query;
    query = parseStateQuery(raw);
  } catch (err) {
    throw queryFailed(req.storeName, `failed to parse JSON query body: ${errorText(err)}`, err);
  }
  const prefix = keyPrefixOf(keyScopeOf(ctx, loaded));
  const metadata =
    prefix === undefined ? req.metadata : { ...req.metadata, keyPrefix: `${prefix}${KEY_SEPARATOR}` };
  let res: Awaited<ReturnType<typeof store.query>>;
  try {
    res = await componentCall('state', req.storeName, 'query', () =>
      outbound(ctx, req.storeName, () => store.query(query, metadata)),
    );
  } catch (err) {
    throw queryFailed(req.storeName, errorText(err), err);
  }
  const results = res.results.map((r) => ({
    key: originalStateKey(r.key),
    data: r.data,
    ...(r.etag === undefined || r.etag === '' ? {} : { etag: r.etag }),
    ...(r.error === undefined || r.error === '' ? {} : { error: r.error }),
  }));
  return {
    results,
    ...(res.token === undefined || res.token === '' ? {} : { token: res.token }),
    ...(res.metadata === undefined || Object.keys(res.metadata).length === 0
      ? {}
      : { metadata: res.metadata }),
  };
}
