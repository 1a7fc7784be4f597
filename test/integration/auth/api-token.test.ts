import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { removeTempDir } from '../../env/process.js';
import { component, makeResourcesDir, type Sidecar, startSidecar } from '../harness.js';
import { call } from '../state/http-call.js';

/** `DAPR_API_TOKEN`: every API call needs `dapr-api-token`; health probes are exempt (daprd's middleware). */

let sidecar: Sidecar;
let resources = '';
const TOKEN = 'api-token-for-tests';

before(async () => {
  resources = await makeResourcesDir([component('statestore', 'state.in-memory')]);
  sidecar = await startSidecar({
    appId: 'tokenapp',
    resourcesPaths: [resources],
    env: { DAPR_API_TOKEN: TOKEN },
    publicPort: true,
  });
});

after(async () => {
  await sidecar?.stop();
  await removeTempDir(resources);
});

describe('API token', () => {
  for (const [method, path, body] of [
    ['GET', '/v1.0/metadata', undefined],
    ['PUT', '/v1.0/metadata/k', 'v'],
    ['POST', '/v1.0/state/statestore', [{ key: 'k', value: 1 }]],
    ['GET', '/v1.0/state/statestore/k', undefined],
    ['POST', '/v1.0/state/statestore/bulk', { keys: ['k'] }],
    ['GET', '/v1.0/secrets/any/bulk', undefined],
    ['POST', '/v1.0/shutdown', undefined],
  ] as const) {
    it(`${method} ${path} without a token is 401 "invalid api token"`, async () => {
      const res = await call(sidecar.url, method, path, body);
      assert.equal(res.status, 401);
      assert.equal(res.text.trim(), 'invalid api token');
      assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
    });
  }

  it('a wrong token is 401 and the right one passes', async () => {
    assert.equal(
      (await call(sidecar.url, 'GET', '/v1.0/metadata', undefined, { 'dapr-api-token': 'wrong' })).status,
      401,
    );
    const auth = { 'dapr-api-token': TOKEN };
    assert.equal(
      (await call(sidecar.url, 'POST', '/v1.0/state/statestore', [{ key: 'k', value: 'ok' }], auth)).status,
      204,
    );
    assert.equal((await call(sidecar.url, 'GET', '/v1.0/state/statestore/k', undefined, auth)).text, '"ok"');
    assert.equal((await call(sidecar.url, 'GET', '/v1.0/metadata', undefined, auth)).status, 200);
  });

  it('health endpoints need no token, on the API port and the public port', async () => {
    assert.equal((await call(sidecar.url, 'GET', '/v1.0/healthz')).status, 204);
    assert.equal((await call(sidecar.url, 'GET', '/v1.0/healthz/outbound')).status, 204);
    const pub = `http://127.0.0.1:${sidecar.publicPort}`;
    assert.equal((await call(pub, 'GET', '/v1.0/healthz')).status, 204);
    assert.equal((await call(pub, 'GET', '/v1.0/metadata')).status, 200);
  });

  it('unknown routes are refused before routing (401, not 404) without a token', async () => {
    assert.equal((await call(sidecar.url, 'GET', '/v1.0/nothing')).status, 401);
  });
});
