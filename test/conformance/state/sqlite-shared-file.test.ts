import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { openStore } from './state-fixtures.js';

/**
 * Several sidecars on one machine share one `state.sqlite` file (WAL mode). Three processes
 * increment one counter with ETag-guarded writes; no increment may be lost.
 */

const dir = mkdtempSync(join(tmpdir(), 'outrigger-sqlite-shared-'));
const children = new Set<ReturnType<typeof spawn>>();
after(() => {
  for (const c of children) if (c.exitCode === null && c.pid !== undefined) process.kill(c.pid);
  rmSync(dir, { recursive: true, force: true });
});

function runWorker(file: string, key: string, count: number): Promise<number> {
  const worker = fileURLToPath(new URL('./sqlite-increment-worker.js', import.meta.url));
  const child = spawn(process.execPath, [worker, file, key, String(count)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code) => {
      children.delete(child);
      if (code === 0) resolve(Number(out));
      else reject(new Error(`worker exited with ${code}: ${err}`));
    });
  });
}

it('processes sharing one SQLite file lose no ETag-guarded increments', async () => {
  const file = join(dir, 'state.db');
  const perWorker = 150;
  const conflicts = await Promise.all([1, 2, 3].map(() => runWorker(file, 'app||counter', perWorker)));
  const store = await openStore('state.sqlite', { connectionString: file });
  try {
    const got = await store.get({ key: 'app||counter', metadata: {} });
    assert.ok(got, 'counter exists');
    assert.equal(JSON.parse(Buffer.from(got.data).toString('utf8')), 3 * perWorker);
    assert.ok(conflicts.every((c) => Number.isInteger(c)));
  } finally {
    await store.close();
  }
});
