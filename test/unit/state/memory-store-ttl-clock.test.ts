import assert from 'node:assert/strict';
import { it } from 'node:test';
import { validateMetadata } from '../../../sidecar/components/metadata-schema.js';
import { MEMORY_SCHEMA, MemoryStateStore } from '../../../sidecar/components/state/memory/memory-store.js';
import { SILENT_LOGGER } from '../../conformance/state/state-fixtures.js';

/** `state.in-memory` takes an injected clock, so TTL behaviour is testable without waiting. */
it('expires items by the injected clock and reports ttlExpireTime from it', async () => {
  let now = Date.UTC(2030, 0, 1, 12, 0, 0);
  const store = new MemoryStateStore({ now: () => now });
  await store.init({
    name: 'mem',
    type: 'state.in-memory',
    version: 'v1',
    metadata: validateMetadata(MEMORY_SCHEMA, { cleanupInterval: '0' }),
    appId: 'app',
    namespace: 'default',
    logger: SILENT_LOGGER,
    dataDir: '/nonexistent',
  });
  try {
    await store.set({ key: 'k', value: new Uint8Array([1]), metadata: { ttlInSeconds: '90' } });
    const got = await store.get({ key: 'k', metadata: {} });
    assert.equal(got?.metadata?.ttlExpireTime, '2030-01-01T12:01:30Z');
    now += 89_999;
    assert.ok(await store.get({ key: 'k', metadata: {} }), 'still there just before expiry');
    now += 1;
    assert.equal(await store.get({ key: 'k', metadata: {} }), undefined, 'gone at the expiry instant');
    const q = await store.query({}, { keyPrefix: '' });
    assert.equal(q.results.length, 0);
  } finally {
    await store.close();
  }
});
