/** Smoke test: pg against a private PostgreSQL cluster — DDL, insert/select, commit and rollback. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import pg from 'pg';
import type { PostgresServer } from '../env/postgres.js';
import { startPostgres } from '../env/postgres.js';

let server: PostgresServer;
let pool: pg.Pool;

before(async () => {
  server = await startPostgres();
  pool = new pg.Pool({ connectionString: server.connectionString, max: 4 });
});

after(async () => {
  await pool?.end();
  await server?.stop();
});

test('a table can be created, written and read back', async () => {
  await pool.query('CREATE TABLE items (id text PRIMARY KEY, value jsonb NOT NULL)');
  await pool.query('INSERT INTO items (id, value) VALUES ($1, $2), ($3, $4)', ['a', { n: 1 }, 'b', { n: 2 }]);
  const { rows } = await pool.query<{ id: string; value: { n: number } }>(
    'SELECT id, value FROM items ORDER BY id',
  );
  assert.deepEqual(rows, [
    { id: 'a', value: { n: 1 } },
    { id: 'b', value: { n: 2 } },
  ]);
});

test('a committed transaction persists and a rolled-back one does not', async () => {
  await pool.query('CREATE TABLE ledger (id serial PRIMARY KEY, amount int NOT NULL)');
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('INSERT INTO ledger (amount) VALUES (10), (20)');
    await client.query('COMMIT');
    await client.query('BEGIN');
    await client.query('INSERT INTO ledger (amount) VALUES (999)');
    await client.query('ROLLBACK');
  } finally {
    client.release();
  }
  const { rows } = await pool.query<{ total: string }>('SELECT sum(amount) AS total FROM ledger');
  assert.equal(rows[0]?.total, '30');
});

test('the server runs with fsync off and, under root, as an unprivileged user', async () => {
  const { rows } = await pool.query<{ fsync: string }>('SHOW fsync');
  assert.equal(rows[0]?.fsync, 'off');
  const status = readFileSync(`/proc/${server.process.pid}/status`, 'utf8');
  const uid = Number(/^Uid:\s+(\d+)/m.exec(status)?.[1]);
  assert.notEqual(uid, 0, 'postgres must not run as root');
});
