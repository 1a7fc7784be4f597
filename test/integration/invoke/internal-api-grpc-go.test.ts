import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { InternalServer } from '../../../sidecar/api/internal/internal-server.js';
import {
  decodeInvokeResponse,
  decodeResponseChunk,
  encodeInvokeRequest,
  encodeRequestChunk,
  type InvokeHead,
} from '../../../sidecar/api/internal/invoke-messages.js';
import { CALL_LOCAL_PATH, CALL_LOCAL_STREAM_PATH } from '../../../sidecar/api/internal/service-definition.js';
import { HttpAppChannel } from '../../../sidecar/channel/http-channel.js';
import type { Logger } from '../../../sidecar/components/component.js';
import { ensureGrpcGoProbe, runGrpcGoProbe } from '../../env/grpc-go-probe.js';
import { assertDescribed, startTestApp, type TestApp } from './invoke-fixture.js';

/**
 * The internal API against grpc-go, the gRPC and HTTP/2 stack daprd is built on: a client built
 * with it calls CallLocal and CallLocalStream with Dapr's message encoding, large bodies cross
 * HTTP/2 flow control in both directions, and bad input gets a gRPC status, not a broken
 * connection.
 */

const silent: Logger = { debug() {}, info() {}, warn() {}, error() {}, child: () => silent };
let app: TestApp;
let channel: HttpAppChannel;
let server: InternalServer;
let probe: string;
let address: string;

before(async () => {
  probe = await ensureGrpcGoProbe((m) => process.stderr.write(`${m}\n`));
  app = await startTestApp();
  channel = new HttpAppChannel({ address: '127.0.0.1', port: app.port, maxConcurrency: -1 });
  server = new InternalServer({ appId: 'b', appChannel: () => channel, httpProtocol: true, logger: silent });
  address = `127.0.0.1:${await server.listen(0, '127.0.0.1')}`;
});

after(async () => {
  await server?.close(0);
  channel?.close();
  await app?.close();
});

const head = (method: string, verb: string): InvokeHead => ({
  method,
  verb,
  query: 'a=1',
  contentType: 'application/octet-stream',
  metadata: { 'dapr-caller-app-id': ['go'], 'x-k': ['v'] },
});

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

describe('internal API wire compatibility with grpc-go', () => {
  it('serves unary CallLocal', async () => {
    const res = await runGrpcGoProbe(
      probe,
      address,
      CALL_LOCAL_PATH,
      [encodeInvokeRequest(head('unary/path', 'PUT'), Buffer.from('hi'))],
      false,
    );
    assert.equal(res.code, 0, res.message);
    assert.deepEqual(res.header['content-type'], ['application/grpc']);
    const reply = decodeInvokeResponse(res.messages[0] as Buffer);
    assert.equal(reply.head.status, 200);
    assertDescribed(reply.body, {
      method: 'PUT',
      url: '/unary/path?a=1',
      body: 'hi',
      headers: { 'x-k': 'v' },
    });
  });

  it('streams 3 MiB each way through CallLocalStream', async () => {
    const body = Buffer.alloc(3 * 1024 * 1024);
    for (let i = 0; i < body.length; i++) body[i] = (i * 31) & 0xff;
    const chunks = [encodeRequestChunk({ head: head('echo', 'POST') })];
    for (let i = 0, seq = 0; i < body.length; i += 64 * 1024, seq++)
      chunks.push(encodeRequestChunk({ data: body.subarray(i, i + 64 * 1024), seq }));
    const res = await runGrpcGoProbe(probe, address, CALL_LOCAL_STREAM_PATH, chunks, true);
    assert.equal(res.code, 0, res.message);
    const replies = res.messages.map((m) => decodeResponseChunk(m));
    assert.equal(replies[0]?.head?.status, 200);
    const echoed = Buffer.concat(replies.map((r) => r.data ?? Buffer.alloc(0)));
    assert.equal(echoed.length, body.length);
    assert.equal(sha(echoed), sha(body));
    replies.forEach((r, i) => {
      if (r.data !== undefined && r.data.length > 0) assert.equal(r.seq ?? 0, i, 'sequence numbers in order');
    });
    assert.equal(app.hits.at(-1)?.bodySha256, sha(body), 'the app got the whole body');
  });

  it('answers bad input with a gRPC status and keeps serving', async () => {
    const outOfOrder = await runGrpcGoProbe(
      probe,
      address,
      CALL_LOCAL_STREAM_PATH,
      [
        encodeRequestChunk({ head: head('echo', 'POST') }),
        encodeRequestChunk({ data: Buffer.from('x'), seq: 1 }),
      ],
      true,
    );
    assert.equal(outOfOrder.code, 3, 'INVALID_ARGUMENT');
    assert.match(outOfOrder.message, /invalid sequence number received: 1 \(expected: 0\)/);
    const garbage = await runGrpcGoProbe(
      probe,
      address,
      CALL_LOCAL_PATH,
      [Buffer.from([0x0a, 0xc8, 0x01, 0x01])],
      false,
    );
    assert.notEqual(garbage.code, 0);
    const unknown = await runGrpcGoProbe(
      probe,
      address,
      '/dapr.proto.internals.v1.ServiceInvocation/CallActor',
      [Buffer.alloc(0)],
      false,
    );
    assert.equal(unknown.code, 12, 'UNIMPLEMENTED');
    const alive = await runGrpcGoProbe(
      probe,
      address,
      CALL_LOCAL_PATH,
      [encodeInvokeRequest(head('still/alive', 'GET'))],
      false,
    );
    assert.equal(alive.code, 0, alive.message);
    assert.equal(decodeInvokeResponse(alive.messages[0] as Buffer).head.status, 200);
  });
});
