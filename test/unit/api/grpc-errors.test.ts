import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  codeFromHttpStatus,
  encodeDetail,
  fromDaprError,
  fromHttpStatus,
} from '../../../sidecar/api/grpc/grpc-errors.js';
import { DaprError, errorInfo, resourceInfo } from '../../../sidecar/errors/dapr-error.js';
import { type DecodedStatus, decodeStatusBin } from '../../env/google-rpc.js';

/** Error statuses of the gRPC API, decoded by protobufjs from google/rpc's definitions. */

function statusOf(err: { metadata?: { get(k: string): unknown[] } }): DecodedStatus {
  const status = decodeStatusBin(err.metadata);
  assert.ok(status !== undefined, 'grpc-status-details-bin is present');
  return status;
}

describe('gRPC API errors', () => {
  it("maps HTTP statuses with daprd's table: 2xx OK, listed ones, anything else Unknown", () => {
    const cases: [number, number][] = [
      [200, 0],
      [204, 0],
      [400, 13],
      [401, 16],
      [403, 7],
      [404, 5],
      [408, 1],
      [409, 6],
      [429, 8],
      [500, 2],
      [501, 12],
      [503, 14],
      [504, 4],
      [302, 2],
      [418, 2],
    ];
    for (const [http, code] of cases) assert.equal(codeFromHttpStatus(http), code, String(http));
  });

  it('writes an HTTP error as the mapped code, the status text and an ErrorInfo with the body start', () => {
    assert.equal(fromHttpStatus(201, 'created'), undefined);
    const long = `${'é'.repeat(40)}tail`;
    const err = fromHttpStatus(503, long);
    assert.equal(err?.code, 14);
    assert.equal(err?.details, 'Service Unavailable');
    const status = statusOf(err as NonNullable<typeof err>);
    assert.equal(status.code, 14);
    assert.equal(status.message, 'Service Unavailable');
    assert.equal(status.details[0]?.type, 'type.googleapis.com/google.rpc.ErrorInfo');
    const info = status.details[0]?.value as {
      reason: string;
      domain: string;
      metadata: Record<string, string>;
    };
    assert.equal(info.reason, 'Service Unavailable');
    assert.equal(info.domain, 'dapr.io');
    assert.equal(info.metadata['http.code'], '503');
    // At most 63 bytes of the body: 31 two-byte characters, then a cut one.
    assert.ok(Buffer.byteLength(info.metadata['http.error_message'] ?? '') <= 66);
    assert.ok(info.metadata['http.error_message']?.startsWith('é'.repeat(31)));
    assert.equal(fromHttpStatus(404, 'short')?.details, 'Not Found');
  });

  it("sends a DaprError's code, message and its ErrorInfo, ResourceInfo and BadRequest details", () => {
    const err = fromDaprError(
      new DaprError('ERR_STATE_GET', 'fail to get key', {
        details: [
          errorInfo('DAPR_STATE_GET', { key: 'k' }),
          resourceInfo('state', 'store', 'desc'),
          {
            '@type': 'type.googleapis.com/google.rpc.BadRequest',
            field_violations: [{ field: 'k', description: 'bad' }],
          },
          { '@type': 'type.googleapis.com/example.Unknown', x: 1 },
        ],
      }),
    );
    assert.equal(err.code, 13);
    assert.equal(err.details, 'fail to get key');
    const status = statusOf(err);
    assert.deepEqual(
      status.details.map((d) => d.type),
      [
        'type.googleapis.com/google.rpc.ErrorInfo',
        'type.googleapis.com/google.rpc.ResourceInfo',
        'type.googleapis.com/google.rpc.BadRequest',
      ],
    );
    assert.deepEqual(status.details[0]?.value, {
      reason: 'DAPR_STATE_GET',
      domain: 'dapr.io',
      metadata: { key: 'k' },
    });
    assert.deepEqual(status.details[1]?.value, {
      resource_type: 'state',
      resource_name: 'store',
      description: 'desc',
    });
    assert.deepEqual(status.details[2]?.value, {
      field_violations: [{ field: 'k', description: 'bad' }],
    });
  });

  it('leaves out the details entry when there is nothing to send, and unknown detail types', () => {
    assert.equal(encodeDetail({ '@type': 'type.googleapis.com/example.Unknown' }), undefined);
    const err = fromDaprError(new DaprError('ERR_INTERNAL', 'boom'));
    assert.deepEqual(err.metadata?.get('grpc-status-details-bin'), []);
  });
});
