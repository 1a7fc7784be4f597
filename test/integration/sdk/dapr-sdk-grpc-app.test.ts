import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CommunicationProtocolEnum, DaprClient, DaprServer, HttpMethod, LogLevel } from '@dapr/dapr';
import { freePort, makeTempDir, removeTempDir } from '../../env/process.js';
import type { Sidecar } from '../harness.js';
import { startAppSidecar } from '../invoke/invoke-fixture.js';

/**
 * An app served by the official `@dapr/dapr` DaprServer over gRPC (`--app-protocol grpc`), called
 * through two sidecars by the SDK's DaprClient invoker over HTTP. Both SDK halves are unchanged.
 *
 * Only the DaprServer's gRPC app server is started: `DaprServer.start()` would also wait for the
 * sidecar's gRPC API (port 50001), which Outrigger does not serve yet.
 */

let home = '';
let server: DaprServer;
let callee: Sidecar;
let caller: Sidecar;
let client: DaprClient;
const received: { body: string; query: string | undefined; contentType: string | undefined }[] = [];

before(async () => {
  home = await makeTempDir('sdk-grpc-app');
  const appPort = await freePort();
  server = new DaprServer({
    serverHost: '127.0.0.1',
    serverPort: String(appPort),
    communicationProtocol: CommunicationProtocolEnum.GRPC,
    clientOptions: { daprHost: '127.0.0.1', daprPort: String(await freePort()) },
    logger: { level: LogLevel.Error },
  });
  await server.invoker.listen(
    'orders/create',
    async ({ body, query, metadata }) => {
      received.push({ body: String(body), query, contentType: metadata?.contentType });
      const order = JSON.parse(String(body)) as { id: number };
      return { created: order.id, query };
    },
    { method: HttpMethod.POST },
  );
  await server.daprServer.start('127.0.0.1', String(appPort));
  callee = await startAppSidecar(home, { appId: 'sdkgrpc', appPort, args: ['--app-protocol', 'grpc'] });
  caller = await startAppSidecar(home, { appId: 'sdkcaller' });
  client = new DaprClient({
    daprHost: '127.0.0.1',
    daprPort: String(caller.httpPort),
    communicationProtocol: CommunicationProtocolEnum.HTTP,
    logger: { level: LogLevel.Error },
  });
  await client.start();
});

after(async () => {
  await client?.stop();
  for (const s of [caller, callee]) await s?.stop();
  await server?.daprServer.stop();
  await removeTempDir(home);
});

describe('@dapr/dapr DaprServer over gRPC as the callee app', () => {
  it('receives a DaprClient invocation and answers it', async () => {
    const answer = await client.invoker.invoke('sdkgrpc', 'orders/create?source=test', HttpMethod.POST, {
      id: 42,
    });
    assert.deepEqual(answer, { created: 42, query: 'source=test' });
    const last = received.at(-1);
    assert.equal(last?.body, '{"id":42}');
    assert.equal(last?.contentType, 'application/json');
  });

  it('answers an unregistered method with an empty 200, as the SDK server does', async () => {
    const res = await fetch(`${caller.url}/v1.0/invoke/sdkgrpc/method/unknown`, { method: 'GET' });
    assert.equal(res.status, 200);
    assert.equal((await res.arrayBuffer()).byteLength, 0);
  });
});
