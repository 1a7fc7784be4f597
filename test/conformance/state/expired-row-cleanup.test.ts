import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import pg from 'pg';
import { startPostgres } from '../../env/postgres.js';
import { openStore } from './state-fixtures.js';
import { eventually, jsonBytes } from './state-suite.js';

/**
 * Expired items are not only invisible: the SQL stores delete their rows every
 * `cleanupInterval`, so tables do not grow without bound. Rows without a TTL stay.
 */

const dir = mkdtempSync(join(tmpdir(), 'outrigger-state-cleanup-'));
let stopPostgres: (() => Promise<void>) | undefined;
after(async () => {
  await stopPostgres?.();
  rmSync(dir, { recursive: true, force: true });
});

describe('expired row cleanup', () => {
  it('state.sqlite deletes expired rows from the file', async () => {
    const file = join(dir, 'cleanup.db');
    const store = await openStore('state.sqlite', { connectionString: file, cleanupInterval: '1s' });
    const inspect = new Database(file, { readonly: true });
    try {
      await store.set({ key: 'app||gone', value: jsonBytes(1), metadata: { ttlInSeconds: '1' } });
      await store.set({ key: 'app||kept', value: jsonBytes(2), metadata: {} });
      const keys = () =>
        (inspect.prepare('SELECT key FROM state ORDER BY key').all() as { key: string }[]).map((r) => r.key);
      await eventually(async () => !keys().includes('app||gone'), 'expired row deletion');
      assert.deepEqual(keys(), ['app||kept']);
    } finally {
      inspect.close();
      await store.close();
    }
  });

  it('state.postgresql deletes expired rows from the table', async () => {
    const srv = await startPostgres();
    stopPostgres = () => srv.stop();
    const store = await openStore('state.postgresql', {
      connectionString: srv.connectionString,
      cleanupInterval: '1s',
    });
    const admin = new pg.Client({ connectionString: srv.connectionString });
    await admin.connect();
    try {
      await store.set({ key: 'app||gone', value: jsonBytes(1), metadata: { ttlInSeconds: '1' } });
      await store.set({ key: 'app||kept', value: jsonBytes(2), metadata: {} });
      const keys = async () =>
        (await admin.query<{ key: string }>('SELECT key FROM state ORDER BY key')).rows.map((r) => r.key);
      await eventually(async () => !(await keys()).includes('app||gone'), 'expired row deletion');
      assert.deepEqual(await keys(), ['app||kept']);
    } finally {
      await admin.end();
      await store.close();
    }
  });
});
