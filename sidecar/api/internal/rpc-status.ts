/**
 * `google.rpc.Status` and its standard error details (google/rpc/error_details.proto): decoded
 * from a gRPC app's `grpc-status-details-bin`, and written as protobuf JSON the way daprd's HTTP
 * API answers a gRPC app's error (protojson, field names in lowerCamelCase, empty fields left out,
 * each detail an Any with its `@type`). daprd resolves the detail types it links; so do we, and a
 * detail of any other type cannot be rendered (`UnresolvableTypeError`).
 */
import { ProtoCursor, ProtoDecodeError } from './proto-wire.js';

/** A `google.protobuf.Any`. */
export interface AnyValue {
  readonly typeUrl: string;
  readonly value: Buffer;
}

/** A decoded `google.rpc.Status`. */
export interface RpcStatus {
  readonly code: number;
  readonly message: string;
  readonly details: readonly AnyValue[];
}

/** A detail whose type is not one of the standard ones. */
export class UnresolvableTypeError extends Error {
  override readonly name = 'UnresolvableTypeError';
  constructor(typeUrl: string) {
    super(`proto: unable to resolve "${typeUrl}": not found`);
  }
}

/** Reads an Any's fields from its cursor. */
export function readAny(c: ProtoCursor): AnyValue {
  let typeUrl = '';
  let value: Buffer = Buffer.alloc(0);
  while (c.next()) {
    if (c.field === 1 && c.wire === 2) typeUrl = c.string();
    else if (c.field === 2 && c.wire === 2) value = c.bytes();
    else c.skip();
  }
  return { typeUrl, value };
}

/** Decodes a `google.rpc.Status` {code=1, message=2, details=3}. */
export function decodeRpcStatus(buf: Buffer): RpcStatus {
  const c = new ProtoCursor(buf);
  let code = 0;
  let message = '';
  const details: AnyValue[] = [];
  while (c.next()) {
    if (c.field === 1 && c.wire === 0) code = c.varint();
    else if (c.field === 2 && c.wire === 2) message = c.string();
    else if (c.field === 3 && c.wire === 2) details.push(readAny(c.sub()));
    else c.skip();
  }
  return { code, message, details };
}

type Kind = 'string' | 'int64' | 'duration' | 'stringMap' | Schema;

/** One field of a message: number, JSON name, kind, and whether it repeats. */
type Field = readonly [no: number, json: string, kind: Kind, repeated?: boolean];
type Schema = readonly Field[];

const localizedMessage: Schema = [
  [1, 'locale', 'string'],
  [2, 'message', 'string'],
];

/** The standard detail types (google/rpc/error_details.proto), by type URL. */
const DETAILS: ReadonlyMap<string, Schema> = new Map<string, Schema>(
  Object.entries<Schema>({
    ErrorInfo: [
      [1, 'reason', 'string'],
      [2, 'domain', 'string'],
      [3, 'metadata', 'stringMap'],
    ],
    RetryInfo: [[1, 'retryDelay', 'duration']],
    DebugInfo: [
      [1, 'stackEntries', 'string', true],
      [2, 'detail', 'string'],
    ],
    QuotaFailure: [
      [
        1,
        'violations',
        [
          [1, 'subject', 'string'],
          [2, 'description', 'string'],
          [3, 'apiService', 'string'],
          [4, 'quotaMetric', 'string'],
          [5, 'quotaId', 'string'],
          [6, 'quotaDimensions', 'stringMap'],
          [7, 'quotaValue', 'int64'],
          [8, 'futureQuotaValue', 'int64'],
        ],
        true,
      ],
    ],
    PreconditionFailure: [
      [
        1,
        'violations',
        [
          [1, 'type', 'string'],
          [2, 'subject', 'string'],
          [3, 'description', 'string'],
        ],
        true,
      ],
    ],
    BadRequest: [
      [
        1,
        'fieldViolations',
        [
          [1, 'field', 'string'],
          [2, 'description', 'string'],
          [3, 'reason', 'string'],
          [4, 'localizedMessage', localizedMessage],
        ],
        true,
      ],
    ],
    RequestInfo: [
      [1, 'requestId', 'string'],
      [2, 'servingData', 'string'],
    ],
    ResourceInfo: [
      [1, 'resourceType', 'string'],
      [2, 'resourceName', 'string'],
      [3, 'owner', 'string'],
      [4, 'description', 'string'],
    ],
    Help: [
      [
        1,
        'links',
        [
          [1, 'description', 'string'],
          [2, 'url', 'string'],
        ],
        true,
      ],
    ],
    LocalizedMessage: localizedMessage,
  }).map(([name, schema]) => [`type.googleapis.com/google.rpc.${name}`, schema]),
);

/**
 * The JSON body daprd answers an HTTP caller with for a gRPC app's error status:
 * `{"code":5,"message":"...","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo",...}]}`.
 * Throws `UnresolvableTypeError` for a detail of a type it does not know.
 */
export function statusJson(code: number, message: string, details: readonly AnyValue[]): string {
  const out: Record<string, unknown> = {};
  if (code !== 0) out.code = code;
  if (message !== '') out.message = message;
  if (details.length > 0)
    out.details = details.map((d) => {
      const schema = DETAILS.get(d.typeUrl);
      if (schema === undefined) throw new UnresolvableTypeError(d.typeUrl);
      return { '@type': d.typeUrl, ...render(new ProtoCursor(d.value), schema) };
    });
  return JSON.stringify(out);
}

function render(c: ProtoCursor, schema: Schema): Record<string, unknown> {
  const values = new Map<number, unknown>();
  while (c.next()) {
    const field = schema.find((f) => f[0] === c.field);
    if (field === undefined) {
      c.skip();
      continue;
    }
    const [no, , kind, repeated] = field;
    const v = readValue(c, kind);
    if (kind === 'stringMap') {
      const map = (values.get(no) as Record<string, string> | undefined) ?? {};
      const [k, val] = v as [string, string];
      map[k] = val;
      values.set(no, map);
    } else if (repeated === true) values.set(no, [...((values.get(no) as unknown[]) ?? []), v]);
    else values.set(no, v);
  }
  const out: Record<string, unknown> = {};
  for (const [no, json, kind] of schema) {
    const v = values.get(no);
    if (v === undefined || v === '' || (kind === 'int64' && v === '0')) continue;
    out[json] = v;
  }
  return out;
}

function readValue(c: ProtoCursor, kind: Kind): unknown {
  if (kind === 'string') return c.wire === 2 ? c.string() : skipped(c);
  if (kind === 'int64') return c.wire === 0 ? int64(c) : skipped(c);
  if (c.wire !== 2) return skipped(c);
  const sub = c.sub();
  if (kind === 'duration') return duration(sub);
  if (kind === 'stringMap') {
    let key = '';
    let value = '';
    while (sub.next()) {
      if (sub.field === 1 && sub.wire === 2) key = sub.string();
      else if (sub.field === 2 && sub.wire === 2) value = sub.string();
      else sub.skip();
    }
    return [key, value];
  }
  return render(sub, kind);
}

function skipped(c: ProtoCursor): undefined {
  c.skip();
  return undefined;
}

/** An int64 varint as protojson writes it: a decimal string (two's complement for negatives). */
function int64(c: ProtoCursor): string {
  let v = 0n;
  let shift = 0n;
  for (;;) {
    if (c.pos >= c.end) throw new ProtoDecodeError('truncated varint');
    const b = c.buf[c.pos++] as number;
    v |= BigInt(b & 0x7f) << shift;
    if ((b & 0x80) === 0) return BigInt.asIntN(64, v).toString();
    shift += 7n;
    if (shift > 63n) throw new ProtoDecodeError('varint too long');
  }
}

/** A google.protobuf.Duration as protojson writes it: seconds with 0, 3, 6 or 9 decimals and `s`. */
function duration(c: ProtoCursor): string {
  let seconds = '0';
  let nanos = 0;
  while (c.next()) {
    if (c.field === 1 && c.wire === 0) seconds = int64(c);
    else if (c.field === 2 && c.wire === 0) nanos = Number(int64(c));
    else c.skip();
  }
  if (nanos === 0) return `${seconds}s`;
  const negative = seconds.startsWith('-') || nanos < 0;
  const whole = seconds.replace('-', '');
  let frac = String(Math.abs(nanos)).padStart(9, '0');
  while (frac.endsWith('000')) frac = frac.slice(0, -3);
  return `${negative ? '-' : ''}${whole}.${frac}s`;
}
