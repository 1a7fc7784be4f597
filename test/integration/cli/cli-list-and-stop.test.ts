import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { freePort, waitForPort } from '../../env/process.js';
import {
  killLeftovers,
  listJson,
  pidAlive,
  runCli,
  SERVING_APP,
  startCli,
  startServingApp,
  tempHome,
  waitForListed,
  waitForPidsGone,
} from './cli-harness.js';

test('outrigger list shows a running app and outrigger stop --app-id stops app and sidecar', async (t) => {
  const { home, cleanup } = await tempHome();
  t.after(cleanup);
  const envDump = join(home, 'app-env.json');
  const { cli, entry, appPort } = await startServingApp(t, home, 'long-runner');
  assert.equal(entry.cliPid, cli.pid);
  assert.equal(entry.appPort, appPort);
  assert.ok(pidAlive(entry.sidecarPid) && entry.appPid !== undefined && pidAlive(entry.appPid));
  assert.match(entry.command, /-e/);
  assert.ok(Date.parse(entry.started) <= Date.now());

  // The sidecar answers on the listed HTTP port.
  const health = await fetch(`http://127.0.0.1:${entry.httpPort}/v1.0/healthz/outbound`);
  assert.equal(health.status, 204);

  // The app got the ports and its id in its environment.
  const env = JSON.parse(readFileSync(envDump, 'utf8')) as Record<string, string>;
  assert.deepEqual(env, {
    APP_ID: 'long-runner',
    APP_PORT: String(appPort),
    DAPR_HTTP_PORT: String(entry.httpPort),
    DAPR_GRPC_PORT: String(entry.grpcPort),
    APP_PROTOCOL: 'http',
  });

  const table = await runCli(['list'], home);
  assert.equal(table.code, 0);
  const [header, row] = table.stdout.trim().split('\n');
  assert.match(header ?? '', /^APP ID\s+HTTP PORT\s+GRPC PORT\s+APP PORT\s+COMMAND\s+AGE\s+PID$/);
  assert.match(
    row ?? '',
    new RegExp(`^long-runner\\s+${entry.httpPort}\\s+${entry.grpcPort}\\s+${appPort}\\s+.*\\s${cli.pid}$`),
  );

  // A second run with the same app id is refused while the first one is up.
  const duplicate = await runCli(['run', '--app-id', 'long-runner', '--', process.execPath, '-e', '0'], home);
  assert.equal(duplicate.code, 1);
  assert.match(duplicate.stderr, /an app with id "long-runner" is already running/);

  const stop = await runCli(['stop', '--app-id', 'long-runner'], home);
  assert.equal(stop.code, 0, stop.stderr);
  const exit = await cli.exited;
  assert.equal(exit.code, 0, cli.tail());
  await waitForPidsGone([entry.sidecarPid, entry.appPid], 'sidecar and app to be gone after outrigger stop');
  assert.match(readFileSync(cli.logFile, 'utf8'), /== APP - long-runner == serving app got SIGTERM/);
  assert.deepEqual(await listJson(home), []);
  assert.equal(existsSync(join(home, 'run', 'long-runner.json')), false);
});

test('outrigger list drops stale entries whose process is gone', async (t) => {
  const { home, cleanup } = await tempHome();
  t.after(cleanup);
  // A PID that certainly existed and has exited.
  const dead = spawnSync(process.execPath, ['-e', '0']).pid as number;
  await mkdir(join(home, 'run'), { recursive: true });
  const stale = {
    appId: 'ghost',
    httpPort: 1,
    grpcPort: 2,
    metricsPort: 3,
    cliPid: dead,
    sidecarPid: dead,
    appPid: dead,
    command: 'node ghost.js',
    started: new Date().toISOString(),
  };
  await writeFile(join(home, 'run', 'ghost.json'), JSON.stringify(stale));
  assert.deepEqual(await listJson(home), []);
  assert.equal(existsSync(join(home, 'run', 'ghost.json')), false);
  const stop = await runCli(['stop', '--app-id', 'ghost'], home);
  assert.equal(stop.code, 1);
  assert.match(stop.stderr, /no running app with id "ghost"/);
});

test('after the CLI is killed (SIGKILL), outrigger list removes its entry and stops the orphaned sidecar and app', async (t) => {
  const { home, cleanup } = await tempHome();
  t.after(cleanup);
  const appPort = await freePort();
  const cli = await startCli(
    ['run', '--app-id', 'orphaned', '--app-port', String(appPort), '--', process.execPath, '-e', SERVING_APP],
    home,
  );
  let pids: (number | undefined)[] = [cli.pid];
  t.after(async () => {
    await cli.stop();
    killLeftovers(pids);
  });
  const entry = await waitForListed(home, 'orphaned', cli);
  pids = [cli.pid, entry.sidecarPid, entry.appPid];
  await waitForPort('127.0.0.1', appPort, 30_000, { process: cli });

  await cli.stop(1_000, 'SIGKILL');
  assert.ok(pidAlive(entry.sidecarPid), 'the sidecar outlives a SIGKILLed CLI');
  assert.deepEqual(await listJson(home), []);
  await waitForPidsGone(
    [entry.sidecarPid, entry.appPid],
    'orphaned sidecar and app to be stopped by outrigger list',
  );
  assert.equal(existsSync(join(home, 'run', 'orphaned.json')), false);
});
