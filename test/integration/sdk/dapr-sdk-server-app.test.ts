import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CommunicationProtocolEnum, DaprClient, DaprServer, HttpMethod, LogLevel } from '@dapr/dapr';
import { freePort, makeTempDir, removeTempDir } from '../../env/process.js';
import type { Sidecar } from '../harness.js';
import { startAppSidecar } from '../invoke/invoke-fixture.js';

/**
 * An app served by the official `@dapr/dapr` DaprServer over gRPC (`--app-protocol grpc`), started
 * with `DaprServer.start()` (which also waits for its sidecar's gRPC API), called through two
 * sidecars by the SDK's DaprClient invoker over HTTP and over gRPC. Every SDK part is unchanged.
 */

let home = '';
let server: DaprServer;
let callee: Sidecar;
let caller: Sidecar;
let client: DaprClient;
let grpcClient: DaprClient;
const received: { body: string; query: string | undefined; contentType: string | undefined }[] = [];

before(async () => {
  home = await makeTempDir('sdk-grpc-app');
  const appPort = await freePort();
  const calleeGrpcPort = await freePort();
  server = new DaprServer({
    serverHost: '127.0.0.1',
    serverPort: String(appPort),
    communicationProtocol: CommunicationProtocolEnum.GRPC,
    clientOptions: { daprHost: '127.0.0.1', daprPort: String(calleeGrpcPort) },
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
  // start() serves the app, then waits for the sidecar, which waits for the app: run both.
  const started = server.start();
  callee = await startAppSidecar(home, {
    appId: 'sdkgrpc',
    appPort,
    args: ['--app-protocol', 'grpc', '--dapr-grpc-port', String(calleeGrpcPort)],
  });
  await started;
  caller = await startAppSidecar(home, { appId: 'sdkcaller' });
  client = new DaprClient({
    daprHost: '127.0.0.1',
    daprPort: String(caller.httpPort),
    communicationProtocol: CommunicationProtocolEnum.HTTP,
    logger: { level: LogLevel.Error },
  });
  await client.start();
  grpcClient = new DaprClient({
    daprHost: '127.0.0.1',
    daprPort: String(caller.grpcPort),
    communicationProtocol: CommunicationProtocolEnum.GRPC,
    logger: { level: LogLevel.Error },
  });
  await grpcClient.start();
});

after(async () => {
  await client?.stop();
  await grpcClient?.stop();
  for (const s of [caller, callee]) await s?.stop();
  await server?.stop();
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

  it('receives a DaprClient invocation over gRPC and answers it', async () => {
    const answer = await grpcClient.invoker.invoke('sdkgrpc', 'orders/create', HttpMethod.POST, { id: 7 });
    assert.deepEqual(answer, { created: 7, query: '' });
    assert.equal(received.at(-1)?.body, '{"id":7}');
  });

  it('answers an unregistered method with an empty 200, as the SDK server does', async () => {
    const res = await fetch(`${caller.url}/v1.0/invoke/sdkgrpc/method/unknown`, { method: 'GET' });
    assert.equal(res.status, 200);
    assert.equal((await res.arrayBuffer()).byteLength, 0);
  });
});
