import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import protobuf from 'protobufjs';
import { makeTempDir, removeTempDir, waitUntil } from '../../env/process.js';
import { type Sidecar, writeResources } from '../harness.js';
import { startAppSidecar } from './invoke-fixture.js';

/**
 * `--app-protocol grpc`: sidecar B calls its app's `AppCallback/OnInvoke`, and an HTTP caller
 * through sidecar A gets daprd's mapping (OK → 200 with the data; an error code → its HTTP status
 * with the status as JSON, not retried). The app is a grpc-js server built from Dapr's own
 * appcallback.proto (shipped in @dapr/dapr), so the messages are decoded by code that is not ours.
 */

const require = createRequire(import.meta.url);
const PROTO_ROOT = require.resolve('@dapr/dapr/package.json').replace(/package\.json$/, 'proto');

interface ReceivedCall {
  method: string;
  data: string;
  contentType: string;
  verb: string;
  querystring: string;
  metadata: Record<string, string>;
  traceBin: Buffer | undefined;
}

interface GrpcApp {
  readonly port: number;
  readonly calls: ReceivedCall[];
  healthy: boolean;
  stop(): Promise<void>;
}

async function startGrpcApp(): Promise<GrpcApp> {
  const definition = loadSync('dapr/proto/runtime/v1/appcallback.proto', {
    includeDirs: [PROTO_ROOT],
    keepCase: true,
    enums: String,
    defaults: true,
  });
  const pkg = grpc.loadPackageDefinition(definition) as unknown as {
    dapr: {
      proto: {
        runtime: {
          v1: {
            AppCallback: { service: grpc.ServiceDefinition };
            AppCallbackHealthCheck: { service: grpc.ServiceDefinition };
          };
        };
      };
    };
  };
  const v1 = pkg.dapr.proto.runtime.v1;
  const calls: ReceivedCall[] = [];
  const app = { healthy: true };
  const server = new grpc.Server();
  type Req = {
    method: string;
    data: { value: Buffer } | null;
    content_type: string;
    http_extension: { verb: string; querystring: string } | null;
  };
  server.addService(v1.AppCallback.service, {
    OnInvoke(call: grpc.ServerUnaryCall<Req, unknown>, cb: grpc.sendUnaryData<unknown>) {
      const r = call.request;
      const metadata: Record<string, string> = {};
      for (const [k, v] of Object.entries(call.metadata.getMap()))
        if (!Buffer.isBuffer(v)) metadata[k] = String(v);
      const traceBin = call.metadata.get('grpc-trace-bin')[0];
      const got: ReceivedCall = {
        method: r.method,
        data: r.data?.value.toString() ?? '',
        contentType: r.content_type,
        verb: r.http_extension?.verb ?? '',
        querystring: r.http_extension?.querystring ?? '',
        metadata,
        traceBin: Buffer.isBuffer(traceBin) ? traceBin : undefined,
      };
      calls.push(got);
      if (r.method === 'missing') {
        cb({ code: grpc.status.NOT_FOUND, details: 'no such order' });
        return;
      }
      if (r.method === 'invalid' || r.method === 'strange') {
        // A rich error status, as grpc-go's status.WithDetails sends it (grpc-status-details-bin).
        const trailers = new grpc.Metadata();
        const detail =
          r.method === 'invalid'
            ? { typeUrl: 'type.googleapis.com/google.rpc.BadRequest', value: encode('BadRequest', BAD_QTY) }
            : { typeUrl: 'type.googleapis.com/example.Strange', value: Buffer.alloc(0) };
        trailers.set(
          'grpc-status-details-bin',
          encode('Status', { code: 3, message: 'invalid order', details: [detail] }),
        );
        cb({ code: grpc.status.INVALID_ARGUMENT, details: 'invalid order', metadata: trailers });
        return;
      }
      const headers = new grpc.Metadata();
      headers.set('x-app-header', 'yes');
      call.sendMetadata(headers);
      cb(null, {
        data: { type_url: '', value: Buffer.from(JSON.stringify(got)) },
        content_type: 'application/json',
      });
    },
    ListTopicSubscriptions(_call: unknown, cb: grpc.sendUnaryData<unknown>) {
      cb(null, { subscriptions: [] });
    },
    ListInputBindings(_call: unknown, cb: grpc.sendUnaryData<unknown>) {
      cb(null, { bindings: [] });
    },
  });
  server.addService(v1.AppCallbackHealthCheck.service, {
    HealthCheck(_call: unknown, cb: grpc.sendUnaryData<unknown>) {
      if (app.healthy) cb(null, {});
      else cb({ code: grpc.status.UNAVAILABLE, details: 'draining' });
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) =>
      err === null ? resolve(p) : reject(err),
    ),
  );
  return {
    port,
    calls,
    get healthy() {
      return app.healthy;
    },
    set healthy(v: boolean) {
      app.healthy = v;
    },
    stop: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())),
  };
}

/** google.rpc messages, encoded by protobufjs from their definitions. */
const rpc = protobuf.parse(
  `syntax = "proto3"; package google.rpc;
   message Any { string type_url = 1; bytes value = 2; }
   message Status { int32 code = 1; string message = 2; repeated Any details = 3; }
   message BadRequest {
     message FieldViolation { string field = 1; string description = 2; }
     repeated FieldViolation field_violations = 1;
   }`,
).root;
const BAD_QTY = { fieldViolations: [{ field: 'qty', description: 'must be positive' }] };

function encode(type: string, value: Record<string, unknown>): Buffer {
  const t = rpc.lookupType(`google.rpc.${type}`);
  return Buffer.from(t.encode(t.fromObject(value)).finish());
}

let home = '';
let app: GrpcApp;
let a: Sidecar;
let b: Sidecar;
/** Another sidecar of the same app, without health checks (they would refuse calls once it is gone). */
let c: Sidecar;

before(async () => {
  home = await makeTempDir('invoke-grpc-app');
  app = await startGrpcApp();
  // Retries that would show if a gRPC error status were treated as a failed attempt.
  const resiliency = {
    apiVersion: 'dapr.io/v1alpha1',
    kind: 'Resiliency',
    metadata: { name: 'retry-b' },
    spec: {
      policies: { retries: { three: { policy: 'constant', duration: '10ms', maxRetries: 3 } } },
      targets: { apps: { b: { retry: 'three' } } },
    },
  };
  const resources = await writeResources(home, [resiliency], 'resiliency.yaml');
  b = await startAppSidecar(home, {
    appId: 'b',
    appPort: app.port,
    args: [
      '--app-protocol',
      'grpc',
      '--max-body-size',
      '1Mi',
      '--enable-app-health-check',
      '--app-health-probe-interval',
      '1',
      '--app-health-threshold',
      '1',
    ],
  });
  c = await startAppSidecar(home, { appId: 'c', appPort: app.port, args: ['--app-protocol', 'grpc'] });
  a = await startAppSidecar(home, { appId: 'a', resourcesPaths: [resources] });
  await waitUntil('B to see its app healthy', async () => /Application is healthy/.test(b.logs()), 20_000, {
    process: b.proc,
  });
});

after(async () => {
  for (const x of [a, b, c]) await x?.stop();
  await app?.stop();
  await removeTempDir(home);
});

describe('invocation of a gRPC app', () => {
  it('passes the call as an InvokeRequest and the InvokeResponse back as the HTTP answer', async () => {
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const res = await fetch(`${a.url}/v1.0/invoke/b/method/echo?x=1&y=2`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', 'x-custom': 'v', traceparent },
      body: JSON.stringify({ order: 7 }),
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/json');
    assert.equal(res.headers.get('x-app-header'), 'yes');
    const got = (await res.json()) as ReceivedCall;
    assert.equal(got.method, 'echo');
    assert.equal(got.data, '{"order":7}');
    assert.equal(got.contentType, 'application/json');
    assert.equal(got.verb, 'PUT');
    assert.equal(got.querystring, 'x=1&y=2');
    assert.equal(got.metadata['x-custom'], 'v');
    // daprd's conversion: IANA permanent request headers get a dapr- prefix.
    assert.equal(got.metadata['dapr-content-type'], 'application/json');
    assert.equal(got.metadata['dapr-caller-app-id'], 'a');
    assert.equal(got.metadata['dapr-callee-app-id'], 'b');
    // The caller's trace, with the callee sidecar's span as the parent (daprd's spans per hop).
    const received = /^00-0af7651916cd43dd8448eb211c80319c-([0-9a-f]{16})-01$/.exec(
      got.metadata.traceparent ?? '',
    );
    assert.ok(received !== null, `traceparent ${got.metadata.traceparent}`);
    assert.notEqual(received[1], 'b7ad6b7169203331');
    const bin = app.calls.at(-1)?.traceBin;
    assert.ok(bin !== undefined, 'grpc-trace-bin sent');
    assert.equal(bin.subarray(2, 18).toString('hex'), '0af7651916cd43dd8448eb211c80319c');
    assert.equal(bin.subarray(19, 27).toString('hex'), received[1]);
  });

  it('maps an error status to its HTTP status with the status as JSON, and does not retry it', async () => {
    const before = app.calls.filter((c) => c.method === 'missing').length;
    const res = await fetch(`${a.url}/v1.0/invoke/b/method/missing`, { method: 'POST', body: 'x' });
    assert.equal(res.status, 404);
    assert.deepEqual(await res.json(), { code: 5, message: 'no such order' });
    assert.equal(app.calls.filter((c) => c.method === 'missing').length - before, 1, 'one attempt');
  });

  it("renders a status's standard error details as protobuf JSON", async () => {
    const res = await fetch(`${a.url}/v1.0/invoke/b/method/invalid`, { method: 'POST' });
    assert.equal(res.status, 400);
    assert.deepEqual(await res.json(), {
      code: 3,
      message: 'invalid order',
      details: [{ '@type': 'type.googleapis.com/google.rpc.BadRequest', ...BAD_QTY }],
    });
  });

  it('answers a status whose details it cannot render with ERR_MALFORMED_RESPONSE', async () => {
    const res = await fetch(`${a.url}/v1.0/invoke/b/method/strange`, { method: 'POST' });
    assert.equal(res.status, 500);
    assert.deepEqual(await res.json(), {
      errorCode: 'ERR_MALFORMED_RESPONSE',
      message: 'proto: unable to resolve "type.googleapis.com/example.Strange": not found',
    });
  });

  it('answers a self-invocation through the same mapping', async () => {
    const ok = await fetch(`${b.url}/v1.0/invoke/b/method/echo`, { method: 'POST', body: 'self' });
    assert.equal(ok.status, 200);
    assert.equal(((await ok.json()) as ReceivedCall).data, 'self');
    const missing = await fetch(`${b.url}/v1.0/invoke/b/method/missing`, { method: 'POST' });
    assert.equal(missing.status, 404);
    assert.deepEqual(await missing.json(), { code: 5, message: 'no such order' });
  });

  it('refuses a body over --max-body-size with ResourceExhausted (429), and keeps serving', async () => {
    const big = Buffer.alloc(2 * 1024 * 1024, 0x61);
    const res = await fetch(`${a.url}/v1.0/invoke/b/method/echo`, { method: 'POST', body: big });
    assert.equal(res.status, 429);
    assert.deepEqual(await res.json(), {
      code: 8,
      message: `grpc: trying to send message larger than max (${big.length} vs. ${1024 * 1024})`,
    });
    const after = await fetch(`${a.url}/v1.0/invoke/b/method/echo`, { method: 'POST', body: 'small' });
    assert.equal(after.status, 200);
    await after.arrayBuffer();
  });

  it('refuses calls while AppCallbackHealthCheck reports the app unhealthy', async () => {
    app.healthy = false;
    try {
      await waitUntil(
        'B to see its app unhealthy',
        async () => /Application is unhealthy/.test(b.logs()),
        20_000,
        {
          process: b.proc,
        },
      );
      const res = await fetch(`${a.url}/v1.0/invoke/b/method/echo`, { method: 'POST', body: 'x' });
      assert.equal(res.status, 500);
      const body = (await res.json()) as { errorCode: string; message: string };
      assert.equal(body.errorCode, 'ERR_DIRECT_INVOKE');
      assert.match(body.message, /app is not in a healthy state/);
    } finally {
      app.healthy = true;
    }
    await waitUntil(
      'calls to pass again once the app is healthy',
      async () =>
        (await fetch(`${a.url}/v1.0/invoke/b/method/echo`, { method: 'POST', body: 'x' })).status === 200,
      20_000,
      { process: b.proc },
    );
  });

  it('records the app calls in dapr_grpc_io_client_completed_rpcs', async () => {
    const text = await (await fetch(`http://127.0.0.1:${b.metricsPort}/`)).text();
    assert.match(
      text,
      /dapr_grpc_io_client_completed_rpcs\{app_id="b",grpc_client_method="\/dapr\.proto\.runtime\.v1\.AppCallback\/OnInvoke",grpc_client_status="OK"\} [1-9]/,
    );
    assert.match(text, /grpc_client_status="NotFound"\} [1-9]/);
    // The probes are in their own families, not in the client ones.
    assert.match(
      text,
      /dapr_grpc_io_healthprobes_completed_count\{app_id="b",grpc_client_status="OK"\} [1-9]/,
    );
    assert.match(
      text,
      /dapr_grpc_io_healthprobes_completed_count\{app_id="b",grpc_client_status="Unavailable"\} [1-9]/,
    );
    assert.doesNotMatch(text, /grpc_client_method="[^"]*HealthCheck"/);
  });

  it('answers Unavailable (503) when the app is gone', async () => {
    const before = await fetch(`${a.url}/v1.0/invoke/c/method/echo`, { method: 'POST', body: 'x' });
    assert.equal(before.status, 200);
    await before.arrayBuffer();
    await app.stop();
    const res = await fetch(`${a.url}/v1.0/invoke/c/method/echo`, { method: 'POST', body: 'x' });
    assert.equal(res.status, 503);
    const body = (await res.json()) as { code: number; message: string };
    assert.equal(body.code, 14);
    assert.ok(body.message.length > 0);
    assert.equal((await fetch(`${c.url}/v1.0/healthz/outbound`)).status, 204, 'the sidecar keeps running');
  });
});
