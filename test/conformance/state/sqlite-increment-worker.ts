/**
 * Child process for `sqlite-shared-file.test.ts`: opens `state.sqlite` on the given file and
 * increments a counter `count` times with ETag-guarded writes, retrying on mismatch.
 * argv: <dbFile> <key> <count>. Prints the number of ETag conflicts it saw.
 */
import { ETagError } from '../../../sidecar/state/state-store.js';
import { openStore } from './state-fixtures.js';

const [file, key, countText] = process.argv.slice(2);
if (!file || !key || !countText) throw new Error('usage: sqlite-increment-worker <dbFile> <key> <count>');
const store = await openStore('state.sqlite', { connectionString: file, busyTimeout: '30s' });
let conflicts = 0;
for (let i = 0; i < Number(countText); i++) {
  for (;;) {
    const cur = await store.get({ key, metadata: {} });
    const n = cur ? (JSON.parse(Buffer.from(cur.data).toString('utf8')) as number) : 0;
    try {
      await store.set({
        key,
        value: Buffer.from(JSON.stringify(n + 1)),
        metadata: {},
        ...(cur?.etag ? { etag: cur.etag } : { options: { concurrency: 'first-write' as const } }),
      });
      break;
    } catch (err) {
      if (!(err instanceof ETagError)) throw err;
      conflicts += 1;
    }
  }
}
await store.close();
process.stdout.write(String(conflicts));
