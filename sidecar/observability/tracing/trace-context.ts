/**
 * W3C trace context (`traceparent`, https://www.w3.org/TR/trace-context/) and the ids of new
 * spans. daprd parses the header with OpenTelemetry's propagator; these are the same rules:
 * version `ff` and all-zero ids are invalid, version 00 is exactly four fields, and a later
 * version may add fields after the flags.
 */
import { randomFillSync } from 'node:crypto';

/** A span's place in a trace. */
export interface SpanContext {
  /** 32 lower-case hex digits. */
  readonly traceId: string;
  /** 16 lower-case hex digits. */
  readonly spanId: string;
  readonly sampled: boolean;
}

/** Random bytes drawn 4 KiB at a time: one getrandom per 170 trace contexts, not two per call. */
const pool = Buffer.alloc(4096);
let poolAt = pool.length;

/** `bytes` random bytes as hex, never all zero (an invalid id). */
function randomHex(bytes: number): string {
  if (poolAt + bytes > pool.length) {
    randomFillSync(pool);
    poolAt = 0;
  }
  const at = poolAt;
  poolAt += bytes;
  // All-zero ids are invalid: 2^-64 odds at least, but cheap to rule out (without a BigInt per id).
  if (pool.readUInt32BE(at) === 0 && pool.readUInt32BE(at + 4) === 0) pool[at] = 1;
  return pool.toString('hex', at, at + bytes);
}

/** A new trace id. */
export function newTraceId(): string {
  return randomHex(16);
}

/** A new span id. */
export function newSpanId(): string {
  return randomHex(8);
}

const ZERO_TRACE = '0'.repeat(32);
const ZERO_SPAN = '0'.repeat(16);

/** Whether `s[from, to)` is lower-case hex digits. */
function isHex(s: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (!((c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66))) return false;
  }
  return true;
}

/**
 * A `traceparent` value's context, or undefined when the value is not a valid one: what
 * `/^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/` accepts, checked by hand
 * (the match array and its five strings were a measurable share of each call's allocations).
 */
export function parseTraceparent(value: string | undefined): SpanContext | undefined {
  if (value === undefined) return undefined;
  const v = value.trim();
  const n = v.length;
  if (n < 55 || !isHex(v, 0, 2) || !isHex(v, 3, 35) || !isHex(v, 36, 52) || !isHex(v, 53, 55))
    return undefined;
  if (v.charCodeAt(2) !== 0x2d || v.charCodeAt(35) !== 0x2d || v.charCodeAt(52) !== 0x2d) return undefined;
  if (n > 55) {
    // `(-.*)`: a dash, then anything but line terminators.
    if (v.charCodeAt(55) !== 0x2d) return undefined;
    for (let i = 56; i < n; i++) {
      const c = v.charCodeAt(i);
      if (c === 0x0a || c === 0x0d || c === 0x2028 || c === 0x2029) return undefined;
    }
  }
  const ff = v.charCodeAt(0) === 0x66 && v.charCodeAt(1) === 0x66;
  const v00 = v.charCodeAt(0) === 0x30 && v.charCodeAt(1) === 0x30;
  if (ff || (v00 && n > 55)) return undefined;
  const traceId = v.slice(3, 35);
  const spanId = v.slice(36, 52);
  if (traceId === ZERO_TRACE || spanId === ZERO_SPAN) return undefined;
  // The flags' low bit is the low bit of their last hex digit.
  const last = v.charCodeAt(54);
  return { traceId, spanId, sampled: ((last <= 0x39 ? last - 0x30 : last - 0x57) & 1) === 1 };
}

/** The context as a version 00 `traceparent`. */
export function formatTraceparent(sc: SpanContext): string {
  return `00-${sc.traceId}-${sc.spanId}-${sc.sampled ? '01' : '00'}`;
}

/**
 * Whether a trace is sampled at `rate` by its id, as OpenTelemetry's TraceIDRatioBased sampler
 * decides: the trace id's low 8 bytes below `rate` of their range. The top 52 of those 64 bits
 * decide here, which a double holds exactly.
 */
export function sampledByRatio(traceId: string, rate: number): boolean {
  if (rate >= 1) return true;
  if (rate <= 0) return false;
  return Number.parseInt(traceId.slice(16, 29), 16) < rate * 2 ** 52;
}
