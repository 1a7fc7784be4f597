import type { QueryFilter, StateQuery } from '../../../state/state-store.js';
import { parsePageToken, QueryError, splitPath } from '../shared/query-evaluator.js';

/**
 * Translates a Dapr state query into PostgreSQL over the JSONB `value` column, with the same
 * semantics as the in-memory evaluator (see `shared/query-evaluator.ts`). Every operand and
 * path is a bind parameter; only the (validated) table name is spliced in.
 */

/** Collects bind parameters and hands out `$n` placeholders. */
export class ParamList {
  readonly values: unknown[] = [];
  /** Adds a value and returns its placeholder. */
  add(v: unknown): string {
    this.values.push(v);
    return `$${this.values.length}`;
  }
}

function onlyEntry<V>(rec: Readonly<Record<string, V>>, op: string): [string, V] {
  const entries = Object.entries(rec);
  const first = entries[0];
  if (entries.length !== 1 || first === undefined) throw new QueryError(`${op} takes exactly one key`);
  return first;
}

function jsonOperand(v: unknown): string {
  if (v === undefined || typeof v === 'function' || typeof v === 'symbol' || typeof v === 'bigint') {
    throw new QueryError(`unsupported query operand ${String(v)}`);
  }
  return JSON.stringify(v);
}

const ORDERED: Readonly<Record<string, string>> = { GT: '>', GTE: '>=', LT: '<', LTE: '<=' };

/** Translates a filter into a boolean SQL expression. */
export function postgresFilter(filter: QueryFilter, p: ParamList): string {
  if ('AND' in filter || 'OR' in filter) {
    const parts = ('AND' in filter ? filter.AND : filter.OR).map((f) => postgresFilter(f, p));
    if (parts.length === 0) return 'AND' in filter ? 'TRUE' : 'FALSE';
    return `(${parts.join('AND' in filter ? ' AND ' : ' OR ')})`;
  }
  if ('IN' in filter) {
    const [key, values] = onlyEntry(filter.IN, 'IN');
    const x = `(value #> ${p.add(splitPath(key))}::text[])`;
    return `(${x} = ANY(${p.add(values.map(jsonOperand))}::jsonb[]))`;
  }
  const [op, rec] = Object.entries(filter)[0] as [string, Readonly<Record<string, unknown>>];
  const [key, operand] = onlyEntry(rec, op);
  const path = p.add(splitPath(key));
  const x = `(value #> ${path}::text[])`;
  if (op === 'EQ') return `(${x} = ${p.add(jsonOperand(operand))}::jsonb)`;
  if (op === 'NEQ') return `(${x} IS NOT NULL AND ${x} <> ${p.add(jsonOperand(operand))}::jsonb)`;
  const sqlOp = ORDERED[op];
  if (sqlOp === undefined) throw new QueryError(`unsupported query operator "${op}"`);
  if (typeof operand === 'number') {
    // CASE, not AND: PostgreSQL does not promise to evaluate the type test before the cast.
    return `(CASE WHEN jsonb_typeof(${x}) = 'number' THEN (${x})::numeric ${sqlOp} ${p.add(String(operand))}::numeric ELSE FALSE END)`;
  }
  if (typeof operand === 'string') {
    return `(CASE WHEN jsonb_typeof(${x}) = 'string' THEN (value #>> ${path}::text[]) COLLATE "C" ${sqlOp} ${p.add(operand)}::text COLLATE "C" ELSE FALSE END)`;
  }
  // Only numbers and strings are ordered; anything else matches nothing, as in memory.
  return 'FALSE';
}

function sortTerms(key: string, order: 'ASC' | 'DESC', p: ParamList): string[] {
  const path = p.add(splitPath(key));
  const x = `(value #> ${path}::text[])`;
  const dir = order === 'DESC' ? 'DESC' : 'ASC';
  return [
    `(${x} IS NULL) ASC`,
    `CASE jsonb_typeof(${x}) WHEN 'null' THEN 0 WHEN 'string' THEN 1 WHEN 'number' THEN 2 WHEN 'boolean' THEN 3 WHEN 'array' THEN 4 WHEN 'object' THEN 5 END ${dir}`,
    `CASE WHEN jsonb_typeof(${x}) = 'number' THEN (${x})::numeric END ${dir}`,
    `CASE WHEN jsonb_typeof(${x}) = 'string' THEN (value #>> ${path}::text[]) END COLLATE "C" ${dir}`,
    `${x} ${dir}`,
  ];
}

/** Builds the full SELECT for a query; fetches one extra row to know whether a next page exists. */
export function postgresQuery(
  table: string,
  query: StateQuery,
  keyPrefix: string,
): { sql: string; params: unknown[]; limit: number; offset: number } {
  const p = new ParamList();
  const where = [
    'NOT isbinary',
    '(expiredate IS NULL OR expiredate > now())',
    `starts_with(key, ${p.add(keyPrefix)})`,
  ];
  if (query.filter) where.push(postgresFilter(query.filter, p));
  const order = (query.sort ?? []).flatMap((s) => sortTerms(s.key, s.order, p));
  order.push('key COLLATE "C" ASC');
  const offset = parsePageToken(query.page?.token);
  const limit = query.page?.limit ?? 0;
  let sql = `SELECT key, value::text AS value, etag::text AS etag FROM ${table} WHERE ${where.join(' AND ')} ORDER BY ${order.join(', ')}`;
  if (limit > 0) sql += ` LIMIT ${p.add(limit + 1)}`;
  if (offset > 0) sql += ` OFFSET ${p.add(offset)}`;
  return { sql, params: p.values, limit, offset };
}
