import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import protobuf from 'protobufjs';
import { ProtoDecodeError } from '../../../sidecar/api/internal/proto-wire.js';
import {
  decodeRpcStatus,
  statusJson,
  UnresolvableTypeError,
} from '../../../sidecar/api/internal/rpc-status.js';

/**
 * google.rpc.Status and its standard details, encoded by protobufjs from the message definitions
 * (google/rpc/status.proto, error_details.proto), decoded and written as protobuf JSON by ours.
 */

const root = new protobuf.Root();
protobuf.parse(
  `syntax = "proto3"; package google.protobuf;
   message Any { string type_url = 1; bytes value = 2; }
   message Duration { int64 seconds = 1; int32 nanos = 2; }`,
  root,
);
protobuf.parse(
  `syntax = "proto3"; package google.rpc;
   message Status { int32 code = 1; string message = 2; repeated google.protobuf.Any details = 3; }
   message ErrorInfo { string reason = 1; string domain = 2; map<string, string> metadata = 3; }
   message RetryInfo { google.protobuf.Duration retry_delay = 1; }
   message LocalizedMessage { string locale = 1; string message = 2; }
   message BadRequest {
     message FieldViolation { string field = 1; string description = 2; string reason = 3; LocalizedMessage localized_message = 4; }
     repeated FieldViolation field_violations = 1;
   }
   message QuotaFailure {
     message Violation { string subject = 1; string description = 2; int64 quota_value = 7; }
     repeated Violation violations = 1;
   }
   message Foo { string bar = 1; }`,
  root,
);

function packed(type: string, value: Record<string, unknown>): { typeUrl: string; value: Uint8Array } {
  const t = root.lookupType(`google.rpc.${type}`);
  return {
    typeUrl: `type.googleapis.com/google.rpc.${type}`,
    value: t.encode(t.fromObject(value)).finish(),
  };
}

function status(code: number, message: string, details: ReturnType<typeof packed>[]): Buffer {
  const t = root.lookupType('google.rpc.Status');
  return Buffer.from(t.encode(t.fromObject({ code, message, details })).finish());
}

describe('google.rpc.Status as protobuf JSON', () => {
  it('renders the standard details with their @type, camelCase names and no empty fields', () => {
    const s = decodeRpcStatus(
      status(3, 'bad order', [
        packed('ErrorInfo', {
          reason: 'OUT_OF_STOCK',
          domain: 'shop.example',
          metadata: { sku: 'a1', qty: '2' },
        }),
        packed('BadRequest', {
          fieldViolations: [
            {
              field: 'qty',
              description: 'too many',
              localizedMessage: { locale: 'en', message: 'Too many' },
            },
            { field: 'sku' },
          ],
        }),
        packed('RetryInfo', { retryDelay: { seconds: 1, nanos: 500_000_000 } }),
        packed('QuotaFailure', {
          violations: [
            { subject: 'user:1', quotaValue: 4294967297 },
            { subject: 'user:2', quotaValue: -5 },
          ],
        }),
      ]),
    );
    assert.equal(s.code, 3);
    assert.deepEqual(JSON.parse(statusJson(s.code, s.message, s.details)), {
      code: 3,
      message: 'bad order',
      details: [
        {
          '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
          reason: 'OUT_OF_STOCK',
          domain: 'shop.example',
          metadata: { sku: 'a1', qty: '2' },
        },
        {
          '@type': 'type.googleapis.com/google.rpc.BadRequest',
          fieldViolations: [
            {
              field: 'qty',
              description: 'too many',
              localizedMessage: { locale: 'en', message: 'Too many' },
            },
            { field: 'sku' },
          ],
        },
        { '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '1.500s' },
        {
          '@type': 'type.googleapis.com/google.rpc.QuotaFailure',
          violations: [
            { subject: 'user:1', quotaValue: '4294967297' },
            { subject: 'user:2', quotaValue: '-5' },
          ],
        },
      ],
    });
  });

  it('leaves out an empty message and empty details', () => {
    assert.equal(statusJson(14, '', []), '{"code":14}');
  });

  it('refuses a detail of a type it cannot resolve', () => {
    const s = decodeRpcStatus(status(2, 'x', [packed('Foo', { bar: 'y' })]));
    assert.equal(s.details[0]?.typeUrl, 'type.googleapis.com/google.rpc.Foo');
    assert.throws(
      () => statusJson(s.code, s.message, s.details),
      (err: unknown) =>
        err instanceof UnresolvableTypeError &&
        err.message === 'proto: unable to resolve "type.googleapis.com/google.rpc.Foo": not found',
    );
  });

  it('rejects a truncated status with a decode error', () => {
    const whole = status(3, 'bad order', [packed('ErrorInfo', { reason: 'R' })]);
    assert.throws(() => decodeRpcStatus(whole.subarray(0, whole.length - 3)), ProtoDecodeError);
  });
});
