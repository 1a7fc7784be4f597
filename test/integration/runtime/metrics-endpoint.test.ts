import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { makeTempDir, removeTempDir } from '../../env/process.js';
import { dialDapr, grpcRawCall } from '../grpc-api-client.js';
import { component, makeResourcesDir, type Sidecar, startSidecar, writeResources } from '../harness.js';

async function scrape(sidecar: Sidecar, path = '/metrics'): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${sidecar.metricsPort}${path}`);
  assert.equal(res.status, 200);
  return res.text();
}

/** The value of the one series of `name` whose labels include every one of `labels`. */
function series(text: string, name: string, ...labels: string[]): number {
  const lines = text
    .split('\n')
    .filter((l) => l.startsWith(`${name}{`) && labels.every((label) => l.includes(label)));
  assert.equal(lines.length, 1, `one ${name} series with ${labels.join(',')}; got:\n${lines.join('\n')}`);
  return Number((lines[0] as string).slice((lines[0] as string).lastIndexOf(' ') + 1));
}

/** The sum of every series of `name` whose labels include every one of `labels`. */
function total(text: string, name: string, ...labels: string[]): number {
  return text
    .split('\n')
    .filter((l) => l.startsWith(`${name}{`) && labels.every((label) => l.includes(label)))
    .reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
}

/** A Configuration file with `spec.metrics`; returns its path. */
async function metricsConfig(
  t: { after: (fn: () => Promise<void>) => void },
  metrics: object,
): Promise<string> {
  const dir = await makeTempDir('metrics-config');
  t.after(() => removeTempDir(dir));
  return writeResources(dir, [
    {
      apiVersion: 'dapr.io/v1alpha1',
      kind: 'Configuration',
      metadata: { name: 'metrics' },
      spec: { metrics },
    },
  ]);
}

describe('metrics endpoint', () => {
  it("exposes daprd's HTTP server, component and state families on / and /metrics", async (t) => {
    const dir = await makeResourcesDir([
      component('statestore', 'state.in-memory'),
      component('envsecrets', 'secretstores.local.env'),
    ]);
    t.after(() => removeTempDir(dir));
    const sidecar = await startSidecar({
      appId: 'metered',
      resourcesPaths: [dir],
      env: { METERED_SECRET: 's3cret' },
    });
    t.after(() => sidecar.stop());
    // The harness's readiness probes (GET /v1.0/healthz/outbound) came before the calls here.
    const before = await scrape(sidecar);
    const save = '[{"key":"a","value":1}]';
    assert.equal(
      (await fetch(`${sidecar.url}/v1.0/state/statestore`, { method: 'POST', body: save })).status,
      204,
    );
    const got = await fetch(`${sidecar.url}/v1.0/state/statestore/a`);
    assert.equal(got.status, 200);
    const gotBody = await got.text();
    const missing = await fetch(`${sidecar.url}/v1.0/state/nosuchstore/a`);
    assert.equal(missing.status, 400);
    const missingBody = await missing.text();
    assert.equal((await fetch(`${sidecar.url}/v1.0/secrets/envsecrets/METERED_SECRET`)).status, 200);

    for (const path of ['/', '/metrics']) {
      const text = await scrape(sidecar, path);
      assert.equal(series(text, 'dapr_runtime_component_loaded', 'app_id="metered"'), 2);
      assert.equal(series(text, 'dapr_runtime_component_init_total', 'component="state.in-memory"'), 1);
      assert.equal(
        series(text, 'dapr_runtime_component_init_total', 'component="secretstores.local.env"'),
        1,
      );
      // daprd's default (increasedCardinality): the path without the key.
      const saved = ['method="POST"', 'path="/v1.0/state/statestore"', 'status="204"'];
      assert.equal(series(text, 'dapr_http_server_request_count', ...saved), 1);
      assert.equal(series(text, 'dapr_http_server_response_count', ...saved), 1);
      assert.equal(series(text, 'dapr_http_server_latency_count', ...saved), 1);
      assert.equal(
        series(
          text,
          'dapr_http_server_request_count',
          'method="GET"',
          'path="/v1.0/state/nosuchstore"',
          'status="400"',
        ),
        1,
      );
      // Only the save had a Content-Length; the bodies sent back are the value, the error and the secret.
      const added = (name: string) =>
        series(text, name, 'app_id="metered"') - total(before, name, 'app_id="metered"');
      assert.equal(added('dapr_http_server_request_bytes_count'), 4);
      assert.equal(added('dapr_http_server_request_bytes_sum'), Buffer.byteLength(save));
      assert.equal(added('dapr_http_server_response_bytes_count'), 4);
      assert.equal(
        added('dapr_http_server_response_bytes_sum'),
        Buffer.byteLength(gotBody) +
          Buffer.byteLength(missingBody) +
          Buffer.byteLength('{"METERED_SECRET":"s3cret"}'),
      );
      const state = (operation: string) => [
        'component="statestore"',
        'namespace="default"',
        `operation="${operation}"`,
        'success="true"',
      ];
      assert.equal(series(text, 'dapr_component_state_count', ...state('set')), 1);
      assert.equal(series(text, 'dapr_component_state_count', ...state('get')), 1);
      assert.equal(
        series(
          text,
          'dapr_component_secret_count',
          'component="envsecrets"',
          'operation="get"',
          'success="true"',
        ),
        1,
      );
      // The refused call never reached a store, and error codes are off unless recordErrorCodes.
      assert.doesNotMatch(text, /component="nosuchstore"/);
      assert.doesNotMatch(text, /dapr_error_code_total\{/);
      assert.match(text, /process_resident_memory_bytes/);
    }
  });

  it('follows spec.metrics: recordErrorCodes, low cardinality, excludeVerbs, pathMatching and rules', async (t) => {
    const dir = await makeResourcesDir([component('statestore', 'state.in-memory')]);
    t.after(() => removeTempDir(dir));
    const configPath = await metricsConfig(t, {
      recordErrorCodes: true,
      http: { increasedCardinality: false, excludeVerbs: true, pathMatching: ['/v1.0/state/{store}/{key}'] },
      rules: [
        { name: 'dapr_component_state_count', labels: [{ name: 'component', regex: { stores: '^state' } }] },
      ],
    });
    const sidecar = await startSidecar({ appId: 'lowcard', resourcesPaths: [dir], configPath });
    t.after(() => sidecar.stop());
    assert.equal(
      (
        await fetch(`${sidecar.url}/v1.0/state/statestore`, {
          method: 'POST',
          body: '[{"key":"a","value":1}]',
        })
      ).status,
      204,
    );
    assert.equal((await fetch(`${sidecar.url}/v1.0/state/statestore/a`)).status, 200);
    assert.equal((await fetch(`${sidecar.url}/v1.0/state/nosuchstore/b`)).status, 400);
    const text = await scrape(sidecar);
    // Matched: the pattern; unmatched, in low cardinality: an empty path. No verbs at all.
    assert.equal(
      series(
        text,
        'dapr_http_server_request_count',
        'method=""',
        'path="/v1.0/state/{store}/{key}"',
        'status="200"',
      ),
      1,
    );
    assert.equal(
      series(
        text,
        'dapr_http_server_request_count',
        'method=""',
        'path="/v1.0/state/{store}/{key}"',
        'status="400"',
      ),
      1,
    );
    // The save and the harness's readiness probes (healthz/outbound) are all unmatched.
    assert.ok(series(text, 'dapr_http_server_request_count', 'method=""', 'path=""', 'status="204"') >= 2);
    assert.doesNotMatch(text, /dapr_http_server_request_count\{[^}]*method="(GET|POST)"/);
    assert.equal(
      series(text, 'dapr_error_code_total', 'category="state"', 'error_code="ERR_STATE_STORE_NOT_FOUND"'),
      1,
    );
    // The rule renames the component in the count, not in the latencies.
    assert.equal(series(text, 'dapr_component_state_count', 'component="stores"', 'operation="set"'), 1);
    assert.doesNotMatch(text, /dapr_component_state_count\{[^}]*component="statestore"/);
  });

  it("counts calls to the app in daprd's HTTP client families, with body sizes", async (t) => {
    const app = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat([Buffer.from('echo:'), ...chunks]);
        res.writeHead(201, { 'content-type': 'text/plain', 'content-length': body.length }).end(body);
      });
    });
    await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve));
    t.after(() => new Promise<void>((resolve) => app.close(() => resolve())));
    const sidecar = await startSidecar({ appId: 'selfcall', appPort: (app.address() as AddressInfo).port });
    t.after(() => sidecar.stop());
    const before = await scrape(sidecar);
    const body = 'x'.repeat(3000);
    const res = await fetch(`${sidecar.url}/v1.0/invoke/selfcall/method/orders/7`, { method: 'PUT', body });
    assert.equal(res.status, 201);
    assert.equal(await res.text(), `echo:${body}`);
    const text = await scrape(sidecar);
    const call = ['method="PUT"', 'path="/orders/7"', 'status="201"'];
    assert.equal(series(text, 'dapr_http_client_completed_count', ...call), 1);
    assert.equal(series(text, 'dapr_http_client_roundtrip_latency_count', ...call), 1);
    assert.equal(series(text, 'dapr_http_client_sent_bytes_sum', 'path="/orders/7"', 'status=""'), 3000);
    assert.equal(series(text, 'dapr_http_client_sent_bytes_bucket', 'path="/orders/7"', 'le="2048"'), 0);
    assert.equal(series(text, 'dapr_http_client_sent_bytes_bucket', 'path="/orders/7"', 'le="4096"'), 1);
    assert.equal(series(text, 'dapr_http_client_received_bytes_sum', 'app_id="selfcall"'), 3005);
    // The caller's side of the same call: the invoke path in full, and both bodies.
    const invoked = ['method="PUT"', 'path="/v1.0/invoke/selfcall/method/orders/7"', 'status="201"'];
    assert.equal(series(text, 'dapr_http_server_request_count', ...invoked), 1);
    assert.equal(
      series(text, 'dapr_http_server_request_bytes_sum', 'app_id="selfcall"') -
        total(before, 'dapr_http_server_request_bytes_sum'),
      3000,
    );
    assert.equal(
      series(text, 'dapr_http_server_response_bytes_sum', 'app_id="selfcall"') -
        total(before, 'dapr_http_server_response_bytes_sum'),
      3005,
    );
  });

  it("counts gRPC API calls in daprd's gRPC server families, with message sizes", async (t) => {
    const dir = await makeResourcesDir([component('statestore', 'state.in-memory')]);
    t.after(() => removeTempDir(dir));
    const sidecar = await startSidecar({ appId: 'grpcmetered', resourcesPaths: [dir] });
    t.after(() => sidecar.stop());
    const save = await fetch(`${sidecar.url}/v1.0/state/statestore`, {
      method: 'POST',
      body: '[{"key":"a","value":"hello"}]',
    });
    assert.equal(save.status, 204);
    const client = dialDapr(sidecar.grpcPort);
    t.after(() => client.close());
    // GetStateRequest{store_name: "statestore", key: "a"}: 12 + 3 bytes.
    const request = Buffer.concat([
      Buffer.from([0x0a, 10]),
      Buffer.from('statestore'),
      Buffer.from([0x12, 1]),
      Buffer.from('a'),
    ]);
    const responseSize = await new Promise<number>((resolve, reject) =>
      client.makeUnaryRequest(
        '/dapr.proto.runtime.v1.Dapr/GetState',
        (b: Buffer) => b,
        (b: Buffer) => b,
        request,
        new grpc.Metadata(),
        {},
        (err, res?: Buffer) => (err === null ? resolve(res?.length ?? 0) : reject(err)),
      ),
    );
    assert.ok(responseSize > 0);
    // A request that is no GetStateRequest is refused before any handler runs.
    assert.notEqual(await grpcRawCall(client, 'GetState', Buffer.from([0x0a, 0xff])), null);
    const text = await scrape(sidecar);
    const method = 'grpc_server_method="/dapr.proto.runtime.v1.Dapr/GetState"';
    assert.equal(series(text, 'dapr_grpc_io_server_completed_rpcs', method, 'grpc_server_status="OK"'), 1);
    assert.equal(
      series(text, 'dapr_grpc_io_server_server_latency_count', method, 'grpc_server_status="OK"'),
      1,
    );
    assert.equal(series(text, 'dapr_grpc_io_server_received_bytes_per_rpc_sum', method), request.length);
    assert.equal(series(text, 'dapr_grpc_io_server_sent_bytes_per_rpc_sum', method), responseSize);
    const state = ['component="statestore"', 'operation="get"', 'success="true"'];
    assert.equal(series(text, 'dapr_component_state_count', ...state), 1);
  });

  it('--enable-metrics=false starts no metrics server', async (t) => {
    const sidecar = await startSidecar({ appId: 'unmetered', args: ['--enable-metrics=false'] });
    t.after(() => sidecar.stop());
    await assert.rejects(fetch(`http://127.0.0.1:${sidecar.metricsPort}/metrics`));
  });
});
