import assert from 'node:assert/strict';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { waitUntil } from '../../env/process.js';
import { startSidecar } from '../harness.js';

/** An app that holds every request until the test releases it, and records the peak concurrency. */
class HoldingApp {
  readonly held: ServerResponse[] = [];
  peak = 0;
  active = 0;
  readonly tokens: (string | undefined)[] = [];
  readonly #server: Server;

  constructor() {
    this.#server = createServer((req, res) => {
      this.tokens.push(req.headers['dapr-api-token'] as string | undefined);
      this.active++;
      this.peak = Math.max(this.peak, this.active);
      res.on('close', () => this.active--);
      this.held.push(res);
    });
  }

  async listen(): Promise<number> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    return (this.#server.address() as AddressInfo).port;
  }

  release(body: string): void {
    this.held.shift()?.end(body);
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}

describe('calls from the sidecar to the app', () => {
  it('--app-max-concurrency queues calls to the app instead of rejecting them', async (t) => {
    const app = new HoldingApp();
    const appPort = await app.listen();
    t.after(() => app.close());
    const sidecar = await startSidecar({
      appId: 'limited',
      appPort,
      args: ['--app-max-concurrency', '2'],
      env: { APP_API_TOKEN: 'to-app' },
    });
    t.after(() => sidecar.stop());
    await waitUntil(
      'healthz 204',
      async () => (await fetch(`${sidecar.url}/v1.0/healthz`)).status === 204,
      20_000,
      { process: sidecar.proc },
    );
    const calls = Array.from({ length: 5 }, (_, i) =>
      fetch(`${sidecar.url}/v1.0/invoke/limited/method/job/${i}`, { method: 'POST', body: `job ${i}` }).then(
        async (r) => ({ status: r.status, body: await r.text() }),
      ),
    );
    for (let answered = 0; answered < 5; answered++) {
      const expected = Math.min(2, 5 - answered);
      await waitUntil(`${expected} calls held by the app`, async () => app.held.length >= expected, 20_000, {
        process: sidecar.proc,
      });
      assert.ok(app.active <= 2, `app saw ${app.active} concurrent calls`);
      app.release(`done ${answered}`);
    }
    const results = await Promise.all(calls);
    assert.deepEqual(
      results.map((r) => r.status),
      [200, 200, 200, 200, 200],
    );
    assert.equal(app.peak, 2);
    assert.ok(
      app.tokens.every((tok) => tok === 'to-app'),
      'APP_API_TOKEN is sent as dapr-api-token',
    );
    const metrics = await (await fetch(`http://127.0.0.1:${sidecar.metricsPort}/metrics`)).text();
    assert.match(
      metrics,
      /dapr_http_client_completed_count\{app_id="limited",method="POST",path="\/job\/0",status="200"\} 1/,
    );
    assert.match(
      metrics,
      /dapr_http_client_roundtrip_latency_count\{app_id="limited",method="POST",path="\/job\/4",status="200"\} 1/,
    );
  });

  it('SIGTERM lets a call that is waiting on the app finish before exiting 0', async (t) => {
    const app = new HoldingApp();
    const appPort = await app.listen();
    t.after(() => app.close());
    const sidecar = await startSidecar({
      appId: 'draining',
      appPort,
      args: ['--dapr-graceful-shutdown-seconds', '30'],
    });
    t.after(() => sidecar.stop());
    await waitUntil(
      'healthz 204',
      async () => (await fetch(`${sidecar.url}/v1.0/healthz`)).status === 204,
      20_000,
      { process: sidecar.proc },
    );
    const call = fetch(`${sidecar.url}/v1.0/invoke/draining/method/slow`).then(async (r) => ({
      status: r.status,
      body: await r.text(),
    }));
    await waitUntil('the app to hold the call', async () => app.held.length === 1, 20_000, {
      process: sidecar.proc,
    });
    process.kill(sidecar.proc.pid, 'SIGTERM');
    await waitUntil(
      'shutdown to start',
      async () => /Dapr shutting down: received SIGTERM/.test(sidecar.logs()),
      10_000,
    );
    assert.equal(
      (await fetch(`${sidecar.url}/v1.0/healthz`).catch(() => undefined))?.status ?? 500,
      500,
      'readiness fails during shutdown',
    );
    app.release('finished late');
    assert.deepEqual(await call, { status: 200, body: 'finished late' });
    const exit = await sidecar.proc.exited;
    assert.equal(exit.code, 0, sidecar.logs());
  });
});
