/**
 * Errors as the gRPC API sends them: a status code, a message, and the rich details
 * (`google.rpc.ErrorInfo`, `ResourceInfo`, `BadRequest`) encoded into `grpc-status-details-bin`
 * as a `google.rpc.Status`, so a client's rich-error decoding reads what daprd would send.
 */
import { STATUS_CODES } from 'node:http';
import * as grpc from '@grpc/grpc-js';
import { type DaprError, type ErrorDetail, errorInfo } from '../../errors/dapr-error.js';
import { ProtoWriter } from '../internal/proto-wire.js';
import type { AnyValue } from '../internal/rpc-status.js';

const TYPE_PREFIX = 'type.googleapis.com/google.rpc.';

/** A status for grpc-js callbacks and `call.emit('error')`. */
export type GrpcError = Partial<grpc.StatusObject> & { code: number; details: string };

function text(detail: ErrorDetail, ...names: string[]): string {
  for (const n of names) {
    const v = detail[n];
    if (typeof v === 'string') return v;
  }
  return '';
}

/** One JSON detail as an Any; undefined for a type this encoder does not know. */
export function encodeDetail(detail: ErrorDetail): AnyValue | undefined {
  const type = detail['@type'];
  const w = new ProtoWriter(128);
  if (type === `${TYPE_PREFIX}ErrorInfo`) {
    w.string(1, text(detail, 'reason')).string(2, text(detail, 'domain'));
    const md = detail.metadata;
    if (md !== null && typeof md === 'object')
      for (const [k, v] of Object.entries(md as Record<string, unknown>))
        w.nested(3, (e) => e.stringAlways(1, k).stringAlways(2, String(v)));
  } else if (type === `${TYPE_PREFIX}ResourceInfo`) {
    w.string(1, text(detail, 'resource_type', 'resourceType'))
      .string(2, text(detail, 'resource_name', 'resourceName'))
      .string(3, text(detail, 'owner'))
      .string(4, text(detail, 'description'));
  } else if (type === `${TYPE_PREFIX}BadRequest`) {
    const violations = detail.field_violations ?? detail.fieldViolations;
    if (Array.isArray(violations))
      for (const v of violations as Record<string, unknown>[])
        w.nested(1, (e) => e.string(1, String(v.field ?? '')).string(2, String(v.description ?? '')));
  } else return undefined;
  return { typeUrl: type, value: w.finish() };
}

/** A `google.rpc.Status` {code=1, message=2, details=3 (Any {type_url=1, value=2})}. */
export function encodeRpcStatus(code: number, message: string, details: readonly AnyValue[]): Buffer {
  const w = new ProtoWriter(128 + message.length);
  w.uint(1, code).string(2, message);
  for (const d of details) w.nested(3, (a) => a.string(1, d.typeUrl).bytes(2, d.value));
  return w.finish();
}

/** A status with its details in `grpc-status-details-bin` (none: no such entry). */
export function grpcError(
  code: number,
  message: string,
  details: readonly AnyValue[],
  metadata = new grpc.Metadata(),
): GrpcError {
  if (details.length > 0) metadata.set('grpc-status-details-bin', encodeRpcStatus(code, message, details));
  return { code, details: message, metadata };
}

/** A DaprError as its gRPC status: its code, message and details. */
export function fromDaprError(err: DaprError): GrpcError {
  const details: AnyValue[] = [];
  for (const d of err.details) {
    const any = encodeDetail(d);
    if (any !== undefined) details.push(any);
  }
  return grpcError(err.grpcCode, err.message, details);
}

/** The gRPC code for an HTTP status (daprd's invokev1.CodeFromHTTPStatus): 2xx is OK, an unlisted status Unknown. */
export function codeFromHttpStatus(status: number): number {
  const mapped = FROM_HTTP.get(status);
  if (mapped !== undefined) return mapped;
  return status >= 200 && status < 300 ? 0 : grpc.status.UNKNOWN;
}

const FROM_HTTP = new Map<number, number>([
  [408, grpc.status.CANCELLED],
  [500, grpc.status.UNKNOWN],
  [400, grpc.status.INTERNAL],
  [504, grpc.status.DEADLINE_EXCEEDED],
  [404, grpc.status.NOT_FOUND],
  [409, grpc.status.ALREADY_EXISTS],
  [403, grpc.status.PERMISSION_DENIED],
  [401, grpc.status.UNAUTHENTICATED],
  [429, grpc.status.RESOURCE_EXHAUSTED],
  [501, grpc.status.UNIMPLEMENTED],
  [503, grpc.status.UNAVAILABLE],
]);

/** ErrorInfo metadata values are capped at 63 bytes (daprd's maxMetadataValueLen). */
const MAX_DETAIL_BYTES = 63;

/**
 * An HTTP status as a gRPC error (daprd's invokev1.ErrorFromHTTPResponseCode): undefined for a
 * 2xx; otherwise the mapped code, the status text as message, and an ErrorInfo (reason the status
 * text, domain dapr.io) carrying `http.code` and the first 63 bytes of the body as `http.error_message`.
 */
export function fromHttpStatus(status: number, body: string): GrpcError | undefined {
  const code = codeFromHttpStatus(status);
  if (code === 0) return undefined;
  const statusText = STATUS_CODES[status] ?? '';
  const bytes = Buffer.from(body);
  const detail = bytes.length >= MAX_DETAIL_BYTES ? bytes.subarray(0, MAX_DETAIL_BYTES).toString() : body;
  const info = encodeDetail(
    errorInfo(statusText, { 'http.code': String(status), 'http.error_message': detail }),
  ) as AnyValue;
  return grpcError(code, statusText, [info]);
}
