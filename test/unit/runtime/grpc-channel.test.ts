import assert from 'node:assert/strict';
import { createServer, type Server as NetServer } from 'node:net';
import { Readable } from 'node:stream';
import { describe, it, type TestContext } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { encodeAppInvokeRequest } from '../../../sidecar/api/internal/invoke-messages.js';
import { type AppResponse, AppUnhealthyError } from '../../../sidecar/channel/app-channel.js';
import { Cancellation } from '../../../sidecar/channel/cancellation.js';
import { GrpcAppChannel, HEALTH_CHECK, ON_INVOKE } from '../../../sidecar/channel/grpc-channel.js';
import { traceBin } from '../../../sidecar/channel/grpc-metadata.js';
import { rawUnaryMethod } from '../../env/grpc-raw.js';
import { createTestCertificateAuthority } from '../../env/pki.js';

/**
 * The gRPC app channel against in-process grpc-js servers whose handlers take and give raw bytes,
 * so a test can answer with anything, including bytes that are not an InvokeResponse.
 */

type Handler = (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => void;
const alwaysHealthy: Handler = (_call, cb) => cb(null, Buffer.alloc(0));

async function rawServer(
  t: TestContext,
  onInvoke: Handler,
  options: { tls?: { cert: string; key: string }; health?: Handler } = {},
): Promise<number> {
  const server = new grpc.Server();
  server.addService(
    { OnInvoke: rawUnaryMethod(ON_INVOKE), HealthCheck: rawUnaryMethod(HEALTH_CHECK) },
    { OnInvoke: onInvoke, HealthCheck: options.health ?? alwaysHealthy },
  );
  const creds =
    options.tls === undefined
      ? grpc.ServerCredentials.createInsecure()
      : grpc.ServerCredentials.createSsl(null, [
          { cert_chain: Buffer.from(options.tls.cert), private_key: Buffer.from(options.tls.key) },
        ]);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', creds, (err, p) => (err === null ? resolve(p) : reject(err))),
  );
  t.after(() => server.forceShutdown());
  return port;
}

function channel(
  t: TestContext,
  port: number,
  extra: Partial<ConstructorParameters<typeof GrpcAppChannel>[0]> = {},
) {
  const c = new GrpcAppChannel({
    address: '127.0.0.1',
    port,
    maxConcurrency: -1,
    maxBodyBytes: 1024,
    ...extra,
  });
  t.after(() => c.close());
  return c;
}

async function text(res: AppResponse): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of res.body) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString();
}

/** A common.v1.InvokeResponse {data=1 Any{value=2}, content_type=2}, encoded by hand (short fields only). */
function invokeResponse(data: string, contentType: string, typeUrl = ''): Buffer {
  const value = Buffer.from(data);
  const url = Buffer.from(typeUrl);
  const any = Buffer.concat([
    url.length === 0 ? Buffer.alloc(0) : Buffer.concat([Buffer.from([0x0a, url.length]), url]),
    Buffer.from([0x12, value.length]),
    value,
  ]);
  const ct = Buffer.from(contentType);
  return Buffer.concat([Buffer.from([0x0a, any.length]), any, Buffer.from([0x12, ct.length]), ct]);
}

describe('gRPC app channel', () => {
  it('sends an InvokeRequest with converted metadata and returns the InvokeResponse', async (t) => {
    let request: Buffer = Buffer.alloc(0);
    let md: grpc.Metadata = new grpc.Metadata();
    const port = await rawServer(t, (call, cb) => {
      request = call.request;
      md = call.metadata;
      cb(null, invokeResponse('{"ok":true}', 'application/json'));
    });
    const res = await channel(t, port, { appApiToken: 'app-tok' }).invoke({
      method: 'PATCH',
      path: '/orders/7',
      query: 'a=b',
      headers: {
        'content-type': 'text/plain',
        accept: 'application/json',
        'user-agent': 'curl/8',
        'x-many': ['1', '2'],
        traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
        tracestate: 'k=v',
      },
      body: Buffer.from('hello'),
    });
    assert.equal(res.status, 200);
    assert.deepEqual(res.grpcStatus, { code: 0, message: '' });
    assert.equal(res.headers['content-type'], 'application/json');
    assert.equal(await text(res), '{"ok":true}');
    assert.deepEqual(
      request,
      encodeAppInvokeRequest(
        { method: 'orders/7', verb: 'PATCH', query: 'a=b', contentType: 'text/plain' },
        Buffer.from('hello'),
      ),
    );
    assert.deepEqual(md.get('dapr-content-type'), ['text/plain']);
    assert.deepEqual(md.get('dapr-accept'), ['application/json']);
    // node:http2 on the app's side joins a repeated header into one value.
    assert.deepEqual(md.get('x-many'), ['1, 2']);
    assert.deepEqual(md.get('dapr-api-token'), ['app-tok']);
    assert.deepEqual(md.get('tracestate'), ['k=v']);
    assert.deepEqual(md.get('grpc-trace-bin'), [
      traceBin('00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'),
    ]);
  });

  it('prefers the internal metadata and verb: binary values decoded, a grpc-trace-bin kept without a traceparent', async (t) => {
    let md: grpc.Metadata = new grpc.Metadata();
    let request: Buffer = Buffer.alloc(0);
    const port = await rawServer(t, (call, cb) => {
      md = call.metadata;
      request = call.request;
      cb(null, Buffer.alloc(0));
    });
    const trace = Buffer.from([0, 0, ...Buffer.alloc(16, 7), 1, ...Buffer.alloc(8, 9), 2, 1]);
    await channel(t, port).invoke({
      method: 'POST',
      path: '/x',
      headers: { 'x-from-headers': 'ignored' },
      verb: 'NONE',
      metadata: {
        'x-id-bin': [Buffer.from([1, 2, 3]).toString('base64')],
        'grpc-trace-bin': [trace.toString('base64')],
        'dapr-api-token': ['caller-token'],
        host: ['callee:3500'],
      },
    });
    assert.deepEqual(md.get('x-id-bin'), [Buffer.from([1, 2, 3])]);
    assert.deepEqual(md.get('grpc-trace-bin'), [trace]);
    assert.deepEqual(md.get('dapr-host'), ['callee:3500']);
    assert.deepEqual(md.get('dapr-api-token'), [], "the caller's token stays behind");
    assert.deepEqual(md.get('x-from-headers'), []);
    // A gRPC caller's verb (NONE) reaches the app as it crossed the hop.
    assert.deepEqual(
      request,
      encodeAppInvokeRequest({ method: 'x', verb: 'NONE', query: '', contentType: '' }, Buffer.alloc(0)),
    );
  });

  it('answers data packed with a type URL as application/x-protobuf', async (t) => {
    const port = await rawServer(t, (_call, cb) =>
      cb(
        null,
        invokeResponse('\x08\x01', 'application/json', 'type.googleapis.com/google.protobuf.Int32Value'),
      ),
    );
    const res = await channel(t, port).invoke({ method: 'POST', path: '/x' });
    assert.equal(res.headers['content-type'], 'application/x-protobuf');
    assert.equal(await text(res), '\x08\x01');
  });

  it('answers bytes that are not an InvokeResponse with Internal, not a throw', async (t) => {
    const port = await rawServer(t, (_call, cb) => cb(null, Buffer.from([0x0a, 0xff, 0xff, 0xff])));
    const res = await channel(t, port).invoke({ method: 'POST', path: '/x', body: Buffer.from('a') });
    assert.equal(res.grpcStatus?.code, 13);
    assert.match(res.grpcStatus?.message ?? '', /malformed InvokeResponse/);
    assert.equal(res.status, 500);
    assert.equal(await text(res), '');
  });

  it('answers a port that does not speak gRPC with a status, not a throw', async (t) => {
    const junk: NetServer = createServer((s) => s.end('HTTP/1.1 400 Bad Request\r\n\r\n'));
    await new Promise<void>((resolve) => junk.listen(0, '127.0.0.1', resolve));
    t.after(() => junk.close());
    const port = (junk.address() as { port: number }).port;
    const res = await channel(t, port).invoke({ method: 'POST', path: '/x' });
    assert.ok(res.grpcStatus !== undefined && res.grpcStatus.code !== 0, `status ${res.grpcStatus?.code}`);
    assert.ok(res.status >= 500);
  });

  it('passes the app error status and its header metadata', async (t) => {
    const port = await rawServer(t, (call, cb) => {
      const h = new grpc.Metadata();
      h.set('x-reason', 'stock');
      call.sendMetadata(h);
      cb({ code: grpc.status.FAILED_PRECONDITION, details: 'out of stock' });
    });
    const res = await channel(t, port).invoke({ method: 'POST', path: '/buy' });
    assert.deepEqual(res.grpcStatus, { code: 9, message: 'out of stock' });
    assert.equal(res.status, 400);
    assert.equal(res.headers['x-reason'], 'stock');
  });

  it('reads a streamed body up to --max-body-size and reports a larger one as ResourceExhausted', async (t) => {
    let calls = 0;
    const port = await rawServer(t, (_call, cb) => {
      calls++;
      cb(null, Buffer.alloc(0));
    });
    const c = channel(t, port);
    const ok = await c.invoke({
      method: 'POST',
      path: '/x',
      body: Readable.from([Buffer.alloc(500), Buffer.alloc(500)]),
    });
    assert.equal(ok.grpcStatus?.code, 0);
    const big = await c.invoke({
      method: 'POST',
      path: '/x',
      body: Readable.from([Buffer.alloc(800), Buffer.alloc(800)]),
    });
    assert.deepEqual(big.grpcStatus, {
      code: 8,
      message: 'grpc: trying to send message larger than max (1600 vs. 1024)',
    });
    assert.equal(big.status, 429);
    assert.equal(calls, 1, 'the oversized body never reached the app');
  });

  it('cancels the call when the signal fires', async (t) => {
    let cancelled = false;
    const port = await rawServer(t, (call) => {
      call.on('cancelled', () => {
        cancelled = true;
      });
    });
    const cancel = new Cancellation();
    const pending = channel(t, port).invoke({ method: 'POST', path: '/hang', signal: cancel });
    await new Promise((r) => setTimeout(r, 100));
    cancel.cancel();
    const res = await pending;
    assert.equal(res.grpcStatus?.code, 1);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(cancelled, true);
  });

  it('holds calls beyond --app-max-concurrency until a slot frees', async (t) => {
    let active = 0;
    let peak = 0;
    const port = await rawServer(t, (_call, cb) => {
      active++;
      peak = Math.max(peak, active);
      setTimeout(() => {
        active--;
        cb(null, Buffer.alloc(0));
      }, 30);
    });
    const c = channel(t, port, { maxConcurrency: 2 });
    const results = await Promise.all(
      Array.from({ length: 6 }, () => c.invoke({ method: 'POST', path: '/x', body: Buffer.from('a') })),
    );
    assert.deepEqual(
      results.map((r) => r.grpcStatus?.code),
      [0, 0, 0, 0, 0, 0],
    );
    assert.equal(peak, 2);
  });

  it('refuses calls while the app is unhealthy', async (t) => {
    const port = await rawServer(t, (_c, cb) => cb(null, Buffer.alloc(0)));
    const c = channel(t, port, { isHealthy: () => false });
    await assert.rejects(c.invoke({ method: 'POST', path: '/x' }), AppUnhealthyError);
  });

  it('probes health through AppCallbackHealthCheck, over TLS without verifying the certificate', async (t) => {
    const ca = createTestCertificateAuthority('outrigger-test-grpc-app-ca');
    const leaf = ca.issue({ commonName: 'app', ipAddresses: ['127.0.0.1'] });
    let healthy = true;
    const port = await rawServer(t, (_c, cb) => cb(null, invokeResponse('tls', 'text/plain')), {
      tls: { cert: leaf.certPem, key: leaf.keyPem },
      health: (_c, cb) => (healthy ? cb(null, Buffer.alloc(0)) : cb({ code: grpc.status.UNAVAILABLE })),
    });
    const c = channel(t, port, { tls: true });
    assert.equal(await c.probeHealth('/ignored', 1000), true);
    healthy = false;
    assert.equal(await c.probeHealth('/ignored', 1000), false);
    const res = await c.invoke({ method: 'GET', path: '/x' });
    assert.equal(await text(res), 'tls');
  });
});
