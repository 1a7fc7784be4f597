import assert from 'node:assert/strict';
import { after, it } from 'node:test';
import pg from 'pg';
import { startPostgres } from '../../env/postgres.js';
import { openStore } from './state-fixtures.js';
import { jsonBytes, parseBytes, rejectsETag } from './state-suite.js';

/**
 * A table left by contrib's v1 layout (no `etag` column: v1 used `xmin`) keeps its rows and is
 * usable with ETags once `state.postgresql` has initialised on it.
 */

let stop: (() => Promise<void>) | undefined;
after(async () => {
  await stop?.();
});

it('adopts a contrib v1 table and its rows', async () => {
  const srv = await startPostgres();
  stop = () => srv.stop();
  const admin = new pg.Client({ connectionString: srv.connectionString });
  await admin.connect();
  try {
    await admin.query(`CREATE TABLE legacy_state (key text NOT NULL PRIMARY KEY, value jsonb NOT NULL,
      isbinary boolean NOT NULL, insertdate TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
      updatedate TIMESTAMP WITH TIME ZONE NULL, expiredate TIMESTAMP WITH TIME ZONE NULL)`);
    await admin.query(
      `INSERT INTO legacy_state (key, value, isbinary) VALUES ('app||old', '{"v": 1}', false)`,
    );
  } finally {
    await admin.end();
  }
  const store = await openStore('state.postgresql', {
    connectionString: srv.connectionString,
    tableName: 'legacy_state',
  });
  try {
    const old = await store.get({ key: 'app||old', metadata: {} });
    assert.deepEqual(parseBytes(old?.data), { v: 1 });
    assert.ok(old?.etag, 'an etag was assigned to the existing row');
    await store.set({ key: 'app||old', value: jsonBytes({ v: 2 }), etag: old.etag, metadata: {} });
    await rejectsETag(
      store.set({ key: 'app||old', value: jsonBytes({ v: 3 }), etag: old.etag, metadata: {} }),
      'mismatch',
    );
    assert.deepEqual(parseBytes((await store.get({ key: 'app||old', metadata: {} }))?.data), { v: 2 });
  } finally {
    await store.close();
  }
});
