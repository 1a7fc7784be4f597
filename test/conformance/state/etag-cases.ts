import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { StateStore } from '../../../sidecar/state/state-store.js';
import { ETagError } from '../../../sidecar/state/state-store.js';
import type { GetFn, KeyFn, SetFn, StateStoreHandle } from './state-case-kit.js';
import { jsonBytes, parseBytes, rejectsETag } from './state-case-kit.js';

/** ETag, first-write and concurrent-writer cases (stores advertising `ETAG`). */

/** Registers the etag cases. */
export function defineEtagCases(store: () => StateStore, key: KeyFn, set: SetFn, get: GetFn): void {
  describe('etag', () => {
    it('accepts the current etag and issues a new one', async () => {
      const k = key('etag');
      await set(k, 1);
      const first = await get(k);
      assert.ok(first?.etag);
      await set(k, 2, { etag: first.etag });
      const second = await get(k);
      assert.ok(second?.etag);
      assert.notEqual(second.etag, first.etag);
      assert.deepEqual(parseBytes(second.data), 2);
    });

    it('refuses a stale etag on set and delete (mismatch)', async () => {
      const k = key('stale');
      await set(k, 1);
      const stale = (await get(k))?.etag;
      assert.ok(stale);
      await set(k, 2);
      await rejectsETag(set(k, 3, { etag: stale }), 'mismatch');
      await rejectsETag(store().delete({ key: k, etag: stale, metadata: {} }), 'mismatch');
      assert.deepEqual(parseBytes((await get(k))?.data), 2);
    });

    it('refuses an etag for a key that does not exist (mismatch)', async () => {
      const k = key('etag-missing');
      await set(k, 1);
      const etag = (await get(k))?.etag;
      assert.ok(etag);
      await store().delete({ key: k, metadata: {} });
      await rejectsETag(set(k, 2, { etag }), 'mismatch');
      await rejectsETag(store().delete({ key: k, etag, metadata: {} }), 'mismatch');
      assert.equal(await get(k), undefined);
    });

    it('refuses a malformed etag on set and delete (invalid)', async () => {
      const k = key('etag-invalid');
      await set(k, 1);
      await rejectsETag(set(k, 2, { etag: 'not an etag!' }), 'invalid');
      await rejectsETag(store().delete({ key: k, etag: 'not an etag!', metadata: {} }), 'invalid');
      assert.deepEqual(parseBytes((await get(k))?.data), 1);
    });

    it('deletes with the current etag', async () => {
      const k = key('etag-delete');
      await set(k, 1);
      const etag = (await get(k))?.etag;
      assert.ok(etag);
      await store().delete({ key: k, etag, metadata: {} });
      assert.equal(await get(k), undefined);
    });

    it('first-write without etag only creates', async () => {
      const k = key('first-write');
      const fw = { options: { concurrency: 'first-write' as const } };
      await set(k, 1, fw);
      await rejectsETag(set(k, 2, fw), 'mismatch');
      assert.deepEqual(parseBytes((await get(k))?.data), 1);
      const etag = (await get(k))?.etag;
      assert.ok(etag);
      await set(k, 3, { ...fw, etag });
      assert.deepEqual(parseBytes((await get(k))?.data), 3);
      await store().delete({ key: k, metadata: {} });
      await set(k, 4, fw);
      assert.deepEqual(parseBytes((await get(k))?.data), 4);
    });
  });
}

/** Registers the concurrency cases. */
export function defineConcurrencyCases(handle: () => StateStoreHandle, key: KeyFn): void {
  describe('concurrent writers', () => {
    const writers = async (): Promise<StateStore[]> => {
      const h = handle();
      const peers: StateStore[] = [h.store];
      if (h.peer) peers.push(await h.peer(), await h.peer());
      return peers;
    };

    it('exactly one of several writers holding the same etag wins', async () => {
      const stores = await writers();
      try {
        const [first] = stores;
        assert.ok(first);
        const k = key('race');
        await first.set({ key: k, value: jsonBytes(0), metadata: {} });
        const etag = (await first.get({ key: k, metadata: {} }))?.etag;
        assert.ok(etag);
        const outcomes = await Promise.allSettled(
          Array.from({ length: 8 }, (_, i) =>
            stores[i % stores.length]?.set({ key: k, value: jsonBytes(i + 1), etag, metadata: {} }),
          ),
        );
        const won = outcomes.filter((o) => o.status === 'fulfilled');
        assert.equal(won.length, 1, 'exactly one writer wins');
        for (const o of outcomes)
          if (o.status === 'rejected')
            assert.ok(o.reason instanceof ETagError && o.reason.kind === 'mismatch', String(o.reason));
      } finally {
        for (const p of stores.slice(1)) await p.close();
      }
    });

    it('exactly one of several first-writers creates the key', async () => {
      const stores = await writers();
      try {
        const k = key('race-fw');
        const outcomes = await Promise.allSettled(
          Array.from({ length: 8 }, (_, i) =>
            stores[i % stores.length]?.set({
              key: k,
              value: jsonBytes(i),
              metadata: {},
              options: { concurrency: 'first-write' },
            }),
          ),
        );
        assert.equal(
          outcomes.filter((o) => o.status === 'fulfilled').length,
          1,
          'exactly one first-writer wins',
        );
      } finally {
        for (const p of stores.slice(1)) await p.close();
      }
    });
  });
}
