import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { getState, saveState } from '../../../sidecar/api/universal/state.js';
import { DaprError } from '../../../sidecar/errors/dapr-error.js';
import { compileResiliency } from '../../../sidecar/resiliency/index.js';
import { ETagError, type SetRequest } from '../../../sidecar/state/state-store.js';
import { makeContext, PlainStore } from '../api/api-fixture.js';

/**
 * State calls go through the store's outbound resiliency policy (`forComponentOutbound(name,
 * 'state')`): transient failures are retried as the policy says; ETag conflicts are not.
 */

/** Fails the next `n` sets with a transient error, or with an ETag conflict. */
class FlakyStore extends PlainStore {
  failures = 0;
  etagConflict = false;
  sets = 0;
  override async set(req: SetRequest): Promise<void> {
    this.sets++;
    if (this.etagConflict) throw new ETagError('mismatch');
    if (this.failures > 0) {
      this.failures--;
      throw new Error('connection reset');
    }
    await super.set(req);
  }
}

const RESILIENCY = {
  apiVersion: 'dapr.io/v1alpha1',
  kind: 'Resiliency',
  metadata: { name: 'state-policies' },
  spec: {
    policies: { retries: { quick: { policy: 'constant', duration: '1ms', maxRetries: 3 } } },
    targets: { components: { store: { outbound: { retry: 'quick' } } } },
  },
};

async function setup(): Promise<{ store: FlakyStore; ctx: Awaited<ReturnType<typeof makeContext>> }> {
  const store = new FlakyStore();
  const base = await makeContext({ stateStores: [{ name: 'store', store }] });
  const ctx = { ...base, resiliency: compileResiliency([RESILIENCY], { appId: 'app1' }) };
  return { store, ctx };
}

describe('state calls under the outbound resiliency policy', () => {
  it('retries transient store failures', async () => {
    const { store, ctx } = await setup();
    store.failures = 2;
    await saveState(ctx, {
      storeName: 'store',
      items: [{ key: 'k', value: Buffer.from('"v"'), metadata: {} }],
    });
    assert.equal(store.sets, 3);
    const got = await getState(ctx, { storeName: 'store', key: 'k', metadata: {} });
    assert.equal(Buffer.from(got?.data ?? []).toString(), '"v"');
  });

  it('gives up after maxRetries with the store error', async () => {
    const { store, ctx } = await setup();
    store.failures = 10;
    await assert.rejects(
      saveState(ctx, { storeName: 'store', items: [{ key: 'k', value: Buffer.from('1'), metadata: {} }] }),
      (err: unknown) => err instanceof DaprError && err.code === 'ERR_STATE_SAVE',
    );
    assert.equal(store.sets, 4);
  });

  it('does not retry an ETag conflict', async () => {
    const { store, ctx } = await setup();
    store.etagConflict = true;
    await assert.rejects(
      saveState(ctx, {
        storeName: 'store',
        items: [{ key: 'k', value: Buffer.from('1'), etag: '9', metadata: {} }],
      }),
      (err: unknown) => err instanceof DaprError && err.httpStatus === 409,
    );
    assert.equal(store.sets, 1);
  });
});
