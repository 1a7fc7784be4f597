import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import {
  killLeftovers,
  listJson,
  startCli,
  startServingApp,
  tempHome,
  waitForListed,
  waitForPidsGone,
} from './cli-harness.js';

test('Ctrl-C (SIGINT) to outrigger run stops the app and the sidecar', async (t) => {
  const { home, cleanup } = await tempHome();
  t.after(cleanup);
  const { cli, entry } = await startServingApp(t, home, 'interrupted');

  process.kill(cli.pid, 'SIGINT');
  const exit = await cli.exited;
  assert.equal(exit.code, 0, cli.tail());
  await waitForPidsGone([entry.sidecarPid, entry.appPid], 'sidecar and app to be gone after SIGINT');
  const log = readFileSync(cli.logFile, 'utf8');
  assert.match(log, /received SIGINT, stopping/);
  assert.match(log, /serving app got SIGINT/);
  assert.match(log, /outriggerd stopped/);
  assert.deepEqual(await listJson(home), []);
});

test('an app that exits stops the sidecar', async (t) => {
  const { home, cleanup } = await tempHome();
  t.after(cleanup);
  const cli = await startCli(
    ['run', '--app-id', 'short-lived', '--', process.execPath, '-e', 'setTimeout(() => {}, 1500)'],
    home,
  );
  t.after(async () => {
    await cli.stop();
  });
  const entry = await waitForListed(home, 'short-lived', cli);
  t.after(() => killLeftovers([entry.sidecarPid, entry.appPid]));
  const exit = await cli.exited;
  assert.equal(exit.code, 0, cli.tail());
  await waitForPidsGone([entry.sidecarPid], 'sidecar to be gone after the app exited');
});
