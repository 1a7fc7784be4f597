import assert from 'node:assert/strict';
import { after, it } from 'node:test';
import { startRedis } from '../../env/redis.js';
import { openStore } from './state-fixtures.js';
import { eventually, jsonBytes } from './state-suite.js';

/** `state.redis` component metadata `ttlInSeconds` applies to writes that carry no TTL of their own. */

let stop: (() => Promise<void>) | undefined;
after(async () => {
  await stop?.();
});

it('applies the component ttlInSeconds default unless the request overrides it', async () => {
  const srv = await startRedis();
  stop = () => srv.stop();
  const store = await openStore('state.redis', { redisHost: `${srv.host}:${srv.port}`, ttlInSeconds: '1' });
  try {
    await store.set({ key: 'app||short', value: jsonBytes(1), metadata: {} });
    await store.set({ key: 'app||kept', value: jsonBytes(2), metadata: { ttlInSeconds: '-1' } });
    const short = await store.get({ key: 'app||short', metadata: {} });
    // It may already be gone on a slow machine; while it exists it must report its expiry.
    if (short) assert.ok(short.metadata?.ttlExpireTime, 'the default TTL is reported as ttlExpireTime');
    await eventually(
      async () => (await store.get({ key: 'app||short', metadata: {} })) === undefined,
      'default TTL expiry',
    );
    const kept = await store.get({ key: 'app||kept', metadata: {} });
    assert.ok(kept, 'ttlInSeconds -1 on the request overrides the default');
    assert.equal(kept.metadata?.ttlExpireTime, undefined);
  } finally {
    await store.close();
  }
});
