import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { freePort, makeTempDir, removeTempDir } from '../../env/process.js';
import { type Sidecar, writeResources } from '../harness.js';
import { startAppSidecar, startTestApp, type TestApp } from './invoke-fixture.js';

/**
 * Targets other than app ids (HTTPEndpoint resources, URL-encoded base URLs: called directly,
 * no sidecar hop), load spread over several instances of one app id with an unreachable one
 * skipped, and daprd's built-in service retries (maxRetries 3 on Unavailable) with a static resolver.
 */

let home = '';
let app1: TestApp;
let app2: TestApp;
let a: Sidecar;
let rr1: Sidecar;
let rr2: Sidecar;
let s: Sidecar;

before(async () => {
  home = await makeTempDir('invoke-targets');
  app1 = await startTestApp();
  app2 = await startTestApp();
  const endpoint = {
    apiVersion: 'dapr.io/v1alpha1',
    kind: 'HTTPEndpoint',
    metadata: { name: 'external' },
    spec: { baseUrl: `http://127.0.0.1:${app1.port}`, headers: [{ name: 'x-endpoint', value: 'yes' }] },
  };
  const resources = await writeResources(home, [endpoint], 'endpoints.yaml');
  rr1 = await startAppSidecar(home, { appId: 'rr', appPort: app1.port });
  rr2 = await startAppSidecar(home, { appId: 'rr', appPort: app2.port });
  a = await startAppSidecar(home, { appId: 'a', resourcesPaths: [resources] });
  const closed = await freePort();
  const config = {
    apiVersion: 'dapr.io/v1alpha1',
    kind: 'Configuration',
    metadata: { name: 'static-nr' },
    spec: {
      nameResolution: { component: 'outrigger-static', configuration: { ghost: `127.0.0.1:${closed}` } },
    },
  };
  s = await startAppSidecar(home, {
    appId: 's',
    configPath: await writeResources(home, [config], 'static.yaml'),
  });
});

after(async () => {
  for (const x of [a, rr1, rr2, s]) await x?.stop();
  await app1?.close();
  await app2?.close();
  await removeTempDir(home);
});

describe('invocation targets and name resolution', () => {
  it('calls an HTTPEndpoint resource directly, with its headers', async () => {
    const res = await fetch(`${a.url}/v1.0/invoke/external/method/hello?z=9`, { method: 'POST', body: 'hi' });
    assert.equal(res.status, 200);
    const got = (await res.json()) as { url: string; body: string; headers: Record<string, string> };
    assert.equal(got.url, '/hello?z=9');
    assert.equal(got.body, 'hi');
    assert.equal(got.headers['x-endpoint'], 'yes');
    assert.equal(got.headers['dapr-callee-app-id'], undefined, 'no sidecar hop');
  });

  it('calls a URL-encoded http:// base URL directly', async () => {
    const target = encodeURIComponent(`http://127.0.0.1:${app2.port}`);
    const res = await fetch(`${a.url}/v1.0/invoke/${target}/method/status/201`);
    assert.equal(res.status, 201);
  });

  it('spreads calls over every instance of an app id', async () => {
    const before1 = app1.count('/spread');
    const before2 = app2.count('/spread');
    for (let i = 0; i < 6; i++)
      assert.equal((await fetch(`${a.url}/v1.0/invoke/rr/method/spread`)).status, 200);
    assert.ok(app1.count('/spread') - before1 >= 2, 'instance 1 served some calls');
    assert.ok(app2.count('/spread') - before2 >= 2, 'instance 2 served some calls');
  });

  it('skips an instance that stopped answering', async () => {
    await rr2.proc.stop(5_000, 'SIGKILL');
    for (let i = 0; i < 4; i++) {
      const res = await fetch(`${a.url}/v1.0/invoke/rr/method/after-kill`);
      assert.equal(res.status, 200, `call ${i}`);
    }
    assert.equal(app1.count('/after-kill'), 4);
  });

  it('retries Unavailable as DaprBuiltInServiceRetries says (1 s apart, maxRetries 3), then answers ERR_DIRECT_INVOKE', async () => {
    const res = await fetch(`${s.url}/v1.0/invoke/ghost/method/x`);
    assert.equal(res.status, 500);
    const body = (await res.json()) as { errorCode: string; message: string };
    assert.equal(body.errorCode, 'ERR_DIRECT_INVOKE');
    assert.match(body.message, /^failed to invoke, id: ghost, err: rpc error: code = Unavailable/);
    const metrics = await (await fetch(`http://127.0.0.1:${s.metricsPort}/`)).text();
    const line = metrics
      .split('\n')
      .find(
        (l) =>
          l.startsWith('dapr_runtime_service_invocation_req_sent_total{') && l.includes('dst_app_id="ghost"'),
      );
    assert.equal(Number(line?.split(' ').at(-1)), 4, 'one try and three retries');
  });
});
