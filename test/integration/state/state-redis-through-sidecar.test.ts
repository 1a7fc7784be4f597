import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { removeTempDir } from '../../env/process.js';
import { type RedisServer, startRedis } from '../../env/redis.js';
import { component, makeResourcesDir, type Sidecar, startSidecar } from '../harness.js';
import { assertDaprError, call } from './http-call.js';

/** The sidecar → real Redis path: what the app saves through outriggerd lands in Redis as `appid||key`. */

let redis: RedisServer;
let client: Redis;
let sidecar: Sidecar;
let resources = '';

before(async () => {
  redis = await startRedis();
  client = new Redis({ host: redis.host, port: redis.port, lazyConnect: true, maxRetriesPerRequest: 1 });
  await client.connect();
  resources = await makeResourcesDir([
    component('redisstore', 'state.redis', { redisHost: `${redis.host}:${redis.port}` }),
  ]);
  sidecar = await startSidecar({ appId: 'redisapp', resourcesPaths: [resources] });
});

after(async () => {
  await sidecar?.stop();
  client?.disconnect();
  await redis?.stop();
  await removeTempDir(resources);
});

describe('state.redis through outriggerd', () => {
  it('writes appid||key hashes into Redis and reads them back with ETags', async () => {
    const saved = await call(sidecar.url, 'POST', '/v1.0/state/redisstore', [
      { key: 'order-1', value: { total: 12.5 } },
    ]);
    assert.equal(saved.status, 204, saved.text);
    assert.equal(await client.hget('redisapp||order-1', 'data'), '{"total":12.5}');
    const version = await client.hget('redisapp||order-1', 'version');
    const got = await call(sidecar.url, 'GET', '/v1.0/state/redisstore/order-1');
    assert.deepEqual(got.json(), { total: 12.5 });
    assert.equal(got.headers.get('etag'), version);
  });

  it('rejects a stale ETag with 409 and deletes with a fresh one', async () => {
    await call(sidecar.url, 'POST', '/v1.0/state/redisstore', [{ key: 'e', value: 1 }]);
    const etag = (await call(sidecar.url, 'GET', '/v1.0/state/redisstore/e')).headers.get('etag') ?? '';
    await call(sidecar.url, 'POST', '/v1.0/state/redisstore', [{ key: 'e', value: 2, etag }]);
    assertDaprError(
      await call(sidecar.url, 'POST', '/v1.0/state/redisstore', [{ key: 'e', value: 3, etag }]),
      409,
      'ERR_STATE_SAVE',
    );
    assertDaprError(
      await call(sidecar.url, 'DELETE', '/v1.0/state/redisstore/e', undefined, { 'If-Match': 'abc' }),
      400,
      'ERR_STATE_DELETE',
    );
    const fresh = (await call(sidecar.url, 'GET', '/v1.0/state/redisstore/e')).headers.get('etag') ?? '';
    assert.equal(
      (await call(sidecar.url, 'DELETE', '/v1.0/state/redisstore/e', undefined, { 'If-Match': fresh }))
        .status,
      204,
    );
    assert.equal(await client.exists('redisapp||e'), 0);
  });

  it('runs a transaction in Redis and sets a TTL from metadata.ttlInSeconds', async () => {
    const tx = await call(sidecar.url, 'POST', '/v1.0/state/redisstore/transaction', {
      operations: [
        { operation: 'upsert', request: { key: 'tx1', value: 'a' } },
        { operation: 'upsert', request: { key: 'tx2', value: 'b', metadata: { ttlInSeconds: '120' } } },
      ],
    });
    assert.equal(tx.status, 204, tx.text);
    assert.equal(await client.hget('redisapp||tx1', 'data'), '"a"');
    const ttl = await client.ttl('redisapp||tx2');
    assert.ok(ttl > 0 && ttl <= 120, `ttl ${ttl}`);
    const bulk = await call(sidecar.url, 'POST', '/v1.0/state/redisstore/bulk', {
      keys: ['tx1', 'tx2', 'nope'],
    });
    assert.deepEqual(
      bulk.json<{ key: string; data?: unknown }[]>().map((i) => [i.key, i.data]),
      [
        ['tx1', 'a'],
        ['tx2', 'b'],
        ['nope', undefined],
      ],
    );
  });
});
