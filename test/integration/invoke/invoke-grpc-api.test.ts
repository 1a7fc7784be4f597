import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { encodeRpc } from '../../env/google-rpc.js';
import { makeTempDir, removeTempDir, waitUntil } from '../../env/process.js';
import { dialDapr, grpcCall, LOAD, statusDetails } from '../grpc-api-client.js';
import type { Sidecar } from '../harness.js';
import { startAppSidecar, startTestApp, type TestApp } from './invoke-fixture.js';

/**
 * The sidecar's gRPC API (`--dapr-grpc-port`, `dapr.proto.runtime.v1.Dapr`): InvokeService through
 * two sidecars to an HTTP app and to a gRPC app, GetMetadata/SetMetadata, Shutdown, the API token,
 * and bad input. The client is grpc-js with Dapr's own dapr.proto (shipped in @dapr/dapr), so the
 * messages are encoded and decoded by code that is not ours.
 */

const callback = (
  grpc.loadPackageDefinition(loadSync('dapr/proto/runtime/v1/appcallback.proto', LOAD)) as unknown as {
    dapr: { proto: { runtime: { v1: { AppCallback: { service: grpc.ServiceDefinition } } } } };
  }
).dapr.proto.runtime.v1;

/** The details of an error status, which must carry some. */
function details(err: grpc.ServiceError): ReturnType<typeof statusDetails> {
  const found = statusDetails(err);
  assert.ok(found.length > 0, 'grpc-status-details-bin carries details');
  return found;
}

function invokeRequest(id: string, method: string, verb: string, data: string, contentType: string) {
  return {
    id,
    message: {
      method,
      data: { type_url: '', value: Buffer.from(data) },
      content_type: contentType,
      http_extension: { verb, querystring: 'x=1' },
    },
  };
}

/** A gRPC app: `ok` answers its data; `missing` answers NotFound with a BadRequest detail. */
async function startGrpcApp(): Promise<{ port: number; stop(): Promise<void> }> {
  const server = new grpc.Server();
  server.addService(callback.AppCallback.service, {
    OnInvoke(
      call: grpc.ServerUnaryCall<{ method: string; data: { value: Buffer } | null }, unknown>,
      cb: grpc.sendUnaryData<unknown>,
    ) {
      if (call.request.method === 'missing') {
        const detail = encodeRpc('BadRequest', {
          field_violations: [{ field: 'sku', description: 'unknown' }],
        });
        const md = new grpc.Metadata();
        md.set(
          'grpc-status-details-bin',
          encodeRpc('Status', {
            code: 5,
            message: 'no such sku',
            details: [{ type_url: 'type.googleapis.com/google.rpc.BadRequest', value: detail }],
          }),
        );
        md.set('x-trail', 'missing');
        cb({ code: grpc.status.NOT_FOUND, details: 'no such sku', metadata: md });
        return;
      }
      const got = call.request.data?.value.toString() ?? '';
      const headers = new grpc.Metadata();
      headers.set('x-head', 'first');
      headers.set('x-head-bin', Buffer.from([9, 8, 0, 7]));
      call.sendMetadata(headers);
      const trailers = new grpc.Metadata();
      trailers.set('x-trail', 'done');
      trailers.set('x-trail-bin', Buffer.from([0, 1, 2, 255]));
      cb(
        null,
        { data: { type_url: '', value: Buffer.from(`echo:${got}`) }, content_type: 'text/plain' },
        trailers,
      );
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) =>
      err === null ? resolve(p) : reject(err),
    ),
  );
  return { port, stop: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())) };
}

let home = '';
let app: TestApp;
let grpcApp: { port: number; stop(): Promise<void> };
let a: Sidecar;
let b: Sidecar;
let g: Sidecar;
let t: Sidecar;
let client: grpc.Client;

const dial = (s: Sidecar): grpc.Client => dialDapr(s.grpcPort);

before(async () => {
  home = await makeTempDir('invoke-grpc-api');
  app = await startTestApp();
  grpcApp = await startGrpcApp();
  b = await startAppSidecar(home, { appId: 'b', appPort: app.port });
  g = await startAppSidecar(home, { appId: 'g', appPort: grpcApp.port, args: ['--app-protocol', 'grpc'] });
  a = await startAppSidecar(home, { appId: 'a' });
  t = await startAppSidecar(home, { appId: 't', env: { DAPR_API_TOKEN: 's3cret' } });
  client = dial(a);
});

after(async () => {
  client?.close();
  for (const s of [a, b, g, t]) await s?.stop();
  await app?.close();
  await grpcApp?.stop();
  await removeTempDir(home);
});

describe('gRPC API: InvokeService', () => {
  it('invokes an HTTP app through two sidecars: verb, query, body, metadata and the answer', async () => {
    const md = new grpc.Metadata();
    md.set('x-custom', 'v1');
    const { err, res, headers } = await grpcCall(
      client,
      'InvokeService',
      invokeRequest('b', 'orders/create', 'POST', '{"id":1}', 'application/json'),
      md,
    );
    assert.equal(err, null, err?.message);
    const data = res?.data as { value: Buffer };
    const seen = JSON.parse(data.value.toString()) as {
      method: string;
      url: string;
      body: string;
      headers: Record<string, string>;
    };
    assert.equal(seen.method, 'POST');
    assert.equal(seen.url, '/orders/create?x=1');
    assert.equal(seen.body, '{"id":1}');
    assert.equal(seen.headers['content-type'], 'application/json');
    assert.equal(seen.headers['x-custom'], 'v1');
    assert.equal(seen.headers['dapr-caller-app-id'], 'a');
    assert.match(seen.headers.traceparent ?? '', /^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/);
    assert.equal(res?.content_type, 'application/json');
    assert.equal(headers?.get('dapr-http-status')[0], '200');
    assert.equal(headers?.get('x-app')[0], 'b');
    assert.equal(headers?.get('dapr-content-type')[0], 'application/json');
    assert.equal(headers?.get('traceparent').length, 1);
    assert.ok(Buffer.isBuffer(headers?.get('grpc-trace-bin')[0]));
  });

  it("maps an HTTP app's error status to a gRPC error with ErrorInfo, as daprd does", async () => {
    const { err } = await grpcCall(client, 'InvokeService', invokeRequest('b', 'status/404', 'GET', '', ''));
    assert.equal(err?.code, grpc.status.NOT_FOUND);
    assert.equal(err?.details, 'Not Found');
    assert.equal(err?.metadata.get('dapr-http-status')[0], '404');
    assert.equal(err?.metadata.get('x-app')[0], 'b');
    assert.deepEqual(details(err as grpc.ServiceError), [
      {
        type: 'type.googleapis.com/google.rpc.ErrorInfo',
        value: {
          reason: 'Not Found',
          domain: 'dapr.io',
          metadata: { 'http.code': '404', 'http.error_message': 'status 404' },
        },
      },
    ]);
    // daprd's table maps 400 to Internal.
    const bad = await grpcCall(client, 'InvokeService', invokeRequest('b', 'status/400', 'GET', '', ''));
    assert.equal(bad.err?.code, grpc.status.INTERNAL);
    assert.equal(bad.err?.details, 'Bad Request');
  });

  it("passes a gRPC app's data, header and trailer metadata (binary too), and its error status with its details", async () => {
    const ok = await grpcCall(client, 'InvokeService', invokeRequest('g', 'say', 'NONE', 'hi', 'text/plain'));
    assert.equal(ok.err, null, ok.err?.message);
    assert.equal((ok.res?.data as { value: Buffer } | undefined)?.value.toString(), 'echo:hi');
    assert.equal(ok.res?.content_type, 'text/plain');
    assert.deepEqual(ok.headers?.get('dapr-http-status'), []);
    assert.deepEqual(ok.headers?.get('x-head'), ['first']);
    assert.deepEqual(ok.headers?.get('x-head-bin'), [Buffer.from([9, 8, 0, 7])]);
    assert.deepEqual(ok.trailers?.get('x-trail'), ['done']);
    assert.deepEqual(ok.trailers?.get('x-trail-bin'), [Buffer.from([0, 1, 2, 255])]);
    const missing = await grpcCall(client, 'InvokeService', invokeRequest('g', 'missing', 'NONE', '', ''));
    assert.equal(missing.err?.code, grpc.status.NOT_FOUND);
    assert.equal(missing.err?.details, 'no such sku');
    assert.deepEqual(missing.err?.metadata.get('x-trail'), ['missing']);
    assert.deepEqual(details(missing.err as grpc.ServiceError), [
      {
        type: 'type.googleapis.com/google.rpc.BadRequest',
        value: { field_violations: [{ field: 'sku', description: 'unknown' }] },
      },
    ]);
  });

  it("answers Internal with daprd's message for an app id nobody serves", async () => {
    const { err } = await grpcCall(client, 'InvokeService', invokeRequest('nobody', 'x', 'GET', '', ''));
    assert.equal(err?.code, grpc.status.INTERNAL);
    assert.match(err?.details ?? '', /^failed to invoke, id: nobody, err: /);
  });

  it('answers bytes that are not an InvokeServiceRequest with an error and keeps serving', async () => {
    const raw = await new Promise<grpc.ServiceError | null>((resolve) =>
      client.makeUnaryRequest(
        '/dapr.proto.runtime.v1.Dapr/InvokeService',
        (b: Buffer) => b,
        (b: Buffer) => b,
        Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]),
        new grpc.Metadata(),
        {},
        (err) => resolve(err),
      ),
    );
    assert.equal(raw?.code, grpc.status.INTERNAL);
    const after = await grpcCall(client, 'InvokeService', invokeRequest('b', 'again', 'GET', '', ''));
    assert.equal(after.err, null, after.err?.message);
  });

  it('answers Unimplemented for a method of the Dapr service it does not serve (pub/sub)', async () => {
    const { err } = await grpcCall(client, 'PublishEvent', { pubsub_name: 'p', topic: 't' });
    assert.equal(err?.code, grpc.status.UNIMPLEMENTED);
  });

  it('answers ResourceExhausted for an answer over --max-body-size, and logs calls with --enable-api-logging', async () => {
    const s = await startAppSidecar(home, {
      appId: 'limited',
      args: ['--max-body-size', '1Ki', '--enable-api-logging'],
    });
    const sc = dial(s);
    try {
      const { err } = await grpcCall(sc, 'InvokeService', invokeRequest('b', 'big/5000', 'GET', '', ''));
      assert.equal(err?.code, grpc.status.RESOURCE_EXHAUSTED);
      assert.equal(err?.details, 'grpc: trying to send message larger than max (5000 vs. 1024)');
      const small = await grpcCall(sc, 'InvokeService', invokeRequest('b', 'big/900', 'GET', '', ''));
      assert.equal(small.err, null, small.err?.message);
      assert.equal((small.res?.data as { value: Buffer } | undefined)?.value.length, 900);
      await waitUntil('the API log line', async () => /gRPC API Called/.test(s.logs()), 5_000);
      assert.match(
        s.logs(),
        // daprd's numeric code: 8 is ResourceExhausted.
        /msg="gRPC API Called".*code=8\b.*method=\/dapr\.proto\.runtime\.v1\.Dapr\/InvokeService|msg="gRPC API Called".*method=\/dapr\.proto\.runtime\.v1\.Dapr\/InvokeService.*code=8\b/,
      );
    } finally {
      sc.close();
      await s.stop();
    }
  });

  it('counts calls in dapr_grpc_io_server_completed_rpcs', async () => {
    const text = await (await fetch(`http://127.0.0.1:${a.metricsPort}/metrics`)).text();
    assert.match(
      text,
      /dapr_grpc_io_server_completed_rpcs\{app_id="a",grpc_server_method="\/dapr\.proto\.runtime\.v1\.Dapr\/InvokeService",grpc_server_status="OK"\} [1-9]/,
    );
    assert.match(
      text,
      /grpc_server_method="\/dapr\.proto\.runtime\.v1\.Dapr\/InvokeService",grpc_server_status="NotFound"/,
    );
  });
});

describe('gRPC API: API token', () => {
  it('refuses a call without the token, or with another one, as Unauthenticated', async () => {
    const tc = dial(t);
    try {
      const none = await grpcCall(tc, 'GetMetadata', {});
      assert.equal(none.err?.code, grpc.status.UNAUTHENTICATED);
      assert.equal(none.err?.details, 'Unauthorized');
      const wrong = new grpc.Metadata();
      wrong.set('dapr-api-token', 'nope');
      const bad = await grpcCall(tc, 'GetMetadata', {}, wrong);
      assert.equal(bad.err?.code, grpc.status.UNAUTHENTICATED);
      assert.deepEqual(details(bad.err as grpc.ServiceError)[0]?.value.metadata, {
        'http.code': '401',
        'http.error_message': 'authentication error: api token mismatch',
      });
      const right = new grpc.Metadata();
      right.set('dapr-api-token', 's3cret');
      const ok = await grpcCall(tc, 'GetMetadata', {}, right);
      assert.equal(ok.err, null, ok.err?.message);
      assert.equal(ok.res?.id, 't');
    } finally {
      tc.close();
    }
  });
});

describe('gRPC API: metadata and shutdown', () => {
  it('GetMetadata describes the sidecar; SetMetadata adds an extended attribute', async () => {
    const set = await grpcCall(client, 'SetMetadata', { key: 'team', value: 'orders' });
    assert.equal(set.err, null, set.err?.message);
    const bc = dial(b);
    try {
      const { err, res } = await grpcCall(client, 'GetMetadata', {});
      assert.equal(err, null, err?.message);
      assert.equal(res?.id, 'a');
      const extended = res?.extended_metadata as Record<string, string>;
      assert.equal(extended.team, 'orders');
      assert.equal(typeof extended.daprRuntimeVersion, 'string');
      assert.equal(res?.runtime_version, extended.daprRuntimeVersion);
      assert.equal(
        (res?.actor_runtime as { runtime_status: string } | undefined)?.runtime_status,
        'DISABLED',
      );
      const ofB = await grpcCall(bc, 'GetMetadata', {});
      const props = ofB.res?.app_connection_properties as { port: number; protocol: string };
      assert.equal(props.port, app.port);
      assert.equal(props.protocol, 'http');
    } finally {
      bc.close();
    }
  });

  it('finishes an in-flight InvokeService on SIGTERM before it exits', async () => {
    const s = await startAppSidecar(home, { appId: 'draining' });
    const sc = dial(s);
    try {
      const pending = grpcCall(sc, 'InvokeService', invokeRequest('b', 'slow/700', 'GET', '', ''));
      await waitUntil('the slow call to reach the app', async () => app.count('/slow/700') > 0, 10_000);
      process.kill(s.proc.pid, 'SIGTERM');
      const { err, res } = await pending;
      assert.equal(err, null, err?.message);
      assert.equal((res?.data as { value: Buffer } | undefined)?.value.toString(), 'slow done');
      assert.equal((await s.proc.exited).code, 0, s.logs());
    } finally {
      sc.close();
      await s.stop();
    }
  });

  it('Shutdown stops the sidecar gracefully', async () => {
    const s = await startAppSidecar(home, { appId: 'down' });
    const sc = dial(s);
    try {
      const { err } = await grpcCall(sc, 'Shutdown', {});
      assert.equal(err, null, err?.message);
      const exit = await s.proc.exited;
      assert.equal(exit.code, 0, s.logs());
    } finally {
      sc.close();
      await s.stop();
    }
  });
});
