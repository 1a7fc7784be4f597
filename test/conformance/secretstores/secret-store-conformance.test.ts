import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { SECRET_REGISTRATIONS } from '../../../sidecar/components/secretstores/registrations.js';
import type { SecretStore } from '../../../sidecar/secrets/secret-store.js';
import { openStore, SEEDED, SUBJECTS } from './subjects.js';

test('every registered secret store has a conformance subject', () => {
  assert.deepEqual(SUBJECTS.map((s) => s.type).sort(), SECRET_REGISTRATIONS.map((r) => r.type).sort());
});

for (const subject of SUBJECTS) {
  describe(`secret store conformance: ${subject.type}`, () => {
    let store: SecretStore;
    let cleanup: () => Promise<void> = async () => {};

    before(async () => {
      const seeded = await subject.setup();
      cleanup = seeded.cleanup;
      store = await openStore(subject.type, seeded.metadata);
    });

    after(async () => {
      await store?.close();
      await cleanup();
    });

    test('get returns the secret as {name: value}', async () => {
      for (const [name, value] of Object.entries(SEEDED)) {
        assert.deepEqual(await store.getSecret(name, {}), { [name]: value });
      }
    });

    test('bulk get returns exactly the seeded secrets', async () => {
      const expected = Object.fromEntries(Object.entries(SEEDED).map(([n, v]) => [n, { [n]: v }]));
      assert.deepEqual(await store.bulkGetSecret({}), expected);
    });

    test('get of an unknown secret yields what the contrib store answers', async () => {
      const get = store.getSecret('no-such-secret', {});
      if (subject.missing === 'error') {
        // kubernetes: the API server's NotFound, which daprd puts in ERR_SECRET_GET.
        await assert.rejects(get, /secrets "no-such-secret" not found/);
        return;
      }
      const missing = await get;
      if (subject.missing === 'absent') assert.equal(missing, undefined);
      else assert.deepEqual(missing, { 'no-such-secret': '' });
    });

    test('single-valued stores do not claim MULTIPLE_KEY_VALUES_PER_SECRET', () => {
      assert.equal(store.features.has('MULTIPLE_KEY_VALUES_PER_SECRET'), false);
    });
  });
}
