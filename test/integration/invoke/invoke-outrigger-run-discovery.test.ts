import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { waitUntil } from '../../env/process.js';
import { killLeftovers, type StartedEntry, startCli, tempHome, waitForListed } from '../cli/cli-harness.js';
import type { Sidecar } from '../harness.js';
import { startAppSidecar, startTestApp, type TestApp } from './invoke-fixture.js';

/**
 * The standalone name resolution needs no configuration and no server: an app started with
 * `outrigger run` and a sidecar started directly, sharing only OUTRIGGER_HOME, find each other by
 * app id in both directions.
 */

let home = '';
let cleanup: () => Promise<void> = async () => {};
let ordersApp: TestApp;
let directApp: TestApp;
let direct: Sidecar;
let cli: Awaited<ReturnType<typeof startCli>> | undefined;
let entry: StartedEntry | undefined;

before(async () => {
  ({ home, cleanup } = await tempHome());
  ordersApp = await startTestApp();
  directApp = await startTestApp();
  cli = await startCli(
    [
      'run',
      '--app-id',
      'orders',
      '--app-port',
      String(ordersApp.port),
      '--',
      process.execPath,
      '-e',
      'setInterval(() => {}, 1 << 30)',
    ],
    home,
  );
  entry = await waitForListed(home, 'orders', cli);
  const url = `http://127.0.0.1:${entry.httpPort}/v1.0/healthz`;
  await waitUntil(
    'the outrigger run sidecar to be ready',
    async () => (await fetch(url)).status === 204,
    60_000,
    {
      process: cli,
    },
  );
  direct = await startAppSidecar(home, { appId: 'direct', appPort: directApp.port });
});

after(async () => {
  await direct?.stop();
  await cli?.stop();
  killLeftovers([entry?.sidecarPid, entry?.appPid]);
  await ordersApp?.close();
  await directApp?.close();
  await cleanup();
});

describe('standalone discovery between outrigger run and outriggerd', () => {
  it('a directly started sidecar reaches the app started by outrigger run', async () => {
    const res = await fetch(`${direct.url}/v1.0/invoke/orders/method/from-direct`, {
      method: 'POST',
      body: 'x',
    });
    assert.equal(res.status, 200);
    const got = (await res.json()) as { url: string; headers: Record<string, string> };
    assert.equal(got.url, '/from-direct');
    assert.equal(got.headers['dapr-caller-app-id'], 'direct');
  });

  it('the outrigger run sidecar reaches the directly started one', async () => {
    const res = await fetch(`http://127.0.0.1:${entry?.httpPort}/v1.0/invoke/direct/method/from-cli`);
    assert.equal(res.status, 200);
    const got = (await res.json()) as { url: string; headers: Record<string, string> };
    assert.equal(got.url, '/from-cli');
    assert.equal(got.headers['dapr-caller-app-id'], 'orders');
  });
});
