/**
 * gRPC over HTTP/2 wire framing (grpc/grpc PROTOCOL-HTTP2.md): each message is a 1-byte
 * compressed flag, a 4-byte big-endian length, then the message; status travels in
 * `grpc-status`/`grpc-message` trailers (or in the headers of a trailers-only response).
 */

/** gRPC status codes used here. */
export const GrpcStatus = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
} as const;

/** Status code names as grpc-go prints them (`codes.Code.String()`), indexed by code. */
export const GRPC_CODE_NAMES: readonly string[] = [
  'OK',
  'Canceled',
  'Unknown',
  'InvalidArgument',
  'DeadlineExceeded',
  'NotFound',
  'AlreadyExists',
  'PermissionDenied',
  'ResourceExhausted',
  'FailedPrecondition',
  'Aborted',
  'OutOfRange',
  'Unimplemented',
  'Internal',
  'Unavailable',
  'DataLoss',
  'Unauthenticated',
];

/** HTTP status per gRPC code (daprd's invokev1.HTTPStatusFromCode, after grpc-gateway). */
const HTTP_FROM_GRPC: readonly number[] = [
  200, 408, 500, 400, 504, 404, 409, 403, 429, 400, 409, 400, 501, 500, 503, 500, 401,
];

/** The HTTP status an HTTP caller gets for a gRPC status code (500 for unknown codes). */
export function httpStatusFromGrpc(code: number): number {
  return HTTP_FROM_GRPC[code] ?? 500;
}

/** A gRPC failure with its status code (`code` is what resiliency matching reads). */
export class GrpcStatusError extends Error {
  override readonly name = 'GrpcStatusError';
  readonly code: number;
  readonly details: string;
  constructor(code: number, details: string, options?: ErrorOptions) {
    super(`${code} ${details}`, options);
    this.code = code;
    this.details = details;
  }
}

/**
 * daprd's check of a streamed chunk's sequence number (chunks carry 0, 1, 2...): the error to end
 * the call with, under `code`, or undefined when `seq` is the one expected.
 */
export function sequenceError(
  code: number,
  seq: number | undefined,
  expected: number,
): GrpcStatusError | undefined {
  const got = seq ?? 0;
  return got === expected
    ? undefined
    : new GrpcStatusError(code, `invalid sequence number received: ${got} (expected: ${expected})`);
}

/** Prefixes one message with its 5-byte header. */
export function frame(message: Buffer): Buffer {
  const out = Buffer.allocUnsafe(5 + message.length);
  out[0] = 0;
  out.writeUInt32BE(message.length, 1);
  message.copy(out, 5);
  return out;
}

const EMPTY = Buffer.alloc(0);

/** Splits a byte stream into messages; throws on compressed messages (none is negotiated). */
export class MessageReader {
  #buf: Buffer = EMPTY;

  /**
   * Feeds bytes; returns the complete messages they finish. Allocation-lean for the usual case
   * of one message per chunk: no array growth (an exact one-element array), no view of the
   * empty rest.
   */
  push(chunk: Buffer): Buffer[] {
    this.#buf = this.#buf.length === 0 ? chunk : Buffer.concat([this.#buf, chunk]);
    let first: Buffer | undefined;
    let out: Buffer[] | undefined;
    while (this.#buf.length >= 5) {
      if (this.#buf[0] !== 0)
        throw new GrpcStatusError(GrpcStatus.UNIMPLEMENTED, 'compressed messages are not supported');
      const len = this.#buf.readUInt32BE(1);
      if (this.#buf.length < 5 + len) break;
      const msg = this.#buf.subarray(5, 5 + len);
      if (first === undefined) first = msg;
      else if (out === undefined) out = [first, msg];
      else out.push(msg);
      this.#buf = this.#buf.length === 5 + len ? EMPTY : this.#buf.subarray(5 + len);
    }
    return out ?? (first === undefined ? [] : [first]);
  }

  /** True when a partial message is pending. */
  get pending(): boolean {
    return this.#buf.length > 0;
  }
}

/**
 * `grpc-message` is percent-encoded (PROTOCOL-HTTP2.md): the UTF-8 bytes outside printable ASCII,
 * and `%` itself; everything else is sent as it is (grpc-js decodes with decodeURI, which would
 * leave an encoded `:` or `/` encoded).
 */
export function encodeGrpcMessage(s: string): string {
  if (/^[\x20-\x24\x26-\x7e]*$/.test(s)) return s;
  let out = '';
  for (const b of Buffer.from(s, 'utf8'))
    out +=
      b >= 0x20 && b <= 0x7e && b !== 0x25
        ? String.fromCharCode(b)
        : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  return out;
}

/** Decodes `grpc-message`. */
export function decodeGrpcMessage(s: string | undefined): string {
  if (s === undefined) return '';
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** The `grpc-status` and `grpc-message` fields that report `err`. */
export function statusTrailers(err: GrpcStatusError): [string, string][] {
  return [
    ['grpc-status', String(err.code)],
    ['grpc-message', encodeGrpcMessage(err.details)],
  ];
}
