import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  deleteState,
  executeStateTransaction,
  getBulkState,
  getState,
  saveState,
} from '../../../sidecar/api/universal/state.js';
import { queryState } from '../../../sidecar/api/universal/state-query.js';
import { type DaprError, isDaprError } from '../../../sidecar/errors/dapr-error.js';
import { makeContext, memoryStore, PlainStore, text, utf8 } from './api-fixture.js';

function daprError(code: string, status: number): (err: unknown) => boolean {
  return (err: unknown) => {
    assert.ok(isDaprError(err), `expected a DaprError, got ${String(err)}`);
    const e = err as DaprError;
    assert.equal(e.code, code, e.message);
    assert.equal(e.httpStatus, status, e.message);
    return true;
  };
}

describe('universal state API errors (daprd codes and statuses)', () => {
  it('no stores at all is 500 ERR_STATE_STORE_NOT_CONFIGURED; unknown store is 400 ERR_STATE_STORE_NOT_FOUND', async () => {
    const empty = await makeContext();
    await assert.rejects(
      getState(empty, { storeName: 'x', key: 'k', metadata: {} }),
      daprError('ERR_STATE_STORE_NOT_CONFIGURED', 500),
    );
    const ctx = await makeContext({ stateStores: [{ name: 's', store: await memoryStore() }] });
    await assert.rejects(
      getState(ctx, { storeName: 'nope', key: 'k', metadata: {} }),
      daprError('ERR_STATE_STORE_NOT_FOUND', 400),
    );
  });

  it('etag mismatch on save is 409 ERR_STATE_SAVE and a malformed etag is 400', async () => {
    const store = await memoryStore();
    const ctx = await makeContext({ stateStores: [{ name: 's', store }] });
    await saveState(ctx, { storeName: 's', items: [{ key: 'k', value: utf8('1'), metadata: {} }] });
    const got = await getState(ctx, { storeName: 's', key: 'k', metadata: {} });
    assert.ok(got?.etag !== undefined);
    const stale = String(Number(got.etag) + 100);
    await assert.rejects(
      saveState(ctx, { storeName: 's', items: [{ key: 'k', value: utf8('2'), etag: stale, metadata: {} }] }),
      daprError('ERR_STATE_SAVE', 409),
    );
    await assert.rejects(
      saveState(ctx, {
        storeName: 's',
        items: [{ key: 'k', value: utf8('2'), etag: 'not-a-number', metadata: {} }],
      }),
      daprError('ERR_STATE_SAVE', 400),
    );
    await assert.rejects(
      deleteState(ctx, { storeName: 's', key: 'k', etag: stale, metadata: {} }),
      daprError('ERR_STATE_DELETE', 409),
    );
    await saveState(ctx, {
      storeName: 's',
      items: [{ key: 'k', value: utf8('3'), etag: got.etag, metadata: {} }],
    });
    assert.equal(text((await getState(ctx, { storeName: 's', key: 'k', metadata: {} }))?.data), '3');
  });

  it('a bulk save reports a mismatch among several items as 409', async () => {
    const ctx = await makeContext({ stateStores: [{ name: 's', store: await memoryStore() }] });
    await saveState(ctx, { storeName: 's', items: [{ key: 'a', value: utf8('1'), metadata: {} }] });
    await assert.rejects(
      saveState(ctx, {
        storeName: 's',
        items: [
          { key: 'a', value: utf8('2'), etag: '999', metadata: {} },
          { key: 'b', value: utf8('2'), metadata: {} },
        ],
      }),
      daprError('ERR_STATE_SAVE', 409),
    );
  });

  it('empty keys are 400 ERR_MALFORMED_REQUEST', async () => {
    const ctx = await makeContext({ stateStores: [{ name: 's', store: await memoryStore() }] });
    await assert.rejects(
      saveState(ctx, { storeName: 's', items: [{ key: '', value: utf8('1'), metadata: {} }] }),
      daprError('ERR_MALFORMED_REQUEST', 400),
    );
  });

  it('transactions and queries on a store without those capabilities are 500 ERR_STATE_STORE_NOT_SUPPORTED', async () => {
    const ctx = await makeContext({ stateStores: [{ name: 'plain', store: new PlainStore() }] });
    await assert.rejects(
      executeStateTransaction(ctx, { storeName: 'plain', operations: [], metadata: {} }),
      daprError('ERR_STATE_STORE_NOT_SUPPORTED', 500),
    );
    await assert.rejects(
      queryState(ctx, { storeName: 'plain', query: {}, metadata: {} }),
      daprError('ERR_STATE_STORE_NOT_SUPPORTED', 500),
    );
  });

  it('a failed transaction is 500 ERR_STATE_TRANSACTION and applies nothing', async () => {
    const ctx = await makeContext({ stateStores: [{ name: 's', store: await memoryStore() }] });
    await assert.rejects(
      executeStateTransaction(ctx, {
        storeName: 's',
        operations: [
          { operation: 'upsert', request: { key: 'x', value: utf8('1'), metadata: {} } },
          { operation: 'upsert', request: { key: 'y', value: utf8('1'), etag: '12345', metadata: {} } },
        ],
        metadata: {},
      }),
      daprError('ERR_STATE_TRANSACTION', 500),
    );
    assert.equal(await getState(ctx, { storeName: 's', key: 'x', metadata: {} }), undefined);
  });

  it('bulk get falls back to parallel gets and turns per-key failures into error strings', async () => {
    const store = new PlainStore();
    const failing = Object.assign(Object.create(store) as PlainStore, {
      get: async (req: { key: string }) => {
        if (req.key.endsWith('bad')) throw new Error('boom');
        return store.get({ key: req.key, metadata: {} });
      },
    });
    const ctx = await makeContext({ stateStores: [{ name: 'p', store: failing }] });
    await saveState(ctx, { storeName: 'p', items: [{ key: 'ok', value: utf8('{"a":1}'), metadata: {} }] });
    const items = await getBulkState(ctx, {
      storeName: 'p',
      keys: ['ok', 'bad', 'none'],
      parallelism: 2,
      metadata: {},
    });
    assert.deepEqual(
      items.map((i) => ({ key: i.key, data: text(i.data), error: i.error })),
      [
        { key: 'ok', data: '{"a":1}', error: undefined },
        { key: 'bad', data: undefined, error: 'boom' },
        { key: 'none', data: undefined, error: undefined },
      ],
    );
  });
});
