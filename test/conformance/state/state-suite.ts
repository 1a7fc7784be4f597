import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { StateFeature, StateStore } from '../../../sidecar/state/state-store.js';
import { defineConcurrencyCases, defineEtagCases } from './etag-cases.js';
import { defineQueryCases } from './query-cases.js';
import type { StateStoreFactory, StateStoreHandle } from './state-case-kit.js';
import { bulkGet, eventually, jsonBytes, parseBytes } from './state-case-kit.js';
import { uniqueId } from './state-fixtures.js';
import { defineTransactionCases } from './transaction-cases.js';
import { defineTtlCases } from './ttl-cases.js';

export type { StateStoreFactory, StateStoreHandle } from './state-case-kit.js';
export { eventually, jsonBytes, parseBytes, rejectsETag } from './state-case-kit.js';

/**
 * The one state store conformance suite. Every implementation runs it; capabilities the store
 * does not advertise are not exercised, and the suite first checks that the advertised
 * features are exactly the ones the implementation's test declares.
 */

const enc = new TextEncoder();

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
