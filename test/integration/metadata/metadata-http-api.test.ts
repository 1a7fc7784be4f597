import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { removeTempDir } from '../../env/process.js';
import { component, makeResourcesDir, type Sidecar, startSidecar } from '../harness.js';
import { call } from '../state/http-call.js';

/** GET and PUT /v1.0/metadata through outriggerd, in daprd's JSON shape. */

interface Metadata {
  id: string;
  runtimeVersion: string;
  components: { name: string; type: string; version: string; capabilities?: string[] }[];
  extended: Record<string, string>;
  appConnectionProperties: { protocol?: string; channelAddress?: string; port?: number };
  actorRuntime: { runtimeStatus: string; hostReady: boolean };
}

let sidecar: Sidecar;
let resources = '';

before(async () => {
  resources = await makeResourcesDir([
    component('statestore', 'state.in-memory'),
    component('envsecrets', 'secretstores.local.env'),
  ]);
  sidecar = await startSidecar({ appId: 'metaapp', resourcesPaths: [resources], publicPort: true });
});

after(async () => {
  await sidecar?.stop();
  await removeTempDir(resources);
});

describe('metadata API', () => {
  it('describes the sidecar: id, version, components with capabilities, extended, app connection', async () => {
    const res = await call(sidecar.url, 'GET', '/v1.0/metadata');
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
    const md = res.json<Metadata>();
    assert.equal(md.id, 'metaapp');
    assert.equal(typeof md.runtimeVersion, 'string');
    assert.equal(md.extended.daprRuntimeVersion, md.runtimeVersion);
    const state = md.components.find((c) => c.name === 'statestore');
    assert.deepEqual(
      { name: state?.name, type: state?.type, version: state?.version },
      { name: 'statestore', type: 'state.in-memory', version: 'v1' },
    );
    for (const cap of ['ETAG', 'QUERY_API', 'TRANSACTIONAL', 'TTL'])
      assert.ok(state?.capabilities?.includes(cap), `${cap} in ${state?.capabilities}`);
    assert.ok(md.components.some((c) => c.name === 'envsecrets' && c.type === 'secretstores.local.env'));
    assert.equal(md.appConnectionProperties.protocol, 'http');
    assert.equal(md.appConnectionProperties.channelAddress, '127.0.0.1');
    assert.equal(md.actorRuntime.runtimeStatus, 'DISABLED');
  });

  it('stores PUT /v1.0/metadata/{key} raw text under extended', async () => {
    const put = await call(sidecar.url, 'PUT', '/v1.0/metadata/owner', 'team blue', {
      'content-type': 'text/plain',
    });
    assert.equal(put.status, 204);
    assert.equal(put.text, '');
    assert.equal(
      (await call(sidecar.url, 'GET', '/v1.0/metadata')).json<Metadata>().extended.owner,
      'team blue',
    );
    await call(sidecar.url, 'PUT', '/v1.0/metadata/owner', '{"json":"kept as text"}');
    assert.equal(
      (await call(sidecar.url, 'GET', '/v1.0/metadata')).json<Metadata>().extended.owner,
      '{"json":"kept as text"}',
    );
  });

  it('serves GET metadata (and only the read routes) on the public port', async () => {
    const pub = `http://127.0.0.1:${sidecar.publicPort}`;
    const md = await call(pub, 'GET', '/v1.0/metadata');
    assert.equal(md.status, 200);
    assert.equal(md.json<Metadata>().id, 'metaapp');
    assert.equal((await call(pub, 'PUT', '/v1.0/metadata/x', 'y')).status, 404);
    assert.equal((await call(pub, 'GET', '/v1.0/state/statestore/k')).status, 404);
  });
});
