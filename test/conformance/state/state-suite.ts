import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type {
  BulkGetItem,
  GetRequest,
  StateFeature,
  StateStore,
} from '../../../sidecar/state/state-store.js';
import { ETagError, isTransactional } from '../../../sidecar/state/state-store.js';
import { defineQueryCases } from './query-cases.js';
import { uniqueId } from './state-fixtures.js';

/**
 * The one state store conformance suite. Every implementation runs it; capabilities the store
 * does not advertise are not exercised, and the suite first checks that the advertised
 * features are exactly the ones the implementation's test declares.
 */

/** What a test file's factory returns: an initialised store and how to tear it down. */
export interface StateStoreHandle {
  readonly store: StateStore;
  /** Closes the store (if the suite has not) and drops whatever the factory created. */
  cleanup(): Promise<void>;
  /** Another store instance on the same backend, for cross-instance concurrency. */
  peer?(): Promise<StateStore>;
  /** Open server-side connections belonging to `store` (to prove `close` releases them). */
  connectionCount?(): Promise<number>;
}

/** Creates a fresh handle; called once per suite section. */
export type StateStoreFactory = () => Promise<StateStoreHandle>;

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Bytes of a JSON value, as the universal API stores it. */
export function jsonBytes(v: unknown): Uint8Array {
  return enc.encode(JSON.stringify(v));
}

/** Parses stored bytes as JSON (stores may normalise JSON text, e.g. PostgreSQL's JSONB). */
export function parseBytes(b: Uint8Array | undefined): unknown {
  assert.ok(b, 'expected data');
  return JSON.parse(dec.decode(b));
}

/** Asserts that a promise rejects with an `ETagError` of the given kind. */
export async function rejectsETag(p: Promise<unknown>, kind: 'mismatch' | 'invalid'): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof ETagError, `expected ETagError, got ${String(err)}`);
    assert.equal(err.kind, kind);
    return true;
  });
}

/** Polls until `fn` is true; fails after `ms`. Used for TTL expiry ("eventually gone"). */
export async function eventually(fn: () => Promise<boolean>, what: string, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await fn()) return;
    await sleep(200);
  }
  assert.fail(`${what} did not happen within ${ms / 1000}s`);
}

/** Native bulk get when the store has one, else parallel gets (what the universal API does). */
export async function bulkGet(store: StateStore, keys: readonly string[]): Promise<BulkGetItem[]> {
  const reqs: GetRequest[] = keys.map((key) => ({ key, metadata: {} }));
  if (store.bulkGet) return store.bulkGet(reqs);
  return Promise.all(reqs.map(async (r) => ({ key: r.key, ...((await store.get(r)) ?? {}) })));
}

/** Registers the conformance tests for one state store implementation. */
export function runStateConformance(
  name: string,
  factory: StateStoreFactory,
  features: readonly StateFeature[],
): void {
  const has = (f: StateFeature): boolean => features.includes(f);
  describe(`state conformance: ${name}`, () => {
    let h: StateStoreHandle;
    let s: StateStore;
    const run = uniqueId();
    let n = 0;
    /** A key no other test (or concurrent run) uses. */
    const key = (label: string): string => `conf-${run}||${label}-${++n}`;
    const set = (k: string, v: unknown, extra: Partial<Parameters<StateStore['set']>[0]> = {}) =>
      s.set({ key: k, value: v instanceof Uint8Array ? v : jsonBytes(v), metadata: {}, ...extra });
    const get = (k: string) => s.get({ key: k, metadata: {} });

    before(async () => {
      h = await factory();
      s = h.store;
    });
    after(async () => {
      await h?.cleanup();
    });

    it('advertises exactly the declared features', () => {
      assert.deepEqual([...s.features].sort(), [...features].sort());
    });

    it('sets, gets and deletes a JSON value', async () => {
      const k = key('crud');
      await set(k, { name: 'ada', n: 1 });
      const got = await get(k);
      assert.deepEqual(parseBytes(got?.data), { name: 'ada', n: 1 });
      if (has('ETAG')) assert.ok(got?.etag, 'get returns an etag');
      await s.delete({ key: k, metadata: {} });
      assert.equal(await get(k), undefined);
    });

    it('returns undefined for a missing key and deletes a missing key without error', async () => {
      const k = key('missing');
      assert.equal(await get(k), undefined);
      await s.delete({ key: k, metadata: {} });
    });

    it('overwrites without an etag (last-write wins)', async () => {
      const k = key('lastwrite');
      await set(k, 1);
      await set(k, 2, { options: { concurrency: 'last-write' } });
      await set(k, 3);
      assert.deepEqual(parseBytes((await get(k))?.data), 3);
    });

    it('bulk-gets present and missing keys', async () => {
      const [a, b, missing] = [key('bulk'), key('bulk'), key('bulk')];
      await set(a, 'A');
      await set(b, { v: 'B' });
      const items = await bulkGet(s, [a, b, missing]);
      const byKey = new Map(items.map((i) => [i.key, i]));
      assert.equal(items.length, 3);
      assert.deepEqual(parseBytes(byKey.get(a)?.data), 'A');
      assert.deepEqual(parseBytes(byKey.get(b)?.data), { v: 'B' });
      assert.equal(byKey.get(missing)?.data, undefined);
      assert.equal(byKey.get(missing)?.error, undefined);
    });

    it('round-trips JSON values of every type', async () => {
      const samples: unknown[] = [
        null,
        true,
        0,
        -12.5,
        1e300,
        'text with "quotes", \\ and \u00e9',
        '\ud83d\ude00 emoji',
        [],
        [1, 'two', [3], { four: 4 }],
        {},
        { nested: { deep: { list: [null, false] } }, 'key with spaces': 1 },
      ];
      for (const v of samples) {
        const k = key('json');
        await set(k, v);
        assert.deepEqual(parseBytes((await get(k))?.data), v);
      }
      // Escaped surrogate pairs are JSON too, whichever way the store keeps them.
      const k = key('json');
      await set(k, enc.encode('{"emoji":"\\ud83d\\ude00"}'));
      assert.deepEqual(parseBytes((await get(k))?.data), { emoji: '\ud83d\ude00' });
    });

    it('stores binary and non-JSON values byte for byte', async () => {
      const samples = [
        new Uint8Array([0, 1, 2, 0xff, 0xfe, 0x80, 0xc3, 0x28]),
        enc.encode('plain text, not JSON'),
        enc.encode('{"almost": json'),
        new Uint8Array(0),
        enc.encode('"a\\u0000b"'),
        enc.encode('["lone surrogate \\ud800"]'),
        new Uint8Array(Array.from({ length: 4096 }, (_, i) => (i * 37) % 256)),
      ];
      for (const value of samples) {
        const k = key('binary');
        await set(k, value);
        const got = await get(k);
        assert.ok(got, 'binary value is readable');
        assert.deepEqual(Buffer.from(got.data), Buffer.from(value));
      }
    });

    it('rejects a malformed ttlInSeconds without writing', async () => {
      const k = key('badttl');
      await assert.rejects(set(k, 1, { metadata: { ttlInSeconds: 'soon' } }));
      assert.equal(await get(k), undefined);
    });

    if (has('ETAG')) defineEtagCases(() => s, key, set, get);
    if (has('TTL')) defineTtlCases(() => s, key, set, get, has('QUERY_API'));
    if (has('TRANSACTIONAL')) defineTransactionCases(() => s, key, set, get);
    if (has('QUERY_API')) defineQueryCases(() => s, run);
    if (has('ETAG')) defineConcurrencyCases(() => h, key);

    it('close() releases its connections and later calls fail', async () => {
      const own = await factory();
      try {
        await own.store.set({ key: key('close'), value: jsonBytes(1), metadata: {} });
        if (own.connectionCount)
          assert.ok((await own.connectionCount()) > 0, 'store holds a connection while open');
        await own.store.close();
        if (own.connectionCount)
          await eventually(
            async () => (await own.connectionCount?.()) === 0,
            'server-side connections closing',
          );
        await assert.rejects(own.store.get({ key: key('close'), metadata: {} }));
      } finally {
        await own.cleanup();
      }
    });
  });
}

type KeyFn = (label: string) => string;
type SetFn = (k: string, v: unknown, extra?: Partial<Parameters<StateStore['set']>[0]>) => Promise<void>;
type GetFn = (k: string) => ReturnType<StateStore['get']>;

function defineEtagCases(store: () => StateStore, key: KeyFn, set: SetFn, get: GetFn): void {
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

function defineTtlCases(
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
        const { isQueryable } = await import('../../../sidecar/state/state-store.js');
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

function defineTransactionCases(store: () => StateStore, key: KeyFn, set: SetFn, get: GetFn): void {
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

function defineConcurrencyCases(handle: () => StateStoreHandle, key: KeyFn): void {
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
