import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { makeTempDir, removeTempDir } from '../../env/process.js';
import { component, type Sidecar, startSidecar } from '../harness.js';
import { assertDaprError, call } from '../state/http-call.js';
import { writeSecretsFixture } from './secrets-fixture.js';

/** The Secrets API through outriggerd: local.file, local.env and Configuration secret scopes. */

let dir = '';
let sidecar: Sidecar;

before(async () => {
  dir = await makeTempDir('secrets-api');
  const { resources, config } = await writeSecretsFixture(dir, {
    components: [component('envstore', 'secretstores.local.env')],
    scopes: [{ storeName: 'envstore', defaultAccess: 'deny', allowedSecrets: ['OUTRIGGER_TEST_SECRET'] }],
  });
  sidecar = await startSidecar({
    appId: 'secretsapp',
    resourcesPaths: [resources],
    configPath: config,
    env: { OUTRIGGER_TEST_SECRET: 'from-env', OUTRIGGER_OTHER_SECRET: 'not-allowed' },
  });
});

after(async () => {
  await sidecar?.stop();
  await removeTempDir(dir);
});

describe('secrets API', () => {
  it('reads flattened secrets from local.file', async () => {
    const res = await call(sidecar.url, 'GET', '/v1.0/secrets/files/db:password');
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.json(), { 'db:password': 's3cret' });
    assert.deepEqual(
      (await call(sidecar.url, 'GET', '/v1.0/secrets/files/apiKey?metadata.version_id=1')).json(),
      { apiKey: 'k-123' },
    );
  });

  it('returns every key of a multi-valued secret', async () => {
    assert.deepEqual((await call(sidecar.url, 'GET', '/v1.0/secrets/multi/db')).json(), {
      user: 'admin',
      password: 's3cret',
    });
  });

  it('bulk returns the allowed secrets only', async () => {
    const res = await call(sidecar.url, 'GET', '/v1.0/secrets/files/bulk');
    assert.equal(res.status, 200);
    const all = res.json<Record<string, Record<string, string>>>();
    assert.deepEqual(all['db:user'], { 'db:user': 'admin' });
    assert.equal(all.hidden, undefined);
    const env = (await call(sidecar.url, 'GET', '/v1.0/secrets/envstore/bulk')).json<
      Record<string, unknown>
    >();
    assert.deepEqual(env, { OUTRIGGER_TEST_SECRET: { OUTRIGGER_TEST_SECRET: 'from-env' } });
  });

  it('applies scopes: denied is 403 ERR_PERMISSION_DENIED', async () => {
    assert.deepEqual(
      (await call(sidecar.url, 'GET', '/v1.0/secrets/envstore/OUTRIGGER_TEST_SECRET')).json(),
      { OUTRIGGER_TEST_SECRET: 'from-env' },
    );
    assertDaprError(
      await call(sidecar.url, 'GET', '/v1.0/secrets/envstore/OUTRIGGER_OTHER_SECRET'),
      403,
      'ERR_PERMISSION_DENIED',
      /access denied by policy/,
    );
    assertDaprError(
      await call(sidecar.url, 'GET', '/v1.0/secrets/files/hidden'),
      403,
      'ERR_PERMISSION_DENIED',
    );
  });

  it('an unknown store is 401 ERR_SECRET_STORE_NOT_FOUND and an unknown secret is 500 ERR_SECRET_GET', async () => {
    assertDaprError(
      await call(sidecar.url, 'GET', '/v1.0/secrets/vault/x'),
      401,
      'ERR_SECRET_STORE_NOT_FOUND',
      /failed finding secret store with key vault/,
    );
    assertDaprError(
      await call(sidecar.url, 'GET', '/v1.0/secrets/vault/bulk'),
      401,
      'ERR_SECRET_STORE_NOT_FOUND',
    );
    assertDaprError(await call(sidecar.url, 'GET', '/v1.0/secrets/files/missing'), 500, 'ERR_SECRET_GET');
  });
});

describe('secrets API without secret stores', () => {
  it('answers 500 ERR_SECRET_STORES_NOT_CONFIGURED', async (t) => {
    const bare = await startSidecar({ appId: 'nosecrets' });
    t.after(() => bare.stop());
    assertDaprError(
      await call(bare.url, 'GET', '/v1.0/secrets/any/key'),
      500,
      'ERR_SECRET_STORES_NOT_CONFIGURED',
      /secret store is not configured/,
    );
    assertDaprError(
      await call(bare.url, 'GET', '/v1.0/state/any/key'),
      500,
      'ERR_STATE_STORE_NOT_CONFIGURED',
    );
  });
});
