import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type DaprClient, HttpMethod } from '@dapr/dapr';
import { makeTempDir, removeTempDir } from '../../env/process.js';
import { startSdkGrpcClient } from '../grpc-api-client.js';
import type { Sidecar } from '../harness.js';
import { startAppSidecar, startTestApp, type TestApp } from '../invoke/invoke-fixture.js';

/**
 * The official `@dapr/dapr` DaprClient over gRPC (its ConnectRPC transport), unchanged, against
 * the caller sidecar's gRPC API: service invocation of an HTTP app through two sidecars, and the
 * metadata API. The caller's sidecar requires an API token, which the SDK sends from its options.
 */

const TOKEN = 'grpc-sdk-token';
let home = '';
let app: TestApp;
let callee: Sidecar;
let caller: Sidecar;
let client: DaprClient;

before(async () => {
  home = await makeTempDir('sdk-grpc-client');
  app = await startTestApp();
  callee = await startAppSidecar(home, { appId: 'orders', appPort: app.port });
  caller = await startAppSidecar(home, { appId: 'shop', env: { DAPR_API_TOKEN: TOKEN } });
  client = await startSdkGrpcClient(caller.grpcPort, TOKEN);
});

after(async () => {
  await client?.stop();
  for (const s of [caller, callee]) await s?.stop();
  await app?.close();
  await removeTempDir(home);
});

describe('@dapr/dapr DaprClient over gRPC', () => {
  it('invokes an HTTP app through two sidecars with the verb, body and content type it chose', async () => {
    const seen = (await client.invoker.invoke('orders', 'orders/create', HttpMethod.POST, { id: 9 })) as {
      method: string;
      url: string;
      body: string;
      headers: Record<string, string>;
    };
    assert.equal(seen.method, 'POST');
    assert.equal(seen.url, '/orders/create');
    assert.equal(seen.body, '{"id":9}');
    assert.equal(seen.headers['content-type'], 'application/json');
    assert.equal(seen.headers['dapr-caller-app-id'], 'shop');
    assert.equal(seen.headers['dapr-api-token'], undefined, 'the API token stays in the sidecar');
    const got = (await client.invoker.invoke('orders', 'orders/9', HttpMethod.GET)) as { method: string };
    assert.equal(got.method, 'GET');
  });

  it("surfaces an app's error status as a failed call", async () => {
    await assert.rejects(client.invoker.invoke('orders', 'status/404', HttpMethod.GET), (err: Error) => {
      assert.match(err.message, /Not Found/);
      return true;
    });
  });

  it('reads and sets the sidecar metadata', async () => {
    assert.equal(await client.metadata.set('owner', 'shop-team'), true);
    const md = await client.metadata.get();
    assert.equal(md.id, 'shop');
    assert.equal(md.extended.owner, 'shop-team');
  });
});
