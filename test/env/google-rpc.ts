import assert from 'node:assert/strict';
import protobuf from 'protobufjs';

/**
 * `google.rpc.Status` and the error details the tests send or check, defined from
 * google/rpc/status.proto and error_details.proto and encoded by protobufjs (field names as in
 * the .proto), so what the sidecar writes is read by code that is not ours.
 */

const rpc = protobuf.parse(
  `syntax = "proto3"; package google.rpc;
   message Any { string type_url = 1; bytes value = 2; }
   message Status { int32 code = 1; string message = 2; repeated Any details = 3; }
   message ErrorInfo { string reason = 1; string domain = 2; map<string, string> metadata = 3; }
   message ResourceInfo { string resource_type = 1; string resource_name = 2; string owner = 3; string description = 4; }
   message BadRequest {
     message FieldViolation { string field = 1; string description = 2; }
     repeated FieldViolation field_violations = 1;
   }`,
  { keepCase: true },
).root;

/** Encodes a google.rpc message (`Status`, `ErrorInfo`, `BadRequest`, ...) from its fields. */
export function encodeRpc(type: string, value: Record<string, unknown>): Buffer {
  const t = rpc.lookupType(`google.rpc.${type}`);
  return Buffer.from(t.encode(t.fromObject(value)).finish());
}

/** Decodes a google.rpc message; fields left at their defaults are left out. */
export function decodeRpc(type: string, buf: Uint8Array): Record<string, unknown> {
  const t = rpc.lookupType(`google.rpc.${type}`);
  return t.toObject(t.decode(buf), { defaults: false }) as Record<string, unknown>;
}

/** A decoded `google.rpc.Status`. */
export interface DecodedStatus {
  readonly code: number;
  readonly message: string;
  readonly details: { type: string; value: Record<string, unknown> }[];
}

/** The `grpc-status-details-bin` of a status's metadata, decoded with each detail by its type (undefined when absent). */
export function decodeStatusBin(
  metadata: { get(key: string): unknown[] } | undefined,
): DecodedStatus | undefined {
  const bin = metadata?.get('grpc-status-details-bin')[0];
  if (bin === undefined) return undefined;
  assert.ok(Buffer.isBuffer(bin), 'grpc-status-details-bin is binary');
  const s = decodeRpc('Status', bin) as {
    code?: number;
    message?: string;
    details?: { type_url: string; value: Uint8Array }[];
  };
  return {
    code: s.code ?? 0,
    message: s.message ?? '',
    details: (s.details ?? []).map((d) => ({
      type: d.type_url,
      value: decodeRpc(d.type_url.replace('type.googleapis.com/google.rpc.', ''), d.value),
    })),
  };
}
