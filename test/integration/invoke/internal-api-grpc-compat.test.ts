import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { InternalServer } from '../../../sidecar/api/internal/internal-server.js';
import type { RequestChunk, ResponseChunk } from '../../../sidecar/api/internal/invoke-messages.js';
import {
  SERVICE_INVOCATION_DEFINITION,
  type UnaryRequest,
  type UnaryResponse,
} from '../../../sidecar/api/internal/service-definition.js';
import { HttpAppChannel } from '../../../sidecar/channel/http-channel.js';
import type { Logger } from '../../../sidecar/components/component.js';
import { type ApiRequestEvent, channels } from '../../../sidecar/observability/events.js';
import { assertDescribed, startTestApp, type TestApp } from './invoke-fixture.js';

/**
 * The internal server speaks plain gRPC: an off-the-shelf gRPC client (@grpc/grpc-js, with
 * Dapr's method paths and message field numbers) calls CallLocal and CallLocalStream on it, and
 * unknown methods get UNIMPLEMENTED.
 */

const silent: Logger = { debug() {}, info() {}, warn() {}, error() {}, child: () => silent };
let app: TestApp;
let channel: HttpAppChannel;
let server: InternalServer;
let client: grpc.Client;

before(async () => {
  app = await startTestApp();
  channel = new HttpAppChannel({ address: '127.0.0.1', port: app.port, maxConcurrency: -1 });
  server = new InternalServer({ appId: 'b', appChannel: () => channel, httpProtocol: true, logger: silent });
  const port = await server.listen(0, '127.0.0.1');
  const Ctor = grpc.makeGenericClientConstructor(SERVICE_INVOCATION_DEFINITION, 'ServiceInvocation');
  client = new Ctor(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
});

after(async () => {
  client?.close();
  await server?.close(0);
  channel?.close();
  await app?.close();
});

const head = (method: string, verb: string) => ({
  method,
  verb,
  query: 'a=1',
  contentType: 'text/plain',
  metadata: { 'dapr-caller-app-id': ['grpc-js'], 'x-k': ['v'] },
});

describe('internal API wire compatibility with a gRPC library', () => {
  it('serves unary CallLocal', async () => {
    const res = await new Promise<UnaryResponse>((resolve, reject) =>
      (
        client as unknown as Record<
          string,
          (r: UnaryRequest, cb: (e: Error | null, v: UnaryResponse) => void) => void
        >
      ).CallLocal?.({ head: head('unary/path', 'PUT'), body: Buffer.from('hi') }, (err, v) =>
        err ? reject(err) : resolve(v),
      ),
    );
    assert.equal(res.head.status, 200);
    assertDescribed(res.body, { method: 'PUT', url: '/unary/path?a=1', body: 'hi', headers: { 'x-k': 'v' } });
  });

  it('serves CallLocalStream with chunked bodies', async () => {
    const call = (
      client as unknown as Record<string, () => grpc.ClientDuplexStream<RequestChunk, ResponseChunk>>
    ).CallLocalStream?.() as grpc.ClientDuplexStream<RequestChunk, ResponseChunk>;
    call.write({ head: head('echo', 'POST') });
    call.write({ data: Buffer.from('abc'), seq: 0 });
    call.write({ data: Buffer.from('def'), seq: 1 });
    call.end();
    const chunks: ResponseChunk[] = [];
    for await (const c of call) chunks.push(c as ResponseChunk);
    assert.equal(chunks[0]?.head?.status, 200);
    assert.equal(Buffer.concat(chunks.map((c) => c.data ?? Buffer.alloc(0))).toString(), 'abcdef');
  });

  it("publishes unary CallLocal for daprd's gRPC server metrics, and not CallLocalStream", async (t) => {
    const seen: ApiRequestEvent[] = [];
    const listener = (m: unknown): void => void seen.push(m as ApiRequestEvent);
    channels.apiRequest.subscribe(listener);
    t.after(() => channels.apiRequest.unsubscribe(listener));
    await new Promise<UnaryResponse>((resolve, reject) =>
      (
        client as unknown as Record<
          string,
          (r: UnaryRequest, cb: (e: Error | null, v: UnaryResponse) => void) => void
        >
      ).CallLocal?.({ head: head('metered', 'POST'), body: Buffer.from('12345') }, (err, v) =>
        err ? reject(err) : resolve(v),
      ),
    );
    const call = (
      client as unknown as Record<string, () => grpc.ClientDuplexStream<RequestChunk, ResponseChunk>>
    ).CallLocalStream?.() as grpc.ClientDuplexStream<RequestChunk, ResponseChunk>;
    call.write({ head: head('echo', 'POST') });
    call.end();
    for await (const _ of call) void _;
    assert.equal(seen.length, 1);
    const e = seen[0] as ApiRequestEvent;
    assert.equal(e.protocol, 'grpc');
    assert.equal(e.route, '/dapr.proto.internals.v1.ServiceInvocation/CallLocal');
    assert.equal(e.status, grpc.status.OK);
    assert.ok(e.requestBytes > 5, `request ${e.requestBytes} bytes`);
    assert.ok(e.responseBytes > 0, `response ${e.responseBytes} bytes`);
  });

  it('answers UNIMPLEMENTED for other methods', async () => {
    const err = await new Promise<grpc.ServiceError>((resolve) =>
      client.makeUnaryRequest(
        '/dapr.proto.internals.v1.ServiceInvocation/CallActor',
        (b: Buffer) => b,
        (b: Buffer) => b,
        Buffer.alloc(0),
        (e) => resolve(e as grpc.ServiceError),
      ),
    );
    assert.equal(err.code, grpc.status.UNIMPLEMENTED);
  });
  it('refuses malformed protobuf with a gRPC error and keeps serving', async () => {
    // Field 1 (head) as a length-delimited value claiming 200 bytes that are not there, then junk.
    const garbage = [
      Buffer.from([0x0a, 0xc8, 0x01, 0x01, 0x02]),
      Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff]),
    ];
    for (const body of garbage) {
      const err = await new Promise<grpc.ServiceError | null>((resolve) =>
        client.makeUnaryRequest(
          '/dapr.proto.internals.v1.ServiceInvocation/CallLocal',
          (b: Buffer) => b,
          (b: Buffer) => b,
          body,
          (e) => resolve(e as grpc.ServiceError | null),
        ),
      );
      assert.ok(err !== null, 'a malformed request must not succeed');
      assert.notEqual(err.code, grpc.status.OK);
    }
    const stream = client.makeBidiStreamRequest(
      '/dapr.proto.internals.v1.ServiceInvocation/CallLocalStream',
      (b: Buffer) => b,
      (b: Buffer) => b,
    );
    const streamErr = new Promise<grpc.ServiceError>((resolve) => stream.on('error', resolve));
    stream.on('data', () => {});
    stream.write(Buffer.from([0x0a, 0xc8, 0x01, 0x01]));
    stream.end();
    assert.notEqual((await streamErr).code, grpc.status.OK);

    const res = await new Promise<UnaryResponse>((resolve, reject) =>
      (
        client as unknown as Record<
          string,
          (r: UnaryRequest, cb: (e: Error | null, v: UnaryResponse) => void) => void
        >
      ).CallLocal?.({ head: head('still/alive', 'GET'), body: Buffer.alloc(0) }, (e, v) =>
        e ? reject(e) : resolve(v),
      ),
    );
    assert.equal(res.head.status, 200);
  });
});
