import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { describe, it } from 'node:test';
import { freePort, waitUntil } from '../../env/process.js';
import { startSidecar } from '../harness.js';

async function status(
  url: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string }> {
  const res = await fetch(url, { headers });
  return { status: res.status, body: await res.text() };
}

async function startApp(port: number, health: () => number): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.url === '/healthz') res.writeHead(health()).end();
    else res.writeHead(200).end('ok');
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return server;
}

async function stopApp(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

describe('healthz semantics', () => {
  it('without --app-port both healthz endpoints answer 204 once started', async (t) => {
    const sidecar = await startSidecar({ appId: 'noapp' });
    t.after(() => sidecar.stop());
    assert.equal((await status(`${sidecar.url}/v1.0/healthz/outbound`)).status, 204);
    assert.equal((await status(`${sidecar.url}/v1.0/healthz`)).status, 204);
  });

  it('with --app-port, healthz waits for the app while outbound is already ready', async (t) => {
    const appPort = await freePort();
    const sidecar = await startSidecar({ appId: 'waitsapp', appPort });
    t.after(() => sidecar.stop());
    assert.equal((await status(`${sidecar.url}/v1.0/healthz/outbound`)).status, 204);
    const notReady = await status(`${sidecar.url}/v1.0/healthz`);
    assert.equal(notReady.status, 500);
    assert.equal((JSON.parse(notReady.body) as { errorCode: string }).errorCode, 'ERR_HEALTH_NOT_READY');
    const app = await startApp(appPort, () => 200);
    t.after(() => stopApp(app));
    await waitUntil(
      'healthz to turn 204 after the app listens',
      async () => (await status(`${sidecar.url}/v1.0/healthz`)).status === 204,
      20_000,
      { process: sidecar.proc },
    );
    assert.match(
      sidecar.logs(),
      /waiting on port \d+\.\s+This will block until the app is listening on that port/,
    );
    assert.match(sidecar.logs(), /dapr initialized\. Status: Running\. Init Elapsed \d+ms/);
  });

  it('app health checks drive readiness both ways', async (t) => {
    const appPort = await freePort();
    let appStatus = 503;
    const app = await startApp(appPort, () => appStatus);
    t.after(() => stopApp(app));
    const sidecar = await startSidecar({
      appId: 'probed',
      appPort,
      args: [
        '--enable-app-health-check',
        '--app-health-probe-interval',
        '1',
        '--app-health-threshold',
        '1',
        '--app-health-probe-timeout',
        '500',
      ],
    });
    t.after(() => sidecar.stop());
    const healthz = async (): Promise<number> => (await status(`${sidecar.url}/v1.0/healthz`)).status;
    await waitUntil(
      'the first probe to run',
      async () => /Application is unhealthy|Application is healthy/.test(sidecar.logs()),
      20_000,
      { process: sidecar.proc },
    );
    assert.equal(await healthz(), 500);
    appStatus = 200;
    await waitUntil('healthz 204 once the app is healthy', async () => (await healthz()) === 204, 20_000, {
      process: sidecar.proc,
    });
    appStatus = 500;
    await waitUntil(
      'healthz 500 once the app is unhealthy again',
      async () => (await healthz()) === 500,
      20_000,
      { process: sidecar.proc },
    );
    // daprd's probe metrics: one series per status the app answered.
    const metrics = await (await fetch(`http://127.0.0.1:${sidecar.metricsPort}/metrics`)).text();
    for (const code of ['503', '200', '500']) {
      assert.match(
        metrics,
        new RegExp(`dapr_http_healthprobes_completed_count\\{app_id="probed",status="${code}"\\} [1-9]`),
      );
      assert.match(
        metrics,
        new RegExp(
          `dapr_http_healthprobes_roundtrip_latency_count\\{app_id="probed",status="${code}"\\} [1-9]`,
        ),
      );
    }
  });

  it('the public port serves health without the API token, the API port requires it', async (t) => {
    const sidecar = await startSidecar({ appId: 'public', publicPort: true, env: { DAPR_API_TOKEN: 'tok' } });
    t.after(() => sidecar.stop());
    assert.equal((await status(`http://127.0.0.1:${sidecar.publicPort}/v1.0/healthz`)).status, 204);
    assert.equal((await status(`${sidecar.url}/v1.0/metadata`)).status, 401);
    assert.equal((await status(`${sidecar.url}/v1.0/metadata`, { 'dapr-api-token': 'tok' })).status, 200);
  });
});
