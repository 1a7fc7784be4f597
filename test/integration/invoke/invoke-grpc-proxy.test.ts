import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { decodeStatusBin, encodeRpc } from '../../env/google-rpc.js';
import { makeTempDir, removeTempDir } from '../../env/process.js';
import { type Sidecar, writeResources } from '../harness.js';
import { startAppSidecar, startTestApp, type TestApp } from './invoke-fixture.js';

/**
 * gRPC proxying, daprd's way to invoke a gRPC service: the caller's own gRPC client dials its
 * sidecar's gRPC port with `dapr-app-id` metadata, and the call (any service, unary or streaming)
 * travels through both sidecars to the callee app unchanged. The client and the app are grpc-js
 * with a service the sidecars know nothing about.
 */

const PROTO = `syntax = "proto3";
package outrigger.test;
service Greeter {
  rpc SayHello (HelloRequest) returns (HelloReply);
  rpc CountUp (HelloRequest) returns (stream HelloReply);
  rpc Chat (stream HelloRequest) returns (stream HelloReply);
  rpc Fail (HelloRequest) returns (HelloReply);
  rpc Slow (HelloRequest) returns (HelloReply);
}
message HelloRequest { string name = 1; int32 count = 2; bytes blob = 3; }
message HelloReply { string message = 1; bytes blob = 2; }
`;

interface HelloRequest {
  name: string;
  count: number;
  blob: Buffer;
}
interface HelloReply {
  message: string;
  blob: Buffer;
}
type GreeterClient = grpc.Client & {
  SayHello(
    req: Partial<HelloRequest>,
    md: grpc.Metadata,
    opts: grpc.CallOptions,
    cb: (err: grpc.ServiceError | null, res?: HelloReply) => void,
  ): grpc.ClientUnaryCall;
  Fail(
    req: Partial<HelloRequest>,
    md: grpc.Metadata,
    cb: (err: grpc.ServiceError | null, res?: HelloReply) => void,
  ): grpc.ClientUnaryCall;
  CountUp(req: Partial<HelloRequest>, md: grpc.Metadata): grpc.ClientReadableStream<HelloReply>;
  Chat(md: grpc.Metadata): grpc.ClientDuplexStream<Partial<HelloRequest>, HelloReply>;
};

let home = '';
let greeterDef: grpc.ServiceDefinition;
let Greeter: new (address: string, creds: grpc.ChannelCredentials) => GreeterClient;
let app: { port: number; seen: grpc.Metadata[]; cancelled: number; fails: number; stop(): Promise<void> };
let httpApp: TestApp;
let a: Sidecar;
let b: Sidecar;
let locked: Sidecar;
let plain: Sidecar;
let guarded: Sidecar;
/** A caller whose Resiliency resource targets the greeter app (retries and a timeout). */
let resilient: Sidecar;
let client: GreeterClient;

async function startGreeter(): Promise<typeof app> {
  const server = new grpc.Server();
  const state = { seen: [] as grpc.Metadata[], cancelled: 0, fails: 0 };
  server.addService(greeterDef, {
    SayHello(call: grpc.ServerUnaryCall<HelloRequest, HelloReply>, cb: grpc.sendUnaryData<HelloReply>) {
      state.seen.push(call.metadata);
      const header = new grpc.Metadata();
      header.set('x-app-header', 'h1');
      call.sendMetadata(header);
      const trailer = new grpc.Metadata();
      trailer.set('x-app-trailer', 't1');
      cb(null, { message: `hello ${call.request.name}`, blob: call.request.blob }, trailer);
    },
    CountUp(call: grpc.ServerWritableStream<HelloRequest, HelloReply>) {
      for (let i = 1; i <= call.request.count; i++) call.write({ message: `n${i}`, blob: Buffer.alloc(0) });
      call.end();
    },
    Chat(call: grpc.ServerDuplexStream<HelloRequest, HelloReply>) {
      call.on('data', (r: HelloRequest) => call.write({ message: `echo ${r.name}`, blob: Buffer.alloc(0) }));
      call.on('end', () => call.end());
    },
    Fail(_call: grpc.ServerUnaryCall<HelloRequest, HelloReply>, cb: grpc.sendUnaryData<HelloReply>) {
      state.fails++;
      const md = new grpc.Metadata();
      const detail = encodeRpc('BadRequest', { field_violations: [{ field: 'name', description: 'empty' }] });
      md.set(
        'grpc-status-details-bin',
        encodeRpc('Status', {
          code: 3,
          message: 'name is required',
          details: [{ type_url: 'type.googleapis.com/google.rpc.BadRequest', value: detail }],
        }),
      );
      cb({ code: grpc.status.INVALID_ARGUMENT, details: 'name is required', metadata: md });
    },
    Slow(call: grpc.ServerUnaryCall<HelloRequest, HelloReply>, cb: grpc.sendUnaryData<HelloReply>) {
      const timer = setTimeout(() => cb(null, { message: 'late', blob: Buffer.alloc(0) }), 3_000);
      call.on('cancelled', () => {
        state.cancelled++;
        clearTimeout(timer);
      });
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) =>
      err === null ? resolve(p) : reject(err),
    ),
  );
  return Object.assign(state, {
    port,
    stop: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())),
  });
}

const to = (appId: string, extra: Record<string, string> = {}): grpc.Metadata => {
  const md = new grpc.Metadata();
  md.set('dapr-app-id', appId);
  for (const [k, v] of Object.entries(extra)) md.set(k, v);
  return md;
};

function sayHello(
  c: GreeterClient,
  md: grpc.Metadata,
  req: Partial<HelloRequest> = { name: 'x' },
  opts: grpc.CallOptions = {},
): Promise<{
  err: grpc.ServiceError | null;
  res?: HelloReply;
  headers?: grpc.Metadata;
  trailers?: grpc.Metadata;
}> {
  return new Promise((resolve) => {
    let headers: grpc.Metadata | undefined;
    let out: { err: grpc.ServiceError | null; res?: HelloReply } = { err: null };
    const call = c.SayHello(req, md, opts, (err, res) => {
      out = res === undefined ? { err } : { err, res };
    });
    call.on('metadata', (m) => {
      headers = m;
    });
    call.on('status', (s) =>
      resolve({ ...out, ...(headers === undefined ? {} : { headers }), trailers: s.metadata }),
    );
  });
}

before(async () => {
  home = await makeTempDir('invoke-grpc-proxy');
  const protoFile = join(home, 'greeter.proto');
  await writeFile(protoFile, PROTO);
  const pkg = grpc.loadPackageDefinition(
    loadSync(protoFile, { keepCase: true, defaults: true }),
  ) as unknown as {
    outrigger: { test: { Greeter: typeof Greeter & { service: grpc.ServiceDefinition } } };
  };
  Greeter = pkg.outrigger.test.Greeter;
  greeterDef = pkg.outrigger.test.Greeter.service;
  app = await startGreeter();
  httpApp = await startTestApp();
  const denyAll = join(home, 'deny.yaml');
  await writeFile(
    denyAll,
    [
      'apiVersion: dapr.io/v1alpha1',
      'kind: Configuration',
      'metadata:',
      '  name: deny-all',
      'spec:',
      '  accessControl:',
      '    defaultAction: deny',
      '',
    ].join('\n'),
  );
  b = await startAppSidecar(home, { appId: 'greeter', appPort: app.port, args: ['--app-protocol', 'grpc'] });
  locked = await startAppSidecar(home, {
    appId: 'locked',
    appPort: app.port,
    configPath: denyAll,
    args: ['--app-protocol', 'grpc'],
  });
  plain = await startAppSidecar(home, { appId: 'plainhttp', appPort: httpApp.port });
  a = await startAppSidecar(home, { appId: 'a' });
  guarded = await startAppSidecar(home, { appId: 'guarded', env: { DAPR_API_TOKEN: 'tok' } });
  const resiliency = await writeResources(
    home,
    [
      {
        apiVersion: 'dapr.io/v1alpha1',
        kind: 'Resiliency',
        metadata: { name: 'greeter-policy' },
        spec: {
          policies: {
            retries: { twice: { policy: 'constant', duration: '10ms', maxRetries: 2 } },
            timeouts: { short: '500ms' },
          },
          targets: { apps: { greeter: { retry: 'twice', timeout: 'short' } } },
        },
      },
    ],
    'resiliency.yaml',
  );
  resilient = await startAppSidecar(home, { appId: 'resilient', resourcesPaths: [resiliency] });
  client = new Greeter(`127.0.0.1:${a.grpcPort}`, grpc.credentials.createInsecure());
});

after(async () => {
  client?.close();
  for (const s of [a, b, locked, plain, guarded, resilient]) await s?.stop();
  await app?.stop();
  await httpApp?.close();
  await removeTempDir(home);
});

describe('gRPC proxying (dapr-app-id metadata on the gRPC port)', () => {
  it('carries a unary call through two sidecars, with metadata, response headers and trailers', async () => {
    const { err, res, headers, trailers } = await sayHello(client, to('greeter', { 'x-custom': 'c1' }), {
      name: 'proxy',
    });
    assert.equal(err, null, err?.message);
    assert.equal(res?.message, 'hello proxy');
    assert.equal(headers?.get('x-app-header')[0], 'h1');
    assert.equal(trailers?.get('x-app-trailer')[0], 't1');
    const seen = app.seen.at(-1);
    assert.equal(seen?.get('x-custom')[0], 'c1');
    assert.equal(seen?.get('dapr-app-id')[0], 'greeter');
    assert.equal(seen?.get('dapr-caller-app-id')[0], 'a');
    assert.equal(seen?.get('dapr-callee-app-id')[0], 'greeter');
    // A trace context is started for the call, in both forms (sampled at daprd's default 1e-4).
    const traceparent = String(seen?.get('traceparent')[0] ?? '');
    assert.match(traceparent, /^00-([0-9a-f]{32})-([0-9a-f]{16})-0[01]$/);
    const bin = seen?.get('grpc-trace-bin')[0];
    assert.ok(Buffer.isBuffer(bin));
    assert.equal(bin.subarray(2, 18).toString('hex'), traceparent.slice(3, 35));
  });

  it('carries 2 MiB messages both ways', async () => {
    const blob = Buffer.alloc(2 * 1024 * 1024, 7);
    const { err, res } = await sayHello(client, to('greeter'), { name: 'big', blob });
    assert.equal(err, null, err?.message);
    assert.equal(res?.blob.length, blob.length);
    assert.ok(res?.blob.equals(blob));
  });

  it('carries a server-streaming call and a bidirectional one', async () => {
    const replies: string[] = [];
    await new Promise<void>((resolve, reject) => {
      const s = client.CountUp({ name: 'n', count: 50 }, to('greeter'));
      s.on('data', (r: HelloReply) => replies.push(r.message));
      s.on('end', resolve);
      s.on('error', reject);
    });
    assert.deepEqual(
      replies,
      Array.from({ length: 50 }, (_, i) => `n${i + 1}`),
    );
    const echoes: string[] = [];
    await new Promise<void>((resolve, reject) => {
      const chat = client.Chat(to('greeter'));
      chat.on('data', (r: HelloReply) => {
        echoes.push(r.message);
        if (echoes.length === 3) chat.end();
      });
      chat.on('end', resolve);
      chat.on('error', reject);
      for (const name of ['one', 'two', 'three']) chat.write({ name });
    });
    assert.deepEqual(echoes, ['echo one', 'echo two', 'echo three']);
  });

  it("passes the app's error status with its details", async () => {
    const err = await new Promise<grpc.ServiceError | null>((resolve) =>
      client.Fail({ name: '' }, to('greeter'), (e) => resolve(e)),
    );
    assert.equal(err?.code, grpc.status.INVALID_ARGUMENT);
    assert.equal(err?.details, 'name is required');
    assert.deepEqual(decodeStatusBin(err?.metadata)?.details, [
      {
        type: 'type.googleapis.com/google.rpc.BadRequest',
        value: { field_violations: [{ field: 'name', description: 'empty' }] },
      },
    ]);
  });

  it("ends at the caller's deadline and cancels the call at the app", async () => {
    const before = app.cancelled;
    const err = await new Promise<grpc.ServiceError | null>((resolve) =>
      (client as unknown as { Slow: GreeterClient['SayHello'] }).Slow(
        { name: 's' },
        to('greeter'),
        { deadline: Date.now() + 300 },
        (e) => resolve(e),
      ),
    );
    assert.equal(err?.code, grpc.status.DEADLINE_EXCEEDED);
    const deadline = Date.now() + 5_000;
    while (app.cancelled === before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.equal(app.cancelled, before + 1, 'the app saw the call cancelled');
  });

  it('sends a call for its own app id straight to its app', async () => {
    const own = new Greeter(`127.0.0.1:${b.grpcPort}`, grpc.credentials.createInsecure());
    try {
      const { err, res } = await sayHello(own, to('greeter'), { name: 'self' });
      assert.equal(err, null, err?.message);
      assert.equal(res?.message, 'hello self');
      assert.deepEqual(app.seen.at(-1)?.get('dapr-caller-app-id'), []);
    } finally {
      own.close();
    }
  });

  it("refuses what daprd refuses: no dapr-app-id, an unknown app, the callee's access control", async () => {
    const none = await sayHello(client, new grpc.Metadata());
    assert.equal(none.err?.code, grpc.status.UNKNOWN);
    assert.equal(none.err?.details, 'failed to proxy request: required metadata dapr-app-id not found');
    const unknown = await sayHello(client, to('nobody'));
    assert.equal(unknown.err?.code, grpc.status.UNKNOWN);
    assert.match(unknown.err?.details ?? '', /couldn't find service: nobody/);
    const denied = await sayHello(client, to('locked'));
    assert.equal(denied.err?.code, grpc.status.PERMISSION_DENIED);
    const notGrpc = await sayHello(client, to('plainhttp'));
    assert.equal(notGrpc.err?.code, grpc.status.UNAVAILABLE);
    assert.match(notGrpc.err?.details ?? '', /does not speak gRPC/);
  });

  it('counts proxied calls in the invocation metrics of both sidecars', async () => {
    const caller = await (await fetch(`http://127.0.0.1:${a.metricsPort}/metrics`)).text();
    assert.match(
      caller,
      /dapr_runtime_service_invocation_req_sent_total\{app_id="a",dst_app_id="greeter",type="unary"\} [1-9]/,
    );
    assert.match(
      caller,
      /dapr_runtime_service_invocation_res_recv_total\{app_id="a",dst_app_id="greeter",status="0",type="unary"\} [1-9]/,
    );
    assert.match(
      caller,
      /dapr_runtime_service_invocation_res_recv_total\{app_id="a",dst_app_id="greeter",status="3",type="unary"\} 1/,
    );
    const callee = await (await fetch(`http://127.0.0.1:${b.metricsPort}/metrics`)).text();
    assert.match(
      callee,
      /dapr_runtime_service_invocation_req_recv_total\{app_id="greeter",src_app_id="a"\} [1-9]/,
    );
    assert.match(
      callee,
      /dapr_runtime_service_invocation_res_sent_total\{app_id="greeter",src_app_id="a",status="0"\} [1-9]/,
    );
    // daprd's stream interceptors: the app's call on the caller's API port, the call to the app on
    // the callee's side; counts and latency, no message sizes.
    const method = 'grpc_server_method="/outrigger.test.Greeter/SayHello"';
    assert.match(
      caller,
      new RegExp(
        `dapr_grpc_io_server_completed_rpcs\\{app_id="a",${method},grpc_server_status="OK"\\} [1-9]`,
      ),
    );
    assert.match(
      caller,
      new RegExp(
        `dapr_grpc_io_server_server_latency_count\\{app_id="a",${method},grpc_server_status="OK"\\} [1-9]`,
      ),
    );
    assert.doesNotMatch(caller, /dapr_grpc_io_server_received_bytes_per_rpc_count\{[^}]*outrigger\.test/);
    assert.match(
      callee,
      /dapr_grpc_io_client_completed_rpcs\{app_id="greeter",grpc_client_method="\/outrigger\.test\.Greeter\/SayHello",grpc_client_status="OK"\} [1-9]/,
    );
    assert.match(
      callee,
      /dapr_grpc_io_client_roundtrip_latency_count\{app_id="greeter",grpc_client_method="\/outrigger\.test\.Greeter\/SayHello"/,
    );
  });

  it('requires the API token, and does not pass it on', async () => {
    const g = new Greeter(`127.0.0.1:${guarded.grpcPort}`, grpc.credentials.createInsecure());
    try {
      const without = await sayHello(g, to('greeter'));
      assert.equal(without.err?.code, grpc.status.UNAUTHENTICATED);
      const withToken = await sayHello(g, to('greeter', { 'dapr-api-token': 'tok' }), { name: 't' });
      assert.equal(withToken.err, null, withToken.err?.message);
      assert.equal(withToken.res?.message, 'hello t');
      assert.deepEqual(app.seen.at(-1)?.get('dapr-api-token'), []);
    } finally {
      g.close();
    }
  });
});

describe("gRPC proxying under the target app's resiliency policy", () => {
  let rc: GreeterClient;
  before(() => {
    rc = new Greeter(`127.0.0.1:${resilient.grpcPort}`, grpc.credentials.createInsecure());
  });
  after(() => rc?.close());

  it('answers a unary call whole, with its headers and trailers', async () => {
    const { err, res, headers, trailers } = await sayHello(rc, to('greeter'), { name: 'held' });
    assert.equal(err, null, err?.message);
    assert.equal(res?.message, 'hello held');
    assert.equal(headers?.get('x-app-header')[0], 'h1');
    assert.equal(trailers?.get('x-app-trailer')[0], 't1');
  });

  it('retries an error status as the policy says, then passes the last one on', async () => {
    const before = app.fails;
    const err = await new Promise<grpc.ServiceError | null>((resolve) =>
      rc.Fail({ name: '' }, to('greeter'), (e) => resolve(e)),
    );
    assert.equal(err?.code, grpc.status.INVALID_ARGUMENT);
    assert.equal(err?.details, 'name is required');
    assert.equal(app.fails - before, 3, 'one call and two retries reached the app');
  });

  it("ends a call at the policy's timeout and cancels it at the app", async () => {
    const before = app.cancelled;
    const err = await new Promise<grpc.ServiceError | null>((resolve) =>
      (rc as unknown as { Slow: GreeterClient['SayHello'] }).Slow({ name: 's' }, to('greeter'), {}, (e) =>
        resolve(e),
      ),
    );
    assert.equal(err?.code, grpc.status.DEADLINE_EXCEEDED);
    assert.equal(err?.details, 'context deadline exceeded');
    const deadline = Date.now() + 5_000;
    while (app.cancelled === before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.ok(app.cancelled > before, 'the app saw the call cancelled');
  });

  it('leaves a call marked dapr-stream to stream', async () => {
    const replies: string[] = [];
    await new Promise<void>((resolve, reject) => {
      const s = rc.CountUp({ name: 'n', count: 5 }, to('greeter', { 'dapr-stream': 'true' }));
      s.on('data', (r: HelloReply) => replies.push(r.message));
      s.on('end', resolve);
      s.on('error', reject);
    });
    assert.deepEqual(replies, ['n1', 'n2', 'n3', 'n4', 'n5']);
  });
});
