import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { StateStore } from '../../../sidecar/state/state-store.js';
import { isTransactional } from '../../../sidecar/state/state-store.js';
import type { GetFn, KeyFn, SetFn } from './state-case-kit.js';
import { jsonBytes, parseBytes, rejectsETag } from './state-case-kit.js';

/** Transaction cases (stores advertising `TRANSACTIONAL`). */

/** Registers the transaction cases. */
export function defineTransactionCases(store: () => StateStore, key: KeyFn, set: SetFn, get: GetFn): void {
  describe('transactions', () => {
    it('applies upserts and deletes together', async () => {
      const st = store();
      assert.ok(isTransactional(st));
      const [a, b, c] = [key('tx'), key('tx'), key('tx')];
      await set(c, 'old');
      await st.multi(
        [
          { operation: 'upsert', request: { key: a, value: jsonBytes('A'), metadata: {} } },
          { operation: 'upsert', request: { key: b, value: jsonBytes({ b: 1 }), metadata: {} } },
          { operation: 'delete', request: { key: c, metadata: {} } },
        ],
        {},
      );
      assert.deepEqual(parseBytes((await get(a))?.data), 'A');
      assert.deepEqual(parseBytes((await get(b))?.data), { b: 1 });
      assert.equal(await get(c), undefined);
    });

    it('writes nothing when one etag mismatches', async () => {
      const st = store();
      assert.ok(isTransactional(st));
      const [fresh, guarded, doomed] = [key('tx-atomic'), key('tx-atomic'), key('tx-atomic')];
      await set(guarded, 'v1');
      await set(doomed, 'keep');
      const stale = (await get(guarded))?.etag;
      assert.ok(stale);
      await set(guarded, 'v2');
      await rejectsETag(
        st.multi(
          [
            { operation: 'upsert', request: { key: fresh, value: jsonBytes('new'), metadata: {} } },
            { operation: 'delete', request: { key: doomed, metadata: {} } },
            {
              operation: 'upsert',
              request: { key: guarded, value: jsonBytes('v3'), etag: stale, metadata: {} },
            },
          ],
          {},
        ),
        'mismatch',
      );
      assert.equal(await get(fresh), undefined, 'earlier upsert rolled back');
      assert.deepEqual(parseBytes((await get(doomed))?.data), 'keep', 'earlier delete rolled back');
      assert.deepEqual(parseBytes((await get(guarded))?.data), 'v2');
    });

    it('writes nothing when a first-write upsert hits an existing key', async () => {
      const st = store();
      assert.ok(isTransactional(st));
      const [fresh, existing] = [key('tx-fw'), key('tx-fw')];
      await set(existing, 'there');
      await rejectsETag(
        st.multi(
          [
            { operation: 'upsert', request: { key: fresh, value: jsonBytes(1), metadata: {} } },
            {
              operation: 'upsert',
              request: {
                key: existing,
                value: jsonBytes(2),
                metadata: {},
                options: { concurrency: 'first-write' },
              },
            },
          ],
          {},
        ),
        'mismatch',
      );
      assert.equal(await get(fresh), undefined);
      assert.deepEqual(parseBytes((await get(existing))?.data), 'there');
    });

    it('checks etags of operations within the same transaction in order', async () => {
      const st = store();
      assert.ok(isTransactional(st));
      const k = key('tx-seq');
      await set(k, 1);
      const etag = (await get(k))?.etag;
      assert.ok(etag);
      // The second upsert reuses the etag the first one made stale.
      await rejectsETag(
        st.multi(
          [
            { operation: 'upsert', request: { key: k, value: jsonBytes(2), etag, metadata: {} } },
            { operation: 'upsert', request: { key: k, value: jsonBytes(3), etag, metadata: {} } },
          ],
          {},
        ),
        'mismatch',
      );
      assert.deepEqual(parseBytes((await get(k))?.data), 1);
    });
  });
}
