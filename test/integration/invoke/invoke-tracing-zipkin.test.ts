import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { rawUnaryMethod } from '../../env/grpc-raw.js';
import { makeTempDir, removeTempDir, waitUntil } from '../../env/process.js';
import { startZipkin, type ZipkinServer, type ZipkinSpan } from '../../env/zipkin.js';
import { dialDapr, grpcCall } from '../grpc-api-client.js';
import { type Sidecar, writeResources } from '../harness.js';
import { startAppSidecar, startTestApp, type TestApp } from './invoke-fixture.js';

/**
 * Distributed tracing of service invocation against a real Zipkin server: app A calls app B
 * through two sidecars whose Configuration sends spans to Zipkin (`spec.tracing`), as `dapr init`
 * sets up. Each sidecar adds its span to the caller's trace (daprd's `CallLocal/<app>/<method>`
 * spans), the app receives the callee sidecar's span as its parent, sampling follows daprd's
 * DaprTraceSampler, and spans still queued at SIGTERM reach Zipkin.
 */

let home = '';
let zipkin: ZipkinServer;
let app: TestApp;
let pinger: { port: number; seen: grpc.Metadata[]; stop(): Promise<void> };
let a: Sidecar;
let b: Sidecar;
/** The sidecar of a gRPC app that the sidecars know nothing about (gRPC proxying). */
let g: Sidecar;
/** A sidecar that samples nothing on its own (`samplingRate: "0"`). */
let quiet: Sidecar;

async function tracingConfig(name: string, samplingRate: string): Promise<string> {
  return await writeResources(
    home,
    [
      {
        apiVersion: 'dapr.io/v1alpha1',
        kind: 'Configuration',
        metadata: { name },
        spec: { tracing: { samplingRate, zipkin: { endpointAddress: zipkin.endpointAddress } } },
      },
    ],
    `${name}.yaml`,
  );
}

const PING = '/outrigger.test.Pinger/Ping';

/** A gRPC app with one method on raw bytes: it answers what it got and keeps the metadata. */
async function startPinger(): Promise<typeof pinger> {
  const server = new grpc.Server();
  const seen: grpc.Metadata[] = [];
  server.addService(
    { Ping: rawUnaryMethod(PING) },
    {
      Ping(call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) {
        seen.push(call.metadata);
        cb(null, call.request);
      },
    },
  );
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) =>
      err === null ? resolve(p) : reject(err),
    ),
  );
  return { port, seen, stop: () => new Promise<void>((r) => server.tryShutdown(() => r())) };
}

before(async () => {
  home = await makeTempDir('invoke-tracing');
  zipkin = await startZipkin();
  app = await startTestApp();
  const traced = await tracingConfig('traced', '1');
  b = await startAppSidecar(home, { appId: 'b', appPort: app.port, configPath: traced });
  a = await startAppSidecar(home, { appId: 'a', configPath: traced });
  quiet = await startAppSidecar(home, { appId: 'quiet', configPath: await tracingConfig('quiet', '0') });
  pinger = await startPinger();
  g = await startAppSidecar(home, {
    appId: 'g',
    appPort: pinger.port,
    configPath: traced,
    args: ['--app-protocol', 'grpc'],
  });
});

after(async () => {
  for (const s of [a, b, quiet, g]) await s?.stop();
  await app?.close();
  await pinger?.stop();
  await zipkin?.stop();
  await removeTempDir(home);
});

const newTraceId = (): string => randomBytes(16).toString('hex');
const newSpanId = (): string => randomBytes(8).toString('hex');

/** Waits until Zipkin holds `count` spans of the trace (sidecars export every 5 s). */
async function spansOf(traceId: string, count: number): Promise<ZipkinSpan[]> {
  let spans: ZipkinSpan[] = [];
  await waitUntil(
    `${count} spans of trace ${traceId} in zipkin`,
    async () => {
      spans = await zipkin.trace(traceId);
      return spans.length >= count;
    },
    30_000,
    { intervalMs: 250 },
  );
  return spans;
}

function spanOf(spans: readonly ZipkinSpan[], service: string): ZipkinSpan {
  const found = spans.find((s) => s.localEndpoint?.serviceName === service);
  assert.ok(found !== undefined, `a span from ${service} in ${JSON.stringify(spans)}`);
  return found;
}

describe('tracing of service invocation, exported to Zipkin', () => {
  it("adds a span per sidecar to the caller's trace, and the app's parent is the callee sidecar's span", async () => {
    const traceId = newTraceId();
    const callerSpan = newSpanId();
    const res = await fetch(`${a.url}/v1.0/invoke/b/method/orders/1?x=1`, {
      method: 'POST',
      headers: { traceparent: `00-${traceId}-${callerSpan}-01`, 'dapr-tenant': 'blue' },
      body: 'order',
    });
    assert.equal(res.status, 200);
    const atApp = ((await res.json()) as { headers: Record<string, string> }).headers.traceparent;
    const spans = await spansOf(traceId, 2);
    assert.equal(spans.length, 2, JSON.stringify(spans));
    const client = spanOf(spans, 'a');
    const server = spanOf(spans, 'b');
    // Zipkin stores span names in lower case: daprd's are CallLocal/<app id>/<method>.
    assert.equal(client.name, 'calllocal/b/orders/1');
    assert.equal(client.kind, 'CLIENT');
    assert.equal(client.parentId, callerSpan);
    assert.deepEqual(
      {
        protocol: client.tags?.['dapr.protocol'],
        api: client.tags?.['dapr.api'],
        status: client.tags?.['dapr.status_code'],
        service: client.tags?.['rpc.service'],
        peer: client.tags?.['net.peer.name'],
        userHeader: client.tags?.['dapr-tenant'],
      },
      {
        protocol: 'http',
        api: 'POST /v1.0/invoke/b/method/orders/1',
        status: '200',
        service: 'ServiceInvocation',
        peer: 'b',
        userHeader: 'blue',
      },
    );
    assert.equal(server.name, 'calllocal/b/orders/1');
    assert.equal(server.kind, 'SERVER');
    assert.equal(server.parentId, client.id);
    assert.equal(server.tags?.['dapr.invoke_method'], 'orders/1');
    assert.ok(server.timestamp >= client.timestamp && server.duration <= client.duration, 'B inside A');
    assert.equal(atApp, `00-${traceId}-${server.id}-01`);
    assert.equal(res.headers.get('traceparent'), `00-${traceId}-${client.id}-01`);
  });

  it('marks a call answered with an error status as failed', async () => {
    const traceId = newTraceId();
    const res = await fetch(`${a.url}/v1.0/invoke/b/method/status/500`, {
      method: 'POST',
      headers: { traceparent: `00-${traceId}-${newSpanId()}-01` },
      body: 'x',
    });
    assert.equal(res.status, 500);
    await res.arrayBuffer();
    const client = spanOf(await spansOf(traceId, 2), 'a');
    assert.equal(client.tags?.['dapr.status_code'], '500');
    assert.equal(client.tags?.error, 'Code(500): Internal Server Error');
  });

  it('starts a trace at the sidecar when the caller sends none, or an invalid traceparent', async () => {
    for (const headers of [{}, { traceparent: '00-not-a-trace-context-01' }]) {
      const res = await fetch(`${a.url}/v1.0/invoke/b/method/fresh`, { headers });
      await res.arrayBuffer();
      const [, traceId, spanId] =
        /^00-([0-9a-f]{32})-([0-9a-f]{16})-01$/.exec(res.headers.get('traceparent') ?? '') ?? [];
      assert.ok(traceId !== undefined, `traceparent ${res.headers.get('traceparent')}`);
      const client = spanOf(await spansOf(traceId, 2), 'a');
      assert.equal(client.id, spanId);
      assert.equal(client.parentId, undefined);
    }
  });

  it("traces InvokeService on the gRPC API under the caller's grpc-trace-bin", async () => {
    const traceId = newTraceId();
    const callerSpan = newSpanId();
    const md = new grpc.Metadata();
    // OpenCensus' binary form: version 0, field 0 trace id, field 1 span id, field 2 options.
    md.set('grpc-trace-bin', Buffer.from(`0000${traceId}01${callerSpan}0201`, 'hex'));
    const client = dialDapr(a.grpcPort);
    try {
      const out = await grpcCall(
        client,
        'InvokeService',
        {
          id: 'b',
          message: {
            method: 'grpc-traced',
            data: { type_url: '', value: Buffer.from('x') },
            http_extension: { verb: 'POST' },
          },
        },
        md,
      );
      assert.equal(out.err, null, out.err?.message);
    } finally {
      client.close();
    }
    const spans = await spansOf(traceId, 2);
    const api = spanOf(spans, 'a');
    assert.equal(api.name, 'calllocal/b/grpc-traced');
    assert.equal(api.parentId, callerSpan);
    assert.equal(api.tags?.['dapr.protocol'], 'grpc');
    assert.equal(api.tags?.['dapr.api'], '/dapr.proto.runtime.v1.Dapr/InvokeService');
    assert.equal(api.tags?.['dapr.status_code'], 'OK');
    assert.equal(spanOf(spans, 'b').parentId, api.id);
  });

  it('names the store of a state call on the gRPC API in its span, and marks the failure', async () => {
    const traceId = newTraceId();
    const md = new grpc.Metadata();
    md.set('traceparent', `00-${traceId}-${newSpanId()}-01`);
    const client = dialDapr(a.grpcPort);
    let out: Awaited<ReturnType<typeof grpcCall>>;
    try {
      out = await grpcCall(client, 'GetState', { store_name: 'nostore', key: 'k' }, md);
      // No state store at all on this sidecar: daprd's ERR_STATE_STORES_NOT_CONFIGURED.
      assert.equal(out.err?.code, grpc.status.FAILED_PRECONDITION);
    } finally {
      client.close();
    }
    const span = spanOf(await spansOf(traceId, 1), 'a');
    assert.equal(span.name, '/dapr.proto.runtime.v1.dapr/getstate');
    assert.deepEqual(
      [span.tags?.['db.system'], span.tags?.['db.name'], span.tags?.['dapr.status_code']],
      ['state', 'nostore', 'FailedPrecondition'],
    );
    assert.equal(span.tags?.error, out.err?.details);
  });

  it("samples as daprd: a sampled caller is followed at rate 0, an unsampled one is left to the sidecar's rate", async () => {
    const followed = newTraceId();
    const r1 = await fetch(`${quiet.url}/v1.0/invoke/b/method/sampled`, {
      headers: { traceparent: `00-${followed}-${newSpanId()}-01` },
    });
    await r1.arrayBuffer();
    assert.match(r1.headers.get('traceparent') ?? '', /-01$/);
    const spans = await spansOf(followed, 2);
    assert.equal(spanOf(spans, 'quiet').kind, 'CLIENT');

    const unsampled = newTraceId();
    const r2 = await fetch(`${quiet.url}/v1.0/invoke/b/method/unsampled`, {
      headers: { traceparent: `00-${unsampled}-${newSpanId()}-00` },
    });
    const atApp = ((await r2.json()) as { headers: Record<string, string> }).headers.traceparent ?? '';
    // Not sampled at "quiet" (rate 0); B samples the rest of the trace at its own rate (1).
    assert.match(r2.headers.get('traceparent') ?? '', new RegExp(`^00-${unsampled}-[0-9a-f]{16}-00$`));
    assert.match(atApp, new RegExp(`^00-${unsampled}-[0-9a-f]{16}-01$`));
    const only = await spansOf(unsampled, 1);
    assert.deepEqual(
      only.map((s) => s.localEndpoint?.serviceName),
      ['b'],
    );
  });

  it('traces a proxied gRPC call: a client span at the caller, a server span at the callee', async () => {
    const traceId = newTraceId();
    const callerSpan = newSpanId();
    const md = new grpc.Metadata();
    md.set('dapr-app-id', 'g');
    md.set('traceparent', `00-${traceId}-${callerSpan}-01`);
    const client = new grpc.Client(`127.0.0.1:${a.grpcPort}`, grpc.credentials.createInsecure());
    try {
      const answer = await new Promise<Buffer>((resolve, reject) =>
        client.makeUnaryRequest(
          PING,
          (b: Buffer) => b,
          (b: Buffer) => b,
          Buffer.from('ping'),
          md,
          (err, res) => (err === null && res !== undefined ? resolve(res) : reject(err)),
        ),
      );
      assert.equal(answer.toString(), 'ping');
    } finally {
      client.close();
    }
    const spans = await spansOf(traceId, 2);
    const caller = spanOf(spans, 'a');
    const callee = spanOf(spans, 'g');
    assert.equal(caller.name, PING.toLowerCase());
    assert.equal(caller.kind, 'CLIENT');
    assert.equal(caller.parentId, callerSpan);
    assert.equal(caller.tags?.['dapr.status_code'], 'OK');
    assert.equal(caller.tags?.['net.peer.name'], 'g');
    assert.equal(callee.kind, 'SERVER');
    assert.equal(callee.parentId, caller.id);
    assert.equal(pinger.seen.at(-1)?.get('traceparent')[0], `00-${traceId}-${callee.id}-01`);
  });

  it('exports the spans still queued when the sidecar gets SIGTERM', async () => {
    const c = await startAppSidecar(home, { appId: 'c', configPath: await tracingConfig('traced-c', '1') });
    const traceId = newTraceId();
    try {
      const res = await fetch(`${c.url}/v1.0/invoke/b/method/before-stop`, {
        headers: { traceparent: `00-${traceId}-${newSpanId()}-01` },
      });
      await res.arrayBuffer();
    } finally {
      // Well inside the 5 s export interval: only the flush at shutdown can have sent it.
      await c.stop();
    }
    // Zipkin stores what it accepted a moment later, so this waits; the sidecar is gone by now.
    assert.equal(spanOf(await spansOf(traceId, 2), 'c').name, 'calllocal/b/before-stop');
  });
});
