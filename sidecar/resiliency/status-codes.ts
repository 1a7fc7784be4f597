/**
 * Retry `matching`: which HTTP and gRPC status codes a retry policy retries. Mirrors Dapr's
 * pkg/resiliency/retry.go: codes 100–599 are HTTP, anything else is gRPC; an absent list retries
 * every code of that kind; errors without a status code are always retried.
 */
import { ResultFailure } from './errors.js';

/** An inclusive range of status codes. */
export interface CodeRange {
  readonly start: number;
  readonly end: number;
}

/** Valid HTTP status codes for `matching.httpStatusCodes`. */
export const HTTP_CODES: CodeRange = Object.freeze({ start: 100, end: 599 });
/** Valid gRPC status codes for `matching.gRPCStatusCodes`. */
export const GRPC_CODES: CodeRange = Object.freeze({ start: 0, end: 16 });

function inRange(range: CodeRange, code: number): boolean {
  return range.start <= code && code <= range.end;
}

/**
 * Parses `"500-599,408"` into ranges. Empty entries are ignored (as in Dapr); an empty string
 * means "no list". Returns an error message instead of ranges when an entry is malformed.
 */
export function parseCodeRanges(text: string, valid: CodeRange): readonly CodeRange[] | undefined | string {
  if (text.trim() === '') return undefined;
  const out: CodeRange[] = [];
  for (const raw of text.split(',')) {
    const entry = raw.trim();
    if (entry === '') continue;
    const parts = entry.split('-');
    if (parts.length > 2) return `invalid pattern "${entry}": more than one '-'`;
    const nums = parts.map((p) => (/^\d+$/.test(p.trim()) ? Number(p.trim()) : Number.NaN));
    const start = nums[0] ?? Number.NaN;
    const end = nums[1] ?? start;
    if (Number.isNaN(start) || Number.isNaN(end))
      return `invalid pattern "${entry}": not a code or a range of codes`;
    if (!inRange(valid, start))
      return `invalid pattern "${entry}": code ${start} is outside ${valid.start}-${valid.end}`;
    if (!inRange(valid, end))
      return `invalid pattern "${entry}": code ${end} is outside ${valid.start}-${valid.end}`;
    if (end < start) return `invalid pattern "${entry}": start is greater than end`;
    out.push(Object.freeze({ start, end }));
  }
  return Object.freeze(out);
}

/** The compiled `matching` block of a retry policy. */
export class StatusCodeMatcher {
  readonly http: readonly CodeRange[] | undefined;
  readonly grpc: readonly CodeRange[] | undefined;
  constructor(http?: readonly CodeRange[], grpc?: readonly CodeRange[]) {
    this.http = http;
    this.grpc = grpc;
  }

  /** Whether a failure with this status code may be retried. */
  allows(code: number): boolean {
    const list = inRange(HTTP_CODES, code) ? this.http : this.grpc;
    if (list === undefined) return true;
    return list.some((r) => inRange(r, code));
  }
}

/**
 * The transport status code an error carries, if any: `ResultFailure.statusCode`,
 * a numeric `statusCode` property (StatusCodeError and HTTP clients), or a numeric `code`
 * (grpc-js `ServiceError`).
 */
export function statusCodeOf(error: unknown): number | undefined {
  if (error instanceof ResultFailure) return error.statusCode;
  if (typeof error !== 'object' || error === null) return undefined;
  const e = error as { statusCode?: unknown; code?: unknown };
  if (typeof e.statusCode === 'number') return e.statusCode;
  if (typeof e.code === 'number') return e.code;
  return undefined;
}

/**
 * The predicate of Dapr's built-in service and actor retries: only gRPC `Unavailable` (14) and
 * `Unauthenticated` (16) failures of the sidecar-to-sidecar call are retried.
 */
export function isUnavailableOrUnauthenticated(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const code = (error as { code?: unknown }).code;
  return code === 14 || code === 16;
}
