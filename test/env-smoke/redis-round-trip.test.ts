/** Smoke test: ioredis against a private redis-server — SET/GET, MULTI/EXEC and a Lua EVAL. */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Redis } from 'ioredis';
import type { RedisServer } from '../env/redis.js';
import { startRedis } from '../env/redis.js';

let server: RedisServer;
let client: Redis;

before(async () => {
  server = await startRedis();
  client = new Redis(server.url, { maxRetriesPerRequest: 1 });
});

after(async () => {
  client?.disconnect();
  await server?.stop();
});

test('SET then GET returns the stored value', async () => {
  assert.equal(await client.set('greeting', 'hello'), 'OK');
  assert.equal(await client.get('greeting'), 'hello');
});

test('MULTI/EXEC applies every queued command atomically', async () => {
  const results = await client.multi().set('counter', '1').incrby('counter', 41).get('counter').exec();
  assert.deepEqual(results, [
    [null, 'OK'],
    [null, 42],
    [null, '42'],
  ]);
});

test('EVAL runs a Lua script against the keys it is given', async () => {
  await client.set('etag-key', 'v1');
  const script =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('SET', KEYS[1], ARGV[2]) else return false end";
  assert.equal(await client.eval(script, 1, 'etag-key', 'v1', 'v2'), 'OK');
  assert.equal(await client.eval(script, 1, 'etag-key', 'v1', 'v3'), null);
  assert.equal(await client.get('etag-key'), 'v2');
});
