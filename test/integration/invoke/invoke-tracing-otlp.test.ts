import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { type JaegerServer, startJaeger } from '../../env/jaeger.js';
import { makeTempDir, removeTempDir, waitUntil } from '../../env/process.js';
import { type Sidecar, writeResources } from '../harness.js';
import { startAppSidecar, startTestApp, type TestApp } from './invoke-fixture.js';

/**
 * OpenTelemetry export (`spec.tracing.otel`) against a real Jaeger v2, which receives OTLP and
 * answers its query API: sidecar A sends over OTLP/gRPC, sidecar B over OTLP/HTTP, both in
 * plaintext (`isSecure: false`), as Dapr's docs configure a local collector.
 */

let home = '';
let jaeger: JaegerServer;
let app: TestApp;
let a: Sidecar;
let b: Sidecar;

async function otelConfig(name: string, protocol: 'grpc' | 'http', endpointAddress: string): Promise<string> {
  return await writeResources(
    home,
    [
      {
        apiVersion: 'dapr.io/v1alpha1',
        kind: 'Configuration',
        metadata: { name },
        spec: {
          tracing: {
            samplingRate: '1',
            otel: { endpointAddress, protocol, isSecure: false, headers: 'x-tenant=blue', timeout: 5000 },
          },
        },
      },
    ],
    `${name}.yaml`,
  );
}

before(async () => {
  home = await makeTempDir('invoke-otlp');
  jaeger = await startJaeger();
  app = await startTestApp();
  b = await startAppSidecar(home, {
    appId: 'b',
    appPort: app.port,
    configPath: await otelConfig('otlp-http', 'http', jaeger.otlpHttp),
  });
  a = await startAppSidecar(home, {
    appId: 'a',
    configPath: await otelConfig('otlp-grpc', 'grpc', jaeger.otlpGrpc),
  });
});

after(async () => {
  for (const s of [a, b]) await s?.stop();
  await app?.close();
  await jaeger?.stop();
  await removeTempDir(home);
});

const tag = (span: { tags: readonly { key: string; value: unknown }[] }, key: string): unknown =>
  span.tags.find((t) => t.key === key)?.value;

describe('tracing exported over OTLP (gRPC and HTTP)', () => {
  it('delivers both sidecars’ spans with their parents, names, kinds, attributes and status', async () => {
    const traceId = randomBytes(16).toString('hex');
    const callerSpan = randomBytes(8).toString('hex');
    const res = await fetch(`${a.url}/v1.0/invoke/b/method/status/503`, {
      method: 'POST',
      headers: { traceparent: `00-${traceId}-${callerSpan}-01` },
      body: 'x',
    });
    assert.equal(res.status, 503);
    await res.arrayBuffer();
    let spans: Awaited<ReturnType<JaegerServer['trace']>> = [];
    await waitUntil(
      `2 spans of trace ${traceId} in jaeger`,
      async () => {
        spans = await jaeger.trace(traceId);
        return spans.length >= 2;
      },
      30_000,
      { intervalMs: 250 },
    );
    const client = spans.find((s) => s.serviceName === 'a');
    const server = spans.find((s) => s.serviceName === 'b');
    assert.ok(client !== undefined && server !== undefined, JSON.stringify(spans));
    assert.equal(client.operationName, 'CallLocal/b/status/503');
    assert.equal(tag(client, 'span.kind'), 'client');
    assert.deepEqual(
      client.references.map((r) => [r.refType, r.spanID]),
      [['CHILD_OF', callerSpan]],
    );
    assert.equal(tag(client, 'dapr.api'), 'POST /v1.0/invoke/b/method/status/503');
    assert.equal(tag(client, 'dapr.status_code'), '503');
    assert.equal(tag(client, 'otel.status_code'), 'ERROR');
    assert.equal(tag(client, 'otel.status_description'), 'Code(503): Service Unavailable');
    assert.equal(tag(client, 'otel.scope.name'), 'dapr-diagnostics');
    assert.equal(server.operationName, 'CallLocal/b/status/503');
    assert.equal(tag(server, 'span.kind'), 'server');
    assert.deepEqual(
      server.references.map((r) => [r.refType, r.spanID]),
      [['CHILD_OF', client.spanID]],
    );
    assert.equal(tag(server, 'rpc.service'), 'ServiceInvocation');
    assert.ok(client.duration >= server.duration && server.startTime >= client.startTime, 'B inside A');
  });
});
