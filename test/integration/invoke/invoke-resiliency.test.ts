import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { CommunicationProtocolEnum, DaprClient, HttpMethod, LogLevel } from '@dapr/dapr';
import { makeTempDir, removeTempDir } from '../../env/process.js';
import { type Sidecar, writeResources } from '../harness.js';
import { startAppSidecar, startTestApp, type TestApp } from './invoke-fixture.js';

/**
 * Resiliency on service invocation, counted at the callee app: retries (non-2xx results and
 * failed attempts), per-attempt timeouts (over a streamed body too), a circuit breaker that opens on its trip expression and
 * half-opens after its timeout, the error when the callee sidecar is gone; and the official
 * `@dapr/dapr` DaprClient invoker against the same sidecars.
 */

let home = '';
let app: TestApp;
let a: Sidecar;
let b: Sidecar;
let c: Sidecar;
let d: Sidecar;

const RESILIENCY = {
  apiVersion: 'dapr.io/v1alpha1',
  kind: 'Resiliency',
  metadata: { name: 'invoke-policies' },
  scopes: ['a'],
  spec: {
    policies: {
      timeouts: { short: '400ms' },
      retries: { twice: { policy: 'constant', duration: '50ms', maxRetries: 2 } },
      circuitBreakers: { cb: { maxRequests: 1, timeout: '1s', trip: 'consecutiveFailures >= 2' } },
    },
    targets: {
      apps: {
        b: { retry: 'twice', timeout: 'short' },
        c: { circuitBreaker: 'cb' },
        // A misspelt policy name: daprd keeps the resource and this target, with no retry.
        d: { timeout: 'short', retry: 'twise' },
      },
    },
  },
};

before(async () => {
  home = await makeTempDir('invoke-res-home');
  app = await startTestApp();
  await writeResources(home, [RESILIENCY], 'resiliency.yaml');
  b = await startAppSidecar(home, { appId: 'b', appPort: app.port });
  c = await startAppSidecar(home, { appId: 'c', appPort: app.port });
  d = await startAppSidecar(home, { appId: 'd', appPort: app.port });
  a = await startAppSidecar(home, { appId: 'a', resourcesPaths: [`${home}/resiliency.yaml`] });
});

after(async () => {
  await a?.stop();
  await b?.stop();
  await c?.stop();
  await d?.stop();
  await app?.close();
  await removeTempDir(home);
});

describe('resiliency on service invocation', () => {
  it('retries a failing status as the policy says, then passes the last answer through', async () => {
    const before = app.count('/flaky');
    app.failNext(5, 503);
    const res = await fetch(`${a.url}/v1.0/invoke/b/method/flaky`, { method: 'POST', body: 'payload' });
    assert.equal(res.status, 503);
    assert.equal(await res.text(), 'failing');
    assert.equal(app.count('/flaky') - before, 3, '1 try + 2 retries');
    app.failNext(1, 500);
    const ok = await fetch(`${a.url}/v1.0/invoke/b/method/flaky`, { method: 'POST', body: 'payload' });
    assert.equal(ok.status, 200);
    assert.equal(app.count('/flaky') - before, 5);
    const last = app.hits.filter((h) => h.url === '/flaky').at(-1);
    assert.equal(last?.bodyLength, 'payload'.length, 'the retried body is replayed whole');
  });

  it('retries attempts whose app connection fails, then answers ERR_DIRECT_INVOKE', async () => {
    const before = app.count('/drop');
    // POST: an idempotent GET that fails on a reused app connection before any answer is also sent
    // once more on a new connection (as Go's transport does), which would add app hits here.
    const res = await fetch(`${a.url}/v1.0/invoke/b/method/drop`, { method: 'POST', body: 'x' });
    assert.equal(res.status, 500);
    const body = (await res.json()) as { errorCode: string; message: string };
    assert.equal(body.errorCode, 'ERR_DIRECT_INVOKE');
    assert.match(body.message, /^failed to invoke, id: b, err: rpc error: code = Internal/);
    assert.equal(app.count('/drop') - before, 3);
  });

  it('enforces the per-attempt timeout', async () => {
    const before = app.count('/slow');
    const res = await fetch(`${a.url}/v1.0/invoke/b/method/slow/3000`);
    assert.equal(res.status, 500);
    const body = (await res.json()) as { errorCode: string; message: string };
    assert.equal(body.errorCode, 'ERR_DIRECT_INVOKE');
    assert.match(body.message, /timed out/);
    assert.equal(app.count('/slow') - before, 3, 'each attempt reached the app and was cut');
  });

  it('keeps a target that names a missing policy, as daprd does: its timeout applies, with no retry', async () => {
    const before = app.count('/slow');
    const res = await fetch(`${a.url}/v1.0/invoke/d/method/slow/3000`);
    assert.equal(res.status, 500);
    const body = (await res.json()) as { errorCode: string; message: string };
    assert.equal(body.errorCode, 'ERR_DIRECT_INVOKE');
    assert.match(body.message, /timed out/);
    assert.equal(app.count('/slow') - before, 1, 'one attempt: the misspelt retry policy gives none');
    assert.match(
      a.logs(),
      /spec\.targets\.apps\.d\.retry: refers to unknown retry policy \\"twise\\"/,
      'logged as a warning',
    );
  });

  it('holds a streamed answer to the attempt timeout, and lets one that ends in time through', async () => {
    // 20 chunks 100 ms apart: the headers come at once, the body would outlive the 400 ms timeout.
    const before = app.count('/trickle/20');
    const res = await fetch(`${a.url}/v1.0/invoke/b/method/trickle/20/100`);
    assert.equal(res.status, 200);
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    let text = '';
    await assert.rejects(async () => {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        text += Buffer.from(value).toString();
      }
    }, 'the body is cut, not ended');
    const got = text.split('\n').filter((l) => l !== '').length;
    assert.ok(got >= 1 && got < 20, `cut after ${got} of 20 chunks`);
    assert.equal(app.count('/trickle/20') - before, 1, 'an answer already under way is not retried');
    const ok = await fetch(`${a.url}/v1.0/invoke/b/method/trickle/3/50`);
    assert.equal(ok.status, 200);
    assert.equal(await ok.text(), 'chunk 0\nchunk 1\nchunk 2\n');
  });

  it('opens the circuit after its trip expression and half-opens after its timeout', async () => {
    const before = app.count('/flaky');
    app.failNext(2, 500);
    assert.equal((await fetch(`${a.url}/v1.0/invoke/c/method/flaky`)).status, 500);
    assert.equal((await fetch(`${a.url}/v1.0/invoke/c/method/flaky`)).status, 500);
    const open = await fetch(`${a.url}/v1.0/invoke/c/method/flaky`);
    assert.equal(open.status, 500);
    const body = (await open.json()) as { errorCode: string; message: string };
    assert.equal(body.errorCode, 'ERR_DIRECT_INVOKE');
    assert.match(body.message, /circuit breaker is open/);
    assert.equal(app.count('/flaky') - before, 2, 'the open circuit kept the call from the app');
    await sleep(1_200);
    const probe = await fetch(`${a.url}/v1.0/invoke/c/method/flaky`);
    assert.equal(probe.status, 200, 'half-open lets one call through');
    assert.equal(app.count('/flaky') - before, 3);
    assert.equal((await fetch(`${a.url}/v1.0/invoke/c/method/flaky`)).status, 200);
    assert.equal(app.count('/flaky') - before, 4, 'closed again');
  });

  it('works with the official @dapr/dapr DaprClient invoker', async () => {
    const client = new DaprClient({
      daprHost: '127.0.0.1',
      daprPort: String(a.httpPort),
      communicationProtocol: CommunicationProtocolEnum.HTTP,
      logger: { level: LogLevel.Error },
    });
    const got = (await client.invoker.invoke('b', 'sdk/orders', HttpMethod.POST, { id: 7 })) as {
      method: string;
      url: string;
      body: string;
    };
    assert.equal(got.method, 'POST');
    assert.equal(got.url, '/sdk/orders');
    assert.deepEqual(JSON.parse(got.body), { id: 7 });
    const viaGet = (await client.invoker.invoke('b', 'sdk/orders?x=1', HttpMethod.GET)) as { url: string };
    assert.equal(viaGet.url, '/sdk/orders?x=1');
  });

  it('reports invocation and resiliency metrics with Dapr names', async () => {
    const am = await (await fetch(`http://127.0.0.1:${a.metricsPort}/`)).text();
    const value = (text: string, name: string, ...labels: string[]): number => {
      const line = text
        .split('\n')
        .find((l) => l.startsWith(`${name}{`) && labels.every((x) => l.includes(x)));
      return line === undefined ? 0 : Number(line.split(' ').at(-1));
    };
    assert.ok(value(am, 'dapr_runtime_service_invocation_req_sent_total', 'dst_app_id="b"') > 0);
    assert.ok(
      value(am, 'dapr_runtime_service_invocation_res_recv_total', 'dst_app_id="b"', 'status="200"') > 0,
    );
    assert.ok(value(am, 'dapr_runtime_service_invocation_res_recv_latency_ms_count', 'dst_app_id="b"') > 0);
    assert.equal(value(am, 'dapr_resiliency_loaded', 'name="invoke-policies"'), 1);
    assert.ok(value(am, 'dapr_resiliency_activations_total', 'policy="retry"', 'target="app_b"') >= 4);
    assert.ok(
      value(am, 'dapr_resiliency_activations_total', 'policy="circuitbreaker"', 'status="open"') >= 1,
    );
    assert.ok(value(am, 'dapr_resiliency_count', 'policy="timeout"', 'target="app_b"') > 0);
    const bm = await (await fetch(`http://127.0.0.1:${b.metricsPort}/`)).text();
    assert.ok(value(bm, 'dapr_runtime_service_invocation_req_recv_total', 'src_app_id="a"') > 0);
    assert.ok(
      value(bm, 'dapr_runtime_service_invocation_res_sent_total', 'src_app_id="a"', 'status="200"') > 0,
    );
  });

  it('answers ERR_DIRECT_INVOKE once the callee sidecar is gone', async () => {
    await c.stop();
    const res = await fetch(`${a.url}/v1.0/invoke/c/method/anything`);
    assert.equal(res.status, 500);
    const body = (await res.json()) as { errorCode: string; message: string };
    assert.equal(body.errorCode, 'ERR_DIRECT_INVOKE');
    assert.match(body.message, /^failed to invoke, id: c, err: /);
  });
});
