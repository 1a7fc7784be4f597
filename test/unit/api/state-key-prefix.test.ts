import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { getBulkState, getState, saveState } from '../../../sidecar/api/universal/state.js';
import {
  keyPrefixOf,
  modifiedStateKey,
  originalStateKey,
} from '../../../sidecar/api/universal/state-keys.js';
import { isDaprError } from '../../../sidecar/errors/dapr-error.js';
import { makeContext, memoryStore, text, utf8 } from './api-fixture.js';

describe('state key prefixes (daprd GetModifiedStateKey)', () => {
  const base = { storeName: 'store1', appId: 'app1', namespace: 'ns1' };

  it('lays keys out per strategy', () => {
    assert.equal(modifiedStateKey('k', { ...base, strategy: { kind: 'appid' } }), 'app1||k');
    assert.equal(modifiedStateKey('k', { ...base, strategy: { kind: 'name' } }), 'store1||k');
    assert.equal(modifiedStateKey('k', { ...base, strategy: { kind: 'namespace' } }), 'ns1.app1||k');
    assert.equal(
      modifiedStateKey('k', { ...base, namespace: '', strategy: { kind: 'namespace' } }),
      'app1||k',
    );
    assert.equal(modifiedStateKey('k', { ...base, strategy: { kind: 'none' } }), 'k');
    assert.equal(
      modifiedStateKey('k', { ...base, strategy: { kind: 'custom', prefix: 'shared' } }),
      'shared||k',
    );
    assert.equal(keyPrefixOf({ ...base, appId: '', strategy: { kind: 'appid' } }), undefined);
  });

  it('refuses keys containing || with 400 ERR_MALFORMED_REQUEST', () => {
    assert.throws(
      () => modifiedStateKey('a||b', { ...base, strategy: { kind: 'appid' } }),
      (err: unknown) =>
        isDaprError(err) &&
        err.code === 'ERR_MALFORMED_REQUEST' &&
        err.httpStatus === 400 &&
        /can't contain '\|\|'/.test(err.message),
    );
  });

  it('hands back the part after the first separator', () => {
    assert.equal(originalStateKey('app1||k'), 'k');
    assert.equal(originalStateKey('plain'), 'plain');
  });

  it('stores prefixed keys and returns the app key from bulk get', async () => {
    const store = await memoryStore();
    const ctx = await makeContext({ stateStores: [{ name: 's', store, keyPrefix: { kind: 'name' } }] });
    await saveState(ctx, { storeName: 's', items: [{ key: 'k1', value: utf8('"v1"'), metadata: {} }] });
    const raw = await store.get({ key: 's||k1', metadata: {} });
    assert.equal(text(raw?.data), '"v1"');
    const got = await getState(ctx, { storeName: 's', key: 'k1', metadata: {} });
    assert.equal(text(got?.data), '"v1"');
    const bulk = await getBulkState(ctx, {
      storeName: 's',
      keys: ['k1', 'missing'],
      parallelism: 0,
      metadata: {},
    });
    assert.deepEqual(
      bulk.map((b) => ({ key: b.key, data: text(b.data) })),
      [
        { key: 'k1', data: '"v1"' },
        { key: 'missing', data: undefined },
      ],
    );
    await store.close();
  });
});
