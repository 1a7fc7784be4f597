import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CommunicationProtocolEnum, DaprClient, DaprServer, HttpMethod, LogLevel } from '@dapr/dapr';
import { freePort, makeTempDir, removeTempDir } from '../../env/process.js';
import type { Sidecar } from '../harness.js';
import { startAppSidecar } from '../invoke/invoke-fixture.js';

/**
 * An app served by the official `@dapr/dapr` DaprServer, over gRPC (`--app-protocol grpc`) and over
 * HTTP (its express server, `--app-protocol http`), started with `DaprServer.start()` (which also
 * waits for its sidecar's API), called through two sidecars by the SDK's DaprClient invoker over
 * HTTP and over gRPC. Every SDK part is unchanged.
 */

for (const protocol of [CommunicationProtocolEnum.GRPC, CommunicationProtocolEnum.HTTP]) {
  const name = protocol === CommunicationProtocolEnum.GRPC ? 'grpc' : 'http';
  const appId = `sdk${name}`;
  let home = '';
  let server: DaprServer;
  let callee: Sidecar;
  let caller: Sidecar;
  let client: DaprClient;
  let grpcClient: DaprClient;
  const received: { body: string; query: string | undefined; contentType: string | undefined }[] = [];

  describe(`@dapr/dapr DaprServer over ${name} as the callee app`, () => {
    before(async () => {
      home = await makeTempDir(`sdk-${name}-app`);
      const appPort = await freePort();
      // The sidecar's outbound APIs are ready before its app is; DaprServer.start() serves the app
      // first and then waits for the sidecar's health, which needs the app.
      callee = await startAppSidecar(home, { appId, appPort, args: ['--app-protocol', name] });
      server = new DaprServer({
        serverHost: '127.0.0.1',
        serverPort: String(appPort),
        communicationProtocol: protocol,
        clientOptions: {
          daprHost: '127.0.0.1',
          daprPort: String(protocol === CommunicationProtocolEnum.GRPC ? callee.grpcPort : callee.httpPort),
        },
        logger: { level: LogLevel.Error },
      });
      await server.invoker.listen(
        'orders/create',
        async ({ body, query, metadata }) => {
          const text = typeof body === 'string' ? body : JSON.stringify(body);
          received.push({ body: text, query, contentType: metadata?.contentType });
          const order = JSON.parse(text) as { id: number };
          return { created: order.id, query };
        },
        { method: HttpMethod.POST },
      );
      await server.start();
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

    // The SDK hands a gRPC handler the query string and an HTTP handler the request's URL.
    it('receives a DaprClient invocation and answers it', async () => {
      const answer = await client.invoker.invoke(appId, 'orders/create?source=test', HttpMethod.POST, {
        id: 42,
      });
      assert.deepEqual(answer, {
        created: 42,
        query: protocol === CommunicationProtocolEnum.GRPC ? 'source=test' : '/orders/create?source=test',
      });
      const last = received.at(-1);
      assert.equal(last?.body, '{"id":42}');
      assert.equal(last?.contentType, 'application/json');
    });

    it('receives a DaprClient invocation over gRPC and answers it', async () => {
      const answer = await grpcClient.invoker.invoke(appId, 'orders/create', HttpMethod.POST, { id: 7 });
      assert.deepEqual(answer, {
        created: 7,
        query: protocol === CommunicationProtocolEnum.GRPC ? '' : '/orders/create',
      });
      assert.equal(received.at(-1)?.body, '{"id":7}');
    });

    it('answers an unregistered method as the SDK server does', async () => {
      const res = await fetch(`${caller.url}/v1.0/invoke/${appId}/method/unknown`, { method: 'GET' });
      if (protocol === CommunicationProtocolEnum.GRPC) {
        assert.equal(res.status, 200, 'the gRPC server answers an empty InvokeResponse');
        assert.equal((await res.arrayBuffer()).byteLength, 0);
      } else {
        assert.equal(res.status, 404, "express's 404 passes through");
      }
    });
  });
}
