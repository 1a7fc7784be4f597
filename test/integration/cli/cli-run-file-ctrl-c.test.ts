import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { waitUntil } from '../../env/process.js';
import {
  killLeftovers,
  listJson,
  type StartedEntry,
  startCli,
  tempHome,
  waitForListed,
  waitForPidsGone,
} from './cli-harness.js';

// Idles until a signal, then says which one it got.
const IDLE = `
console.log('idle app up');
setInterval(() => {}, 60_000);
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => { console.log('got ' + sig); process.exit(0); });
`;

test('Ctrl-C (SIGINT) to outrigger run -f stops every app first, then every sidecar, and exits 0', async (t) => {
  const { home, cleanup } = await tempHome();
  t.after(cleanup);
  const dir = join(home, 'tpl');
  for (const app of ['alpha', 'beta']) await mkdir(join(dir, app), { recursive: true });
  await writeFile(join(dir, 'idle.cjs'), IDLE);
  await writeFile(
    join(dir, 'dapr.yaml'),
    [
      'version: 1',
      'name: idlers',
      'apps:',
      '  - appDirPath: alpha',
      '    command: ["node", "../idle.cjs"]',
      '  - appDirPath: beta',
      '    command: ["node", "../idle.cjs"]',
      '',
    ].join('\n'),
  );
  const cli = await startCli(['run', '-f', dir], home, 'run-file-ctrl-c');
  let pids: (number | undefined)[] = [cli.pid];
  t.after(async () => {
    await cli.stop();
    killLeftovers(pids);
  });
  const alpha: StartedEntry = await waitForListed(home, 'alpha', cli);
  const beta: StartedEntry = await waitForListed(home, 'beta', cli);
  pids = [cli.pid, alpha.sidecarPid, alpha.appPid, beta.sidecarPid, beta.appPid];
  assert.deepEqual(
    (await listJson(home)).map((e) => e.runTemplateName),
    ['idlers', 'idlers'],
  );
  await waitUntil(
    'both apps to be up',
    async () => ['alpha', 'beta'].every((id) => cli.tail(200).includes(`== APP - ${id} == idle app up`)),
    30_000,
    { process: cli },
  );

  process.kill(cli.pid, 'SIGINT');
  const exit = await cli.exited;
  assert.equal(exit.code, 0, cli.tail());
  await waitForPidsGone(
    [alpha.sidecarPid, alpha.appPid, beta.sidecarPid, beta.appPid],
    'apps and sidecars gone',
  );
  const lines = readFileSync(cli.logFile, 'utf8').split('\n');
  for (const id of ['alpha', 'beta']) assert.ok(lines.includes(`== APP - ${id} == got SIGINT`), id);
  const lastApp = Math.max(...['alpha', 'beta'].map((id) => lines.indexOf(`outrigger: app "${id}" stopped`)));
  const firstSidecar = lines.findIndex((l) =>
    /^outrigger: outriggerd for app "(alpha|beta)" stopped/.test(l),
  );
  assert.ok(lastApp >= 0 && firstSidecar > lastApp, 'all apps are stopped before the first sidecar');
  assert.deepEqual(await listJson(home), []);
});
