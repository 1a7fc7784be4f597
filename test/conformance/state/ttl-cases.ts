import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { StateStore } from '../../../sidecar/state/state-store.js';
import { isQueryable } from '../../../sidecar/state/state-store.js';
import type { GetFn, KeyFn, SetFn } from './state-case-kit.js';
import { bulkGet, eventually, parseBytes } from './state-case-kit.js';

/** TTL cases (stores advertising `TTL`). */

/** Registers the ttl cases. */
export function defineTtlCases(
  store: () => StateStore,
  key: KeyFn,
  set: SetFn,
  get: GetFn,
  queryable: boolean,
): void {
  describe('ttl', () => {
    it('expires an item with ttlInSeconds and reports ttlExpireTime meanwhile', async () => {
      const k = key('ttl');
      await set(k, { temp: true }, { metadata: { ttlInSeconds: '1' } });
      const got = await get(k);
      if (got) {
        const when = got.metadata?.ttlExpireTime;
        assert.ok(when, 'ttlExpireTime metadata is returned');
        assert.match(when, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/);
        assert.ok(!Number.isNaN(Date.parse(when)));
      }
      await eventually(async () => (await get(k)) === undefined, 'TTL expiry');
      const items = await bulkGet(store(), [k]);
      assert.equal(items[0]?.data, undefined);
      if (queryable) {
        const st = store();
        assert.ok(isQueryable(st));
        const prefix = k.slice(0, k.indexOf('||') + 2);
        const res = await st.query({ filter: { EQ: { temp: true } } }, { keyPrefix: prefix });
        assert.ok(!res.results.some((r) => r.key === k), 'expired items are invisible to query');
      }
    });

    it('keeps an item with ttlInSeconds -1 and without ttlExpireTime', async () => {
      const k = key('ttl-forever');
      await set(k, 1, { metadata: { ttlInSeconds: '-1' } });
      const got = await get(k);
      assert.deepEqual(parseBytes(got?.data), 1);
      assert.equal(got?.metadata?.ttlExpireTime, undefined);
    });

    it('a later write with ttlInSeconds -1 removes an earlier expiry', async () => {
      const k = key('ttl-cleared');
      await set(k, 1, { metadata: { ttlInSeconds: '2' } });
      await set(k, 2, { metadata: { ttlInSeconds: '-1' } });
      assert.equal((await get(k))?.metadata?.ttlExpireTime, undefined);
      // Outlive the first TTL, then the item must still be there.
      await sleep(3000);
      assert.deepEqual(parseBytes((await get(k))?.data), 2);
    });
  });
}
