import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MetadataValidationError, validateMetadata } from '../../../sidecar/components/metadata-schema.js';
import { parseRedisHost } from '../../../sidecar/components/state/redis/redis-store.js';
import { STATE_REGISTRATIONS } from '../../../sidecar/components/state/registrations.js';
import { openTarget } from '../../../sidecar/components/state/sqlite/sqlite-connection.js';

const byType = (type: string) => {
  const reg = STATE_REGISTRATIONS.find((r) => r.type === type);
  assert.ok(reg, `${type} is registered`);
  return reg;
};

describe('state store registrations', () => {
  it('registers the four built-in types with their versions', () => {
    assert.deepEqual(
      STATE_REGISTRATIONS.map((r) => [r.type, r.versions]),
      [
        ['state.in-memory', ['v1']],
        ['state.sqlite', ['v1']],
        ['state.redis', ['v1']],
        ['state.postgresql', ['v1', 'v2']],
      ],
    );
    for (const r of STATE_REGISTRATIONS) assert.equal(r.kind, 'state');
  });

  it('fills contrib defaults and matches field names case-insensitively', () => {
    const sqlite = validateMetadata(byType('state.sqlite').schema, { TABLENAME: 'items', busyTimeout: '5s' });
    assert.equal(sqlite.tableName, 'items');
    assert.equal(sqlite.metadataTableName, 'metadata');
    assert.equal(sqlite.busyTimeout, 5000);
    assert.equal(sqlite.cleanupInterval, 3_600_000);
    const redis = validateMetadata(byType('state.redis').schema, {
      redisHost: 'localhost:6379',
      redisdb: '2',
    });
    assert.equal(redis.redisDB, 2);
    assert.equal(redis.enableTLS, false);
  });

  it('names the missing or malformed field', () => {
    assert.throws(
      () => validateMetadata(byType('state.postgresql').schema, {}),
      (err: unknown) =>
        err instanceof MetadataValidationError && err.problems.some((p) => p.field === 'connectionString'),
    );
    assert.throws(
      () => validateMetadata(byType('state.redis').schema, { redisHost: 'h:1', maxRetries: 'many' }),
      (err: unknown) =>
        err instanceof MetadataValidationError && err.problems.some((p) => p.field === 'maxRetries'),
    );
  });

  it('parses redisHost as host:port, IPv6 included', () => {
    assert.deepEqual(parseRedisHost('redis.local:6380'), { host: 'redis.local', port: 6380 });
    assert.deepEqual(parseRedisHost('[::1]:7000'), { host: '::1', port: 7000 });
    assert.deepEqual(parseRedisHost('redis'), { host: 'redis', port: 6379 });
  });

  it('reads SQLite connection strings: paths, file: URIs and memory mode', () => {
    assert.deepEqual(openTarget('/var/data/state.db'), { file: '/var/data/state.db', readonly: false });
    assert.deepEqual(openTarget('file:data.db?_pragma=busy_timeout(5000)'), {
      file: 'data.db',
      readonly: false,
    });
    assert.deepEqual(openTarget('file:///abs/dir/state.db?mode=ro'), {
      file: '/abs/dir/state.db',
      readonly: true,
    });
    assert.deepEqual(openTarget('file::memory:?cache=shared'), { file: ':memory:', readonly: false });
    assert.deepEqual(openTarget('file:x.db?mode=memory'), { file: ':memory:', readonly: false });
  });
});

describe('state store features', () => {
  it('reports ACTOR only for the store marked actorStateStore', async () => {
    const { openStore } = await import('../../conformance/state/state-fixtures.js');
    const plain = await openStore('state.in-memory', {});
    const actors = await openStore('state.in-memory', { actorStateStore: 'true' });
    try {
      assert.deepEqual([...plain.features].sort(), ['ETAG', 'QUERY_API', 'TRANSACTIONAL', 'TTL']);
      assert.deepEqual([...actors.features].sort(), ['ACTOR', 'ETAG', 'QUERY_API', 'TRANSACTIONAL', 'TTL']);
    } finally {
      await plain.close();
      await actors.close();
    }
  });
});
