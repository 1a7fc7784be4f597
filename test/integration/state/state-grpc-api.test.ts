import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { DaprClient } from '@dapr/dapr';
import * as grpc from '@grpc/grpc-js';
import { Redis } from 'ioredis';
import { removeTempDir } from '../../env/process.js';
import { type RedisServer, startRedis } from '../../env/redis.js';
import {
  assertGrpcError,
  dialDapr,
  grpcCall,
  grpcRawCall,
  startSdkGrpcClient,
  statusDetails,
} from '../grpc-api-client.js';
import { component, makeResourcesDir, type Sidecar, startSidecar } from '../harness.js';

/**
 * The State API on the sidecar's gRPC port (`dapr.proto.runtime.v1.Dapr`), with a real Redis behind
 * it: the official DaprClient over gRPC unchanged, and raw grpc-js calls (Dapr's own dapr.proto)
 * for daprd's error statuses: ETag mismatch is Aborted, an unknown store InvalidArgument, bytes
 * that are no message an error status while the sidecar keeps serving, a missing token Unauthenticated.
 */

const TOKEN = 'grpc-state-token';
const APP = 'grpcstate';
let redis: RedisServer;
let db: Redis;
let sidecar: Sidecar;
let resources = '';
let raw: grpc.Client;
let sdk: DaprClient;

const call = (method: string, req: unknown) => grpcCall(raw, method, req, TOKEN);

before(async () => {
  redis = await startRedis();
  db = new Redis({ host: redis.host, port: redis.port, lazyConnect: true, maxRetriesPerRequest: 1 });
  await db.connect();
  resources = await makeResourcesDir([
    component('redisstore', 'state.redis', { redisHost: `${redis.host}:${redis.port}` }),
    component('memstore', 'state.in-memory'),
  ]);
  sidecar = await startSidecar({ appId: APP, resourcesPaths: [resources], env: { DAPR_API_TOKEN: TOKEN } });
  raw = dialDapr(sidecar.grpcPort);
  sdk = await startSdkGrpcClient(sidecar.grpcPort, TOKEN);
});

after(async () => {
  await sdk?.stop();
  raw?.close();
  await sidecar?.stop();
  db?.disconnect();
  await redis?.stop();
  await removeTempDir(resources);
});

async function etagOf(key: string): Promise<string> {
  const { err, res } = await call('GetState', { store_name: 'redisstore', key });
  assert.equal(err, null, err?.message);
  return res?.etag as string;
}

describe('@dapr/dapr DaprClient state over gRPC', () => {
  it('saves, reads, bulk-reads and deletes in Redis', async () => {
    await sdk.state.save('redisstore', [
      { key: 'order-1', value: { total: 12.5 } },
      { key: 'order-2', value: 'plain' },
    ]);
    assert.equal(await db.hget(`${APP}||order-1`, 'data'), '{"total":12.5}');
    assert.deepEqual(await sdk.state.get('redisstore', 'order-1'), { total: 12.5 });
    const bulk = await sdk.state.getBulk('redisstore', ['order-1', 'order-2', 'nothing']);
    const byKey = new Map(bulk.map((i) => [i.key, i]));
    assert.deepEqual(byKey.get('order-1')?.data, { total: 12.5 });
    assert.equal(byKey.get('order-1')?.etag, await db.hget(`${APP}||order-1`, 'version'));
    assert.equal(byKey.get('order-2')?.data, 'plain');
    assert.equal(byKey.get('nothing')?.data, '');
    await sdk.state.delete('redisstore', 'order-2');
    assert.equal(await db.exists(`${APP}||order-2`), 0);
    assert.equal(await sdk.state.get('redisstore', 'order-2'), '');
  });

  it('runs a transaction atomically', async () => {
    await sdk.state.save('redisstore', [{ key: 'tx-old', value: 'x' }]);
    await sdk.state.transaction('redisstore', [
      { operation: 'upsert', request: { key: 'tx-new', value: 'fresh' } },
      { operation: 'delete', request: { key: 'tx-old' } },
    ]);
    assert.equal(await db.hget(`${APP}||tx-new`, 'data'), 'fresh');
    assert.equal(await db.exists(`${APP}||tx-old`), 0);
  });

  it('queries a store with the query API', async () => {
    await sdk.state.save('memstore', [
      { key: 'p1', value: { city: 'Oslo', n: 1 } },
      { key: 'p2', value: { city: 'Lima', n: 2 } },
    ]);
    const res = await sdk.state.query('memstore', {
      filter: { EQ: { city: 'Oslo' } },
      sort: [],
      page: { limit: 10 },
    });
    assert.deepEqual(
      res.results.map((r) => r.key),
      ['p1'],
    );
  });
});

describe('gRPC State API: daprd behaviours', () => {
  it('answers a missing key with an empty response', async () => {
    const { err, res } = await call('GetState', { store_name: 'redisstore', key: 'never-saved' });
    assert.equal(err, null, err?.message);
    assert.deepEqual(res?.data, Buffer.alloc(0));
    assert.equal(res?.etag, '');
  });

  it('refuses a stale ETag with Aborted and a malformed one with InvalidArgument', async () => {
    const item = (value: string, etag?: string) => ({
      key: 'e',
      value: Buffer.from(value),
      ...(etag === undefined ? {} : { etag: { value: etag } }),
    });
    assert.equal((await call('SaveState', { store_name: 'redisstore', states: [item('1')] })).err, null);
    const stale = await etagOf('e');
    assert.equal(
      (await call('SaveState', { store_name: 'redisstore', states: [item('2', stale)] })).err,
      null,
    );
    assertGrpcError(
      await call('SaveState', { store_name: 'redisstore', states: [item('3', stale)] }),
      grpc.status.ABORTED,
      /^failed saving state in state store redisstore: possible etag mismatch/,
    );
    assertGrpcError(
      await call('DeleteState', { store_name: 'redisstore', key: 'e', etag: { value: stale } }),
      grpc.status.ABORTED,
      /^failed deleting state with key e: possible etag mismatch/,
    );
    assertGrpcError(
      await call('DeleteState', { store_name: 'redisstore', key: 'e', etag: { value: 'abc' } }),
      grpc.status.INVALID_ARGUMENT,
      /^failed deleting state with key e: /,
    );
    assert.equal(await db.hget(`${APP}||e`, 'data'), '2');
    const fresh = await etagOf('e');
    const del = await call('DeleteState', {
      store_name: 'redisstore',
      key: 'e',
      etag: { value: fresh },
      options: { concurrency: 'CONCURRENCY_FIRST_WRITE', consistency: 'CONSISTENCY_STRONG' },
    });
    assert.equal(del.err, null, del.err?.message);
    assert.equal(await db.exists(`${APP}||e`), 0);
  });

  it('answers an unknown store with InvalidArgument and ErrorInfo DAPR_STATE_NOT_FOUND', async () => {
    const err = assertGrpcError(
      await call('GetState', { store_name: 'ghost', key: 'k' }),
      grpc.status.INVALID_ARGUMENT,
      'state store ghost is not found',
    );
    const info = statusDetails(err).find((d) => d.type.endsWith('ErrorInfo'));
    assert.equal(info?.value.reason, 'DAPR_STATE_NOT_FOUND');
    for (const [method, req] of [
      ['SaveState', { store_name: 'ghost', states: [{ key: 'k' }] }],
      ['GetBulkState', { store_name: 'ghost', keys: ['k'] }],
      ['DeleteBulkState', { store_name: 'ghost', states: [{ key: 'k' }] }],
      ['ExecuteStateTransaction', { storeName: 'ghost', operations: [] }],
      ['QueryStateAlpha1', { store_name: 'ghost', query: '{}' }],
    ] as const)
      assertGrpcError(
        await call(method, req),
        grpc.status.INVALID_ARGUMENT,
        'state store ghost is not found',
      );
  });

  it('refuses an empty key on save with InvalidArgument', async () => {
    assertGrpcError(
      await call('SaveState', { store_name: 'redisstore', states: [{ key: '', value: Buffer.from('1') }] }),
      grpc.status.INVALID_ARGUMENT,
      'state key cannot be empty',
    );
  });

  it('passes item metadata to the store (ttlInSeconds sets a Redis TTL)', async () => {
    const saved = await call('SaveState', {
      store_name: 'redisstore',
      states: [{ key: 'ttl', value: Buffer.from('"v"'), metadata: { ttlInSeconds: '120' } }],
    });
    assert.equal(saved.err, null, saved.err?.message);
    const ttl = await db.ttl(`${APP}||ttl`);
    assert.ok(ttl > 0 && ttl <= 120, `ttl ${ttl}`);
  });

  it('decodes a value whose metadata says JSON (stored compact), and fails a non-JSON one with Unknown', async () => {
    const json = { contentType: 'application/json' };
    const saved = await call('SaveState', {
      store_name: 'redisstore',
      states: [{ key: 'j', value: Buffer.from('{ "z": 1, "a": ["<b>", 2.5] }'), metadata: json }],
    });
    assert.equal(saved.err, null, saved.err?.message);
    assert.equal(await db.hget(`${APP}||j`, 'data'), '{"z":1,"a":["<b>",2.5]}');
    assertGrpcError(
      await call('SaveState', {
        store_name: 'redisstore',
        states: [{ key: 'j', value: Buffer.from('not json'), metadata: json }],
      }),
      grpc.status.UNKNOWN,
    );
  });

  it('reads many keys with the parallelism asked for', async () => {
    await call('SaveState', {
      store_name: 'redisstore',
      states: ['b1', 'b2', 'b3'].map((key) => ({ key, value: Buffer.from(key) })),
    });
    const { err, res } = await call('GetBulkState', {
      store_name: 'redisstore',
      keys: ['b1', 'b2', 'b3', 'b-none'],
      parallelism: 2,
    });
    assert.equal(err, null, err?.message);
    const items = res?.items as { key: string; data: Buffer; etag: string; error: string }[];
    assert.deepEqual(
      items.map((i) => [i.key, i.data.toString(), i.error]),
      [
        ['b1', 'b1', ''],
        ['b2', 'b2', ''],
        ['b3', 'b3', ''],
        ['b-none', '', ''],
      ],
    );
    assert.ok(items[0]?.etag !== '', 'an existing key has its ETag');
    assert.equal(items[3]?.etag, '');
  });

  it('deletes in bulk; a stale ETag is Aborted while the other items are deleted', async () => {
    await call('SaveState', {
      store_name: 'redisstore',
      states: ['d1', 'd2', 'd3'].map((key) => ({ key, value: Buffer.from(key) })),
    });
    const ok = await call('DeleteBulkState', { store_name: 'redisstore', states: [{ key: 'd1' }] });
    assert.equal(ok.err, null, ok.err?.message);
    assert.equal(await db.exists(`${APP}||d1`), 0);
    const stale = await etagOf('d2');
    await call('SaveState', {
      store_name: 'redisstore',
      states: [{ key: 'd2', value: Buffer.from('again') }],
    });
    assertGrpcError(
      await call('DeleteBulkState', {
        store_name: 'redisstore',
        states: [{ key: 'd2', etag: { value: stale } }, { key: 'd3' }],
      }),
      grpc.status.ABORTED,
      /^failed deleting state in state store redisstore: /,
    );
    assert.equal(await db.exists(`${APP}||d2`), 1);
    assert.equal(await db.exists(`${APP}||d3`), 0);
  });

  it('answers an unknown operation type with Unimplemented and a store failure with Internal', async () => {
    assertGrpcError(
      await call('ExecuteStateTransaction', {
        storeName: 'redisstore',
        operations: [{ operationType: 'merge', request: { key: 'm' } }],
      }),
      grpc.status.UNIMPLEMENTED,
      'operation type merge not supported',
    );
    await call('SaveState', { store_name: 'redisstore', states: [{ key: 't', value: Buffer.from('1') }] });
    const stale = await etagOf('t');
    await call('SaveState', { store_name: 'redisstore', states: [{ key: 't', value: Buffer.from('2') }] });
    assertGrpcError(
      await call('ExecuteStateTransaction', {
        storeName: 'redisstore',
        operations: [
          { operationType: 'upsert', request: { key: 't2', value: Buffer.from('x') } },
          { operationType: 'upsert', request: { key: 't', value: Buffer.from('3'), etag: { value: stale } } },
        ],
      }),
      grpc.status.INTERNAL,
      /^error while executing state transaction: /,
    );
    assert.equal(await db.exists(`${APP}||t2`), 0, 'nothing of a failed transaction is written');
  });

  it('queries with QueryStateAlpha1; a bad query or a store without the query API is an error', async () => {
    await call('SaveState', {
      store_name: 'memstore',
      states: [
        { key: 'q1', value: Buffer.from('{"kind":"a","n":1}') },
        { key: 'q2', value: Buffer.from('{"kind":"b","n":2}') },
      ],
    });
    const { err, res } = await call('QueryStateAlpha1', {
      store_name: 'memstore',
      query: JSON.stringify({ filter: { EQ: { kind: 'b' } } }),
    });
    assert.equal(err, null, err?.message);
    const results = res?.results as { key: string; data: Buffer }[];
    assert.deepEqual(
      results.map((r) => [r.key, JSON.parse(r.data.toString())]),
      [['q2', { kind: 'b', n: 2 }]],
    );
    assertGrpcError(
      await call('QueryStateAlpha1', { store_name: 'memstore', query: '{"filter":' }),
      grpc.status.INTERNAL,
      /failed to parse JSON query body/,
    );
    assertGrpcError(
      await call('QueryStateAlpha1', { store_name: 'redisstore', query: '{}' }),
      grpc.status.INTERNAL,
      'state store does not support querying',
    );
  });

  it('answers bytes that are not a SaveStateRequest with an error status and keeps serving', async () => {
    // `states` (field 2) announcing 127 bytes of which one is there.
    const err = await grpcRawCall(raw, 'SaveState', Buffer.from([0x12, 0x7f, 0x0a]), TOKEN);
    assert.ok(err !== null, 'malformed bytes fail');
    assert.equal(err.code, grpc.status.INTERNAL);
    const after = await call('GetState', { store_name: 'redisstore', key: 'never-saved' });
    assert.equal(after.err, null, after.err?.message);
  });

  it('refuses calls without the API token, or with another one, as Unauthenticated', async () => {
    const none = await grpcCall(raw, 'GetState', { store_name: 'redisstore', key: 'k' });
    assertGrpcError(none, grpc.status.UNAUTHENTICATED);
    const wrong = await grpcCall(
      raw,
      'SaveState',
      { store_name: 'redisstore', states: [{ key: 'k' }] },
      'nope',
    );
    assertGrpcError(wrong, grpc.status.UNAUTHENTICATED);
    assert.equal(await db.exists(`${APP}||k`), 0, 'a refused call does nothing');
  });

  it('counts the calls in dapr_grpc_io_server_completed_rpcs by method and status', async () => {
    const text = await (await fetch(`http://127.0.0.1:${sidecar.metricsPort}/metrics`)).text();
    const count = (method: string, status: string) =>
      new RegExp(
        `dapr_grpc_io_server_completed_rpcs\\{app_id="${APP}",grpc_server_method="/dapr\\.proto\\.runtime\\.v1\\.Dapr/${method}",grpc_server_status="${status}"\\} [1-9]`,
      );
    assert.match(text, count('SaveState', 'OK'));
    assert.match(text, count('SaveState', 'Aborted'));
    assert.match(text, count('GetState', 'InvalidArgument'));
    assert.match(text, count('ExecuteStateTransaction', 'Unimplemented'));
  });
});
