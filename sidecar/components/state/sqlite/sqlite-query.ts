import type { QueryFilter, StateQuery } from '../../../state/state-store.js';
import { parsePageToken, QueryError, splitPath } from '../shared/query-evaluator.js';

/**
 * Translates a Dapr state query into SQLite SQL over the JSON text in the `value` column, with
 * the same semantics as the in-memory evaluator (see `shared/query-evaluator.ts`).
 */

/** A WHERE/ORDER BY fragment with its positional parameters. */
export interface SqlFragment {
  readonly sql: string;
  readonly params: readonly unknown[];
}

/** A JSON path for `json_extract`, with every segment quoted (`$."a"."b"`). */
export function sqliteJsonPath(key: string): string {
  return `$${splitPath(key)
    .map((s) => {
      if (s.includes('"')) throw new QueryError(`query key segment must not contain '"': "${key}"`);
      return `."${s}"`;
    })
    .join('')}`;
}

function eqExpr(path: string, operand: unknown): SqlFragment {
  const t = 'json_type(value, ?)';
  const x = 'json_extract(value, ?)';
  if (operand === null) return { sql: `${t} = 'null'`, params: [path] };
  if (typeof operand === 'boolean') return { sql: `${t} = '${operand ? 'true' : 'false'}'`, params: [path] };
  if (typeof operand === 'number')
    return { sql: `(${t} IN ('integer','real') AND ${x} = ?)`, params: [path, path, operand] };
  if (typeof operand === 'string')
    return { sql: `(${t} = 'text' AND ${x} = ?)`, params: [path, path, operand] };
  if (typeof operand === 'object') {
    const kind = Array.isArray(operand) ? 'array' : 'object';
    return { sql: `(${t} = '${kind}' AND ${x} = json(?))`, params: [path, path, JSON.stringify(operand)] };
  }
  throw new QueryError(`unsupported query operand ${String(operand)}`);
}

function orderedExpr(path: string, operand: unknown, sqlOp: string): SqlFragment {
  const t = 'json_type(value, ?)';
  const x = 'json_extract(value, ?)';
  if (typeof operand === 'number')
    return { sql: `(${t} IN ('integer','real') AND ${x} ${sqlOp} ?)`, params: [path, path, operand] };
  if (typeof operand === 'string')
    return { sql: `(${t} = 'text' AND ${x} ${sqlOp} ?)`, params: [path, path, operand] };
  // Only numbers and strings are ordered; anything else matches nothing, as in memory.
  return { sql: '0', params: [] };
}

function onlyEntry<V>(rec: Readonly<Record<string, V>>, op: string): [string, V] {
  const entries = Object.entries(rec);
  const first = entries[0];
  if (entries.length !== 1 || first === undefined) throw new QueryError(`${op} takes exactly one key`);
  return first;
}

const ORDERED: Readonly<Record<string, string>> = { GT: '>', GTE: '>=', LT: '<', LTE: '<=' };

/** Translates a filter into a boolean SQL expression. */
export function sqliteFilter(filter: QueryFilter): SqlFragment {
  if ('AND' in filter || 'OR' in filter) {
    const parts = ('AND' in filter ? filter.AND : filter.OR).map(sqliteFilter);
    if (parts.length === 0) return { sql: 'AND' in filter ? '1' : '0', params: [] };
    return {
      sql: `(${parts.map((p) => p.sql).join('AND' in filter ? ' AND ' : ' OR ')})`,
      params: parts.flatMap((p) => p.params),
    };
  }
  if ('IN' in filter) {
    const [key, values] = onlyEntry(filter.IN, 'IN');
    const path = sqliteJsonPath(key);
    const parts = values.map((v) => eqExpr(path, v));
    if (parts.length === 0) return { sql: '0', params: [] };
    return { sql: `(${parts.map((p) => p.sql).join(' OR ')})`, params: parts.flatMap((p) => p.params) };
  }
  const [op, rec] = Object.entries(filter)[0] as [string, Readonly<Record<string, unknown>>];
  const [key, operand] = onlyEntry(rec, op);
  const path = sqliteJsonPath(key);
  if (op === 'EQ') return eqExpr(path, operand);
  if (op === 'NEQ') {
    const eq = eqExpr(path, operand);
    return { sql: `(json_type(value, ?) IS NOT NULL AND NOT ${eq.sql})`, params: [path, ...eq.params] };
  }
  const sqlOp = ORDERED[op];
  if (sqlOp === undefined) throw new QueryError(`unsupported query operator "${op}"`);
  return orderedExpr(path, operand, sqlOp);
}

const RANK = `CASE json_type(value, ?) WHEN 'null' THEN 0 WHEN 'text' THEN 1 WHEN 'integer' THEN 2 WHEN 'real' THEN 2
  WHEN 'true' THEN 3 WHEN 'false' THEN 3 WHEN 'array' THEN 4 WHEN 'object' THEN 5 ELSE 6 END`;

/** Builds the full SELECT for a query; fetches one extra row to know whether a next page exists. */
export function sqliteQuery(
  table: string,
  query: StateQuery,
  keyPrefix: string,
  nowMs: number,
): SqlFragment & { limit: number; offset: number } {
  const where: string[] = [
    'is_binary = 0',
    'json_valid(value)',
    '(expiration_time IS NULL OR expiration_time > ?)',
    'substr(key, 1, length(?)) = ?',
  ];
  const params: unknown[] = [nowMs, keyPrefix, keyPrefix];
  if (query.filter) {
    const f = sqliteFilter(query.filter);
    where.push(f.sql);
    params.push(...f.params);
  }
  const order: string[] = [];
  for (const s of query.sort ?? []) {
    const path = sqliteJsonPath(s.key);
    const dir = s.order === 'DESC' ? 'DESC' : 'ASC';
    order.push(`(json_type(value, ?) IS NULL) ASC`, `${RANK} ${dir}`, `json_extract(value, ?) ${dir}`);
    params.push(path, path, path);
  }
  order.push('key ASC');
  const offset = parsePageToken(query.page?.token);
  const limit = query.page?.limit ?? 0;
  let sql = `SELECT key, value, etag FROM ${table} WHERE ${where.join(' AND ')} ORDER BY ${order.join(', ')}`;
  if (limit > 0) {
    sql += ' LIMIT ? OFFSET ?';
    params.push(limit + 1, offset);
  } else if (offset > 0) {
    sql += ' LIMIT -1 OFFSET ?';
    params.push(offset);
  }
  return { sql, params, limit, offset };
}
