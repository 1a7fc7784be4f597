import type { QueryFilter, StateQuery } from '../../../state/state-store.js';

/**
 * Evaluates Dapr state queries over parsed JSON values in memory. The SQL translators follow
 * the same rules, so every store answers a query alike:
 * - paths are dotted keys into the value (`person.org`); a missing field matches nothing, not
 *   even NEQ (SQL NULL semantics);
 * - EQ/NEQ/IN compare by JSON equality (numbers by value, objects deeply);
 * - GT/GTE/LT/LTE only compare numbers with numbers and strings with strings (code-point order);
 * - sort ranks types null < string < number < boolean < array < object (PostgreSQL's JSONB
 *   order), missing fields last, and ties break on the key so pages are stable.
 */

/** The value at a dotted path, or undefined when any segment is missing. */
export function valueAtPath(doc: unknown, path: string): unknown {
  let cur: unknown = doc;
  for (const seg of splitPath(path)) {
    if (cur === null || typeof cur !== 'object' || Array.isArray(cur)) return undefined;
    if (!Object.hasOwn(cur, seg)) return undefined;
    cur = (cur as Record<string, unknown>)[seg];
  }
  return cur;
}

/** Splits a query key into path segments; rejects empty segments. */
export function splitPath(path: string): string[] {
  const segs = path.split('.');
  if (segs.some((s) => s === '')) throw new QueryError(`invalid query key "${path}"`);
  return segs;
}

/** A query the store cannot run (bad key, bad token, unknown operator). */
export class QueryError extends Error {
  override readonly name = 'QueryError';
}

/** JSON equality: numbers by value, arrays and objects member by member. */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b))
    return a.length === b.length && a.every((x, i) => jsonEqual(x, b[i]));
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  return (
    ka.length === kb.length &&
    ka.every(
      (k) =>
        Object.hasOwn(b, k) &&
        jsonEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]),
    )
  );
}

/** Rank of a JSON type in sort order (PostgreSQL JSONB order); missing sorts after everything. */
export function typeRank(v: unknown): number {
  if (v === undefined) return 6;
  if (v === null) return 0;
  if (typeof v === 'string') return 1;
  if (typeof v === 'number') return 2;
  if (typeof v === 'boolean') return 3;
  if (Array.isArray(v)) return 4;
  return 5;
}

function codePointCompare(a: string, b: string): number {
  // JS `<` compares UTF-16 units; UTF-8 byte order (SQLite BINARY, PostgreSQL "C") is code-point order.
  const ia = [...a];
  const ib = [...b];
  const n = Math.min(ia.length, ib.length);
  for (let i = 0; i < n; i++) {
    const d = (ia[i]?.codePointAt(0) ?? 0) - (ib[i]?.codePointAt(0) ?? 0);
    if (d !== 0) return d;
  }
  return ia.length - ib.length;
}

/** Total order used by sort. */
export function compareJson(a: unknown, b: unknown): number {
  const ra = typeRank(a);
  const rb = typeRank(b);
  if (ra !== rb) return ra - rb;
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'string' && typeof b === 'string') return codePointCompare(a, b);
  if (typeof a === 'boolean' && typeof b === 'boolean') return Number(a) - Number(b);
  if (ra === 4 || ra === 5) return codePointCompare(JSON.stringify(a), JSON.stringify(b));
  return 0;
}

function ordered(field: unknown, operand: unknown, test: (c: number) => boolean): boolean {
  if (typeof field === 'number' && typeof operand === 'number') return test(field - operand);
  if (typeof field === 'string' && typeof operand === 'string') return test(codePointCompare(field, operand));
  return false;
}

function onlyEntry<V>(rec: Readonly<Record<string, V>>, op: string): [string, V] {
  const entries = Object.entries(rec);
  const first = entries[0];
  if (entries.length !== 1 || first === undefined) throw new QueryError(`${op} takes exactly one key`);
  return first;
}

/** True when a parsed JSON document satisfies the filter. */
export function matchesFilter(filter: QueryFilter, doc: unknown): boolean {
  if ('AND' in filter) return filter.AND.every((f) => matchesFilter(f, doc));
  if ('OR' in filter) return filter.OR.some((f) => matchesFilter(f, doc));
  if ('IN' in filter) {
    const [path, values] = onlyEntry(filter.IN, 'IN');
    const v = valueAtPath(doc, path);
    return v !== undefined && values.some((x) => jsonEqual(v, x));
  }
  const [op, rec] = Object.entries(filter)[0] as [string, Readonly<Record<string, unknown>>];
  const [path, operand] = onlyEntry(rec, op);
  const v = valueAtPath(doc, path);
  if (v === undefined) return false;
  switch (op) {
    case 'EQ':
      return jsonEqual(v, operand);
    case 'NEQ':
      return !jsonEqual(v, operand);
    case 'GT':
      return ordered(v, operand, (c) => c > 0);
    case 'GTE':
      return ordered(v, operand, (c) => c >= 0);
    case 'LT':
      return ordered(v, operand, (c) => c < 0);
    case 'LTE':
      return ordered(v, operand, (c) => c <= 0);
    default:
      throw new QueryError(`unsupported query operator "${op}"`);
  }
}

/** Parses a page token (an offset, as contrib's SQL stores use); throws on garbage. */
export function parsePageToken(token: string | undefined): number {
  if (token === undefined || token === '') return 0;
  if (!/^\d{1,15}$/.test(token)) throw new QueryError(`invalid page token "${token}"`);
  return Number(token);
}

/** One candidate row for in-memory querying. */
export interface QueryCandidate<T> {
  readonly key: string;
  readonly doc: unknown;
  readonly item: T;
}

/** Filters, sorts and pages candidates; `token` is set when more results follow. */
export function runQuery<T>(
  query: StateQuery,
  candidates: readonly QueryCandidate<T>[],
): { items: T[]; token?: string } {
  const matched =
    query.filter === undefined
      ? [...candidates]
      : candidates.filter((c) => matchesFilter(query.filter as QueryFilter, c.doc));
  const sort = query.sort ?? [];
  const paths = sort.map((s) => splitPath(s.key));
  matched.sort((a, b) => {
    for (let i = 0; i < sort.length; i++) {
      const s = sort[i];
      const p = paths[i];
      if (s === undefined || p === undefined) continue;
      const va = valueAtPath(a.doc, s.key);
      const vb = valueAtPath(b.doc, s.key);
      // Missing fields sort last in both directions (SQL NULLS LAST).
      if (va === undefined || vb === undefined) {
        if (va === undefined && vb === undefined) continue;
        return va === undefined ? 1 : -1;
      }
      const c = compareJson(va, vb);
      if (c !== 0) return s.order === 'DESC' ? -c : c;
    }
    return codePointCompare(a.key, b.key);
  });
  const offset = parsePageToken(query.page?.token);
  const limit = query.page?.limit ?? 0;
  const end = limit > 0 ? offset + limit : matched.length;
  const items = matched.slice(offset, end).map((c) => c.item);
  return end < matched.length ? { items, token: String(end) } : { items };
}
