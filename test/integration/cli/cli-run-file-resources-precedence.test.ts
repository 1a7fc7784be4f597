import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { waitUntil } from '../../env/process.js';
import {
  killLeftovers,
  listJson,
  pidAlive,
  runCli,
  type StartedEntry,
  startCli,
  tempHome,
  waitForListed,
  waitForPidsGone,
} from './cli-harness.js';

// Prints what its sidecar loaded, its GREETING and its working directory, then idles until stopped.
const PROBE = `
const base = 'http://127.0.0.1:' + process.env.DAPR_HTTP_PORT + '/v1.0';
const res = await fetch(base + '/metadata');
const meta = await res.json();
const names = (meta.components ?? []).map((c) => c.name).sort();
console.log('components: ' + names.join(','));
console.log('greeting: ' + process.env.GREETING);
console.log('cwd: ' + process.cwd());
setInterval(() => {}, 60_000);
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));
`;

function component(name: string): string {
  return `apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: ${name}\nspec:\n  type: state.in-memory\n  version: v1\n`;
}

async function put(path: string, text: string): Promise<void> {
  await mkdir(join(path, '..'), { recursive: true });
  await writeFile(path, text);
}

const TEMPLATE = `version: 1
common:
  resourcesPath: ./common-resources
  env:
    GREETING: hello
apps:
  - appID: own
    appDirPath: ./own
    resourcesPath: ./res
    env:
      GREETING: hi
    command: ["node", "../probe.mjs"]
  - appID: local
    appDirPath: ./local
    appLogDestination: console
    command: ["node", "../probe.mjs"]
  - appID: shared
    appDirPath: ./shared
    appLogDestination: file
    daprdLogDestination: console
    command: ["node", "../probe.mjs"]
`;

test('run -f resources precedence: the app own path > <appDirPath>/.dapr/resources > common; stop --app-id stops one app', async (t) => {
  const { home, cleanup } = await tempHome();
  t.after(cleanup);
  const dir = join(home, 'tpl');
  await put(join(dir, 'dapr.yaml'), TEMPLATE);
  await put(join(dir, 'probe.mjs'), PROBE);
  await put(join(dir, 'common-resources', 'c.yaml'), component('commonstore'));
  await put(join(dir, 'own', 'res', 'c.yaml'), component('ownstore'));
  await put(join(dir, 'own', '.dapr', 'resources', 'c.yaml'), component('shadowedstore'));
  await put(join(dir, 'local', '.dapr', 'resources', 'c.yaml'), component('localstore'));
  await mkdir(join(dir, 'shared'));

  const cli = await startCli(['run', '-f', join(dir, 'dapr.yaml')], home, 'run-file-precedence');
  let pids: (number | undefined)[] = [cli.pid];
  t.after(async () => {
    await cli.stop();
    killLeftovers(pids);
  });
  const entries: Record<string, StartedEntry> = {};
  for (const id of ['own', 'local', 'shared']) entries[id] = await waitForListed(home, id, cli);
  pids = [cli.pid, ...Object.values(entries).flatMap((e) => [e.sidecarPid, e.appPid])];
  const { own, local, shared } = entries as Record<'own' | 'local' | 'shared', StartedEntry>;

  await waitUntil(
    'the probes of own and local to print their cwd',
    async () => ['own', 'local'].every((id) => cli.tail(400).includes(`== APP - ${id} == cwd: `)),
    60_000,
    { process: cli },
  );
  const output = readFileSync(cli.logFile, 'utf8');
  assert.ok(output.includes('== APP - own == components: ownstore\n'), output);
  assert.ok(output.includes('== APP - own == greeting: hi\n'), 'the app env wins over common env');
  assert.ok(output.includes(`== APP - own == cwd: ${join(dir, 'own')}\n`), 'apps run in their appDirPath');
  assert.ok(output.includes('== APP - local == components: localstore\n'));
  assert.ok(output.includes('== APP - local == greeting: hello\n'));

  // shared: app output to its file only, sidecar output on the console (prefixed) and in no file.
  const logs = join(dir, 'shared', '.dapr', 'logs');
  await waitUntil(
    'the shared probe to write its log file',
    async () => {
      const files = await readdir(logs).catch(() => [] as string[]);
      const app = files.find((f) => /^shared_app_\d{14}\.log$/.test(f));
      return app !== undefined && (await readFile(join(logs, app), 'utf8')).includes('cwd: ');
    },
    30_000,
  );
  const files = await readdir(logs);
  assert.deepEqual(
    files.filter((f) => f.includes('_daprd_')),
    [],
    'daprdLogDestination console writes no file',
  );
  const appLog = await readFile(join(logs, files.find((f) => f.includes('_app_')) as string), 'utf8');
  assert.ok(appLog.includes('== APP - shared == components: commonstore\n'), appLog);
  assert.ok(appLog.includes('== APP - shared == greeting: hello\n'));
  assert.ok(
    !output.includes('== APP - shared == '),
    'appLogDestination file keeps app lines off the console',
  );
  assert.ok(output.includes('== OUTRIGGERD - shared == '), 'sidecar lines on the console');
  // appLogDestination console: no app log file for local.
  const localLogs = await readdir(join(dir, 'local', '.dapr', 'logs'));
  assert.deepEqual(
    localLogs.filter((f) => f.includes('_app_')),
    [],
  );

  // stop --app-id on one app of a template stops that app and its sidecar only (dapr stops its daprd).
  const stopOne = await runCli(['stop', '--app-id', 'local'], home);
  assert.equal(stopOne.code, 0, stopOne.stderr);
  await waitForPidsGone([local.appPid, local.sidecarPid], 'local app and sidecar to stop');
  await waitUntil(
    'local to leave the list',
    async () => (await listJson(home)).map((e) => e.appId).join() === 'own,shared',
    10_000,
  );
  assert.ok([own, shared].every((e) => pidAlive(e.appPid) && pidAlive(e.sidecarPid)) && cli.running);

  const stop = await runCli(['stop', '-f', dir], home);
  assert.equal(stop.code, 0, `${stop.stdout}\n${stop.stderr}`);
  assert.equal((await cli.exited).code, 0, cli.tail());
  await waitForPidsGone([own.appPid, own.sidecarPid, shared.appPid, shared.sidecarPid], 'all to be stopped');
  assert.deepEqual(await listJson(home), []);
});
