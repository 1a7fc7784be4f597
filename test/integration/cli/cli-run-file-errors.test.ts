import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { CLI_ENTRY, cliEnv, listJson, runCli, tempHome } from './cli-harness.js';

/** A temp home with a template folder holding `dapr.yaml` (when given) and an `app/` folder. */
async function templateDir(t: { after(fn: () => unknown): void }, yaml?: string) {
  const { home, cleanup } = await tempHome();
  t.after(cleanup);
  const dir = join(home, 'tpl');
  await mkdir(join(dir, 'app'), { recursive: true });
  if (yaml !== undefined) await writeFile(join(dir, 'dapr.yaml'), yaml);
  return { home, dir, file: join(dir, 'dapr.yaml') };
}

test('run -f on a folder without dapr.yaml, or a missing path, fails with a clear message', async (t) => {
  const { home, dir } = await templateDir(t);
  const noFile = await runCli(['run', '-f', dir], home);
  assert.equal(noFile.code, 1);
  assert.match(noFile.stderr, new RegExp(`outrigger: error: no dapr.yaml in directory "${dir}"`));
  const missing = await runCli(['run', '-f', join(dir, 'nope.yaml')], home);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /run template ".*nope.yaml" not found/);
  await writeFile(join(dir, 'notes.txt'), 'version: 1\n');
  const notYaml = await runCli(['run', '-f', join(dir, 'notes.txt')], home);
  assert.equal(notYaml.code, 1);
  assert.match(notYaml.stderr, /file ".*notes.txt" is not a YAML file \(.yaml or .yml\)/);
});

test('run -f reports a missing appDirPath and bad fields by app and field, and starts nothing', async (t) => {
  const { home, dir, file } = await templateDir(
    t,
    [
      'version: 1',
      'apps:',
      '  - appID: first',
      '    command: ["node", "app.js"]',
      '  - appID: second',
      '    appDirPath: ./app',
      '    appPort: "abc"',
      '    appLogDestination: screen',
      '    containerImage: example/app:1',
      '    appid: x',
      '',
    ].join('\n'),
  );
  const res = await runCli(['run', '-f', dir], home);
  assert.equal(res.code, 1);
  const lines = res.stderr.trim().split('\n');
  assert.deepEqual(lines, [
    `outrigger: error: ${file}: apps[0] (appID "first"): required field "appDirPath" not found`,
    `outrigger: error: ${file}: apps[1] (appID "second"): field "appPort" must be a port number between 1 and 65535, got "abc"`,
    `outrigger: error: ${file}: apps[1] (appID "second"): field "appLogDestination" must be one of console, file, fileAndConsole, got "screen"`,
  ]);
  assert.equal(existsSync(join(home, 'run')), false, 'nothing was registered');
  assert.equal(existsSync(join(dir, 'app', '.dapr')), false, 'no log folder was made');
});

test('run -f without version, -k, and stop -f with nothing running fail with clear messages', async (t) => {
  const { home, dir } = await templateDir(t, 'apps:\n  - appDirPath: app\n');
  const noVersion = await runCli(['run', '-f', dir], home);
  assert.equal(noVersion.code, 1);
  assert.match(noVersion.stderr, /required field "version" not found/);
  const k8s = await runCli(['run', '-f', dir, '-k'], home);
  assert.equal(k8s.code, 1);
  assert.match(k8s.stderr, /-k\/--kubernetes \(running a template on Kubernetes\) is not supported/);
  const stopK8s = await runCli(['stop', '-f', dir, '-k'], home);
  assert.equal(stopK8s.code, 1);
  assert.match(stopK8s.stderr, /not supported/);
  const stop = await runCli(['stop', '-f', dir], home);
  assert.equal(stop.code, 1);
  assert.match(stop.stderr, /no apps started from run template .*dapr.yaml are running/);
});

test('when an app of the template cannot start, the apps already started are stopped and run -f exits 1', async (t) => {
  const { home, dir } = await templateDir(
    t,
    [
      'version: 1',
      'apps:',
      '  - appID: good',
      '    appDirPath: ./app',
      '    command: ["node", "-e", "setInterval(() => {}, 1000)"]',
      '  - appID: broken',
      '    appDirPath: ./app',
      '    command: ["outrigger-no-such-command-here"]',
      '',
    ].join('\n'),
  );
  const res = await runCli(['run', '-f', dir], home);
  assert.equal(res.code, 1, `${res.stdout}\n${res.stderr}`);
  assert.match(
    res.stderr,
    /outrigger: error: app "broken": could not start "outrigger-no-such-command-here"/,
  );
  assert.match(res.stdout, /app "good" stopped/);
  assert.match(res.stdout, /outriggerd for app "good" stopped/);
  assert.match(res.stdout, /outriggerd for app "broken" stopped/);
  assert.deepEqual(await listJson(home), []);
  assert.deepEqual(
    (await readdir(join(home, 'run'))).filter((n) => n.endsWith('.json')),
    [],
  );
});

test('run -f - reads the template from stdin, with paths relative to the cwd (as dapr)', async (t) => {
  const { home, dir } = await templateDir(t);
  const res = spawnSync(process.execPath, [CLI_ENTRY, 'run', '-f', '-'], {
    cwd: dir,
    env: cliEnv(home),
    input: 'version: 1\napps:\n  - appDirPath: app\n    appPort: nope\n',
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.equal(res.status, 1, res.stderr);
  assert.equal(
    res.stderr,
    `outrigger: error: ${join(dir, '-')}: apps[0]: field "appPort" must be a port number between 1 and 65535, got "nope"\n`,
  );
});
