import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import type { QueryableStore, StateQuery, StateStore } from '../../../sidecar/state/state-store.js';
import { isQueryable } from '../../../sidecar/state/state-store.js';

/** The query API part of the state conformance suite (stores advertising `QUERY_API`). */

const enc = new TextEncoder();
const dec = new TextDecoder();

interface Person {
  readonly id: number;
  readonly name: string;
  readonly city: string;
  readonly age: number;
  readonly tags?: readonly string[];
  readonly address?: { readonly zip: string };
}

const PEOPLE: readonly Person[] = [
  { id: 1, name: 'ada', city: 'london', age: 36, address: { zip: 'N1' } },
  { id: 2, name: 'bob', city: 'paris', age: 25 },
  { id: 3, name: 'cyd', city: 'london', age: 51, address: { zip: 'E2' } },
  { id: 4, name: 'dee', city: 'berlin', age: 25 },
  { id: 5, name: 'eve', city: 'paris', age: 44, tags: ['x'] },
  { id: 6, name: 'fay', city: 'oslo', age: 30.5 },
];

/** Registers the query cases; `run` makes this run's key prefixes unique. */
export function defineQueryCases(store: () => StateStore, run: string): void {
  describe('query', () => {
    const app = `q-${run}-app||`;
    const other = `q-${run}-other||`;
    let q: StateStore & QueryableStore;
    const ids = async (query: StateQuery, prefix = app): Promise<number[]> => {
      const res = await q.query(query, { keyPrefix: prefix });
      // Sort-only queries also return the bare JSON number seeded below (it sorts last); drop it.
      return res.results
        .map((r) => JSON.parse(dec.decode(r.data)) as Person | number)
        .flatMap((v) => (typeof v === 'object' ? [v.id] : []));
    };

    before(async () => {
      const s = store();
      assert.ok(isQueryable(s), 'store advertising QUERY_API implements query');
      q = s;
      for (const p of PEOPLE)
        await s.set({ key: `${app}person-${p.id}`, value: enc.encode(JSON.stringify(p)), metadata: {} });
      // Same shape under another app's prefix: must never show up in this app's results.
      await s.set({
        key: `${other}person-99`,
        value: enc.encode(JSON.stringify({ id: 99, name: 'zed', city: 'london', age: 36 })),
        metadata: {},
      });
      // Values that are not JSON objects are stored but never match a field filter.
      await s.set({ key: `${app}blob`, value: new Uint8Array([0xff, 0x00, 0x7b]), metadata: {} });
      await s.set({ key: `${app}text`, value: enc.encode('london'), metadata: {} });
      await s.set({ key: `${app}number`, value: enc.encode('42'), metadata: {} });
    });

    it('filters with EQ on a field and on a nested field', async () => {
      assert.deepEqual(
        (await ids({ filter: { EQ: { city: 'london' } }, sort: [{ key: 'id', order: 'ASC' }] })).sort(),
        [1, 3],
      );
      assert.deepEqual(await ids({ filter: { EQ: { 'address.zip': 'E2' } } }), [3]);
      assert.deepEqual(
        await ids({ filter: { EQ: { age: 25 } }, sort: [{ key: 'id', order: 'ASC' }] }),
        [2, 4],
      );
    });

    it('filters with NEQ, IN, GT, GTE, LT, LTE', async () => {
      const asc = [{ key: 'id', order: 'ASC' as const }];
      assert.deepEqual(await ids({ filter: { NEQ: { city: 'london' } }, sort: asc }), [2, 4, 5, 6]);
      assert.deepEqual(await ids({ filter: { IN: { city: ['paris', 'oslo'] } }, sort: asc }), [2, 5, 6]);
      assert.deepEqual(await ids({ filter: { GT: { age: 36 } }, sort: asc }), [3, 5]);
      assert.deepEqual(await ids({ filter: { GTE: { age: 36 } }, sort: asc }), [1, 3, 5]);
      assert.deepEqual(await ids({ filter: { LT: { age: 30.5 } }, sort: asc }), [2, 4]);
      assert.deepEqual(await ids({ filter: { LTE: { age: 30.5 } }, sort: asc }), [2, 4, 6]);
      assert.deepEqual(await ids({ filter: { GT: { name: 'dee' } }, sort: asc }), [5, 6]);
    });

    it('combines filters with AND and OR', async () => {
      const asc = [{ key: 'id', order: 'ASC' as const }];
      const filter = {
        OR: [{ AND: [{ EQ: { city: 'london' } }, { GT: { age: 40 } }] }, { EQ: { name: 'dee' } }],
      };
      assert.deepEqual(await ids({ filter, sort: asc }), [3, 4]);
    });

    it('sorts ascending and descending, with ties broken stably', async () => {
      assert.deepEqual(
        await ids({
          sort: [
            { key: 'age', order: 'ASC' },
            { key: 'name', order: 'DESC' },
          ],
        }),
        [4, 2, 6, 1, 5, 3],
      );
      assert.deepEqual(await ids({ sort: [{ key: 'age', order: 'DESC' }] }), [3, 5, 1, 6, 2, 4]);
      assert.deepEqual(
        await ids({
          filter: { IN: { city: ['paris', 'berlin'] } },
          sort: [
            { key: 'city', order: 'DESC' },
            { key: 'id', order: 'ASC' },
          ],
        }),
        [2, 5, 4],
      );
    });

    it('pages with limit and token until the last page', async () => {
      const seen: number[] = [];
      let token: string | undefined;
      let pages = 0;
      do {
        const res = await q.query(
          {
            sort: [{ key: 'id', order: 'ASC' }],
            page: token === undefined ? { limit: 4 } : { limit: 4, token },
          },
          { keyPrefix: app },
        );
        pages += 1;
        assert.ok(res.results.length <= 4);
        for (const r of res.results) {
          const parsed = JSON.parse(dec.decode(r.data)) as Person | number | string;
          if (typeof parsed === 'object') seen.push(parsed.id);
        }
        token = res.token;
        assert.ok(pages < 10, 'paging terminates');
      } while (token !== undefined);
      assert.deepEqual(seen, [1, 2, 3, 4, 5, 6]);
    });

    it('returns etags and full keys, and only this prefix', async () => {
      const res = await q.query({ filter: { EQ: { city: 'london' } } }, { keyPrefix: app });
      assert.equal(res.results.length, 2);
      for (const r of res.results) {
        assert.ok(r.key.startsWith(app), `key ${r.key} carries the prefix`);
        assert.ok(r.etag, 'query results carry etags');
      }
      assert.deepEqual(await ids({ filter: { EQ: { city: 'london' } } }, other), [99]);
    });

    it('skips values that are not JSON objects with the field', async () => {
      const res = await q.query({}, { keyPrefix: app });
      const keys = res.results.map((r) => r.key);
      assert.ok(!keys.includes(`${app}blob`), 'binary values are never query results');
      const filtered = await q.query({ filter: { EQ: { city: 'london' } } }, { keyPrefix: app });
      assert.ok(!filtered.results.some((r) => r.key === `${app}text`));
    });
  });
}
