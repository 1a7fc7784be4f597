import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { removeTempDir, waitUntil } from '../../env/process.js';
import { component, makeResourcesDir, startSidecar } from '../harness.js';

describe('--dapr-block-shutdown-duration', () => {
  it('keeps the API serving after SIGTERM until the app reports unhealthy, then exits 0', async (t) => {
    let appHealthy = true;
    const app = createServer((_req, res) => res.writeHead(appHealthy ? 200 : 503).end());
    await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve));
    t.after(
      () =>
        new Promise<void>((resolve) => {
          app.closeAllConnections();
          app.close(() => resolve());
        }),
    );
    const dir = await makeResourcesDir([component('statestore', 'state.in-memory')]);
    t.after(() => removeTempDir(dir));
    const sidecar = await startSidecar({
      appId: 'blocking',
      resourcesPaths: [dir],
      appPort: (app.address() as AddressInfo).port,
      args: [
        '--dapr-block-shutdown-duration',
        '10m',
        '--enable-app-health-check',
        '--app-health-probe-interval',
        '1',
        '--app-health-threshold',
        '1',
      ],
    });
    t.after(() => sidecar.stop());
    await waitUntil(
      'the app to be healthy',
      async () => (await fetch(`${sidecar.url}/v1.0/healthz`)).status === 204,
      20_000,
      { process: sidecar.proc },
    );

    process.kill(sidecar.proc.pid, 'SIGTERM');
    await waitUntil(
      'the shutdown block to start',
      async () => /Blocking graceful shutdown for 600000 ms/.test(sidecar.logs()),
      10_000,
      { process: sidecar.proc },
    );
    const save = await fetch(`${sidecar.url}/v1.0/state/statestore`, {
      method: 'POST',
      body: '[{"key":"late","value":1}]',
    });
    assert.equal(save.status, 204, 'the API still serves while shutdown is blocked');
    assert.ok(sidecar.proc.running);

    appHealthy = false;
    const exit = await sidecar.proc.exited;
    assert.equal(exit.code, 0, sidecar.logs());
    assert.match(sidecar.logs(), /Application reported unhealthy; continuing graceful shutdown/);
  });
});
