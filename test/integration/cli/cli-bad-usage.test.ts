import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { runCli, tempHome } from './cli-harness.js';

let home = '';
let cleanup: () => Promise<void> = async () => {};

before(async () => {
  ({ home, cleanup } = await tempHome());
});

after(async () => {
  await cleanup();
});

const BAD: readonly { args: string[]; message: RegExp }[] = [
  { args: ['run', '--', 'node', 'app.js'], message: /--app-id is required/ },
  { args: ['run', '--app-id', 'x', '--no-such-flag', '--', 'node'], message: /unknown flag --no-such-flag/ },
  {
    args: ['run', '--app-id', 'x', '--dapr-http-port', 'http'],
    message: /--dapr-http-port must be a port number/,
  },
  { args: ['run', '--app-id', 'x', '--app-port', '70000'], message: /--app-port must be a port number/ },
  { args: ['run', '--app-id', 'x', '--app-protocol', 'ftp'], message: /--app-protocol must be one of/ },
  { args: ['run', '--app-id', 'a.b'], message: /invalid --app-id "a\.b"/ },
  { args: ['run', '--app-id'], message: /flag --app-id needs a value/ },
  { args: ['list', '--output', 'yaml'], message: /--output must be one of table, json/ },
  { args: ['list', 'extra'], message: /unexpected argument "extra"/ },
  { args: ['stop'], message: /--app-id or -f is required/ },
  { args: ['stop', '--app-id', 'not-running'], message: /no running app with id "not-running"/ },
  { args: ['launch'], message: /unknown command "launch"/ },
];

for (const { args, message } of BAD) {
  test(`bad usage exits 1 with a clear error: outrigger ${args.join(' ')}`, async () => {
    const res = await runCli(args, home);
    assert.equal(res.code, 1, res.stdout);
    assert.match(res.stderr, message);
  });
}

test('--help and --version exit 0', async () => {
  const help = await runCli(['--help'], home);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /outrigger run --app-id <id>/);
  const runHelp = await runCli(['run', '--help'], home);
  assert.equal(runHelp.code, 0);
  assert.match(runHelp.stdout, /--resources-path/);
  const version = await runCli(['--version'], home);
  assert.equal(version.code, 0);
  assert.match(version.stdout, /\d+\.\d+\.\d+/);
});

test('an app command that cannot be started exits 1 and stops the sidecar', async () => {
  const res = await runCli(['run', '--app-id', 'no-binary', '--', join(home, 'no-such-executable')], home);
  assert.equal(res.code, 1, res.stdout);
  assert.match(res.stderr, /could not start/);
  assert.match(res.stdout, /outriggerd stopped/);
});

test('a sidecar that refuses its resources makes outrigger run exit 1', async () => {
  const dir = join(home, 'bad-resources');
  await mkdir(dir, { recursive: true });
  await writeFile(
    join(dir, 'broken.yaml'),
    'apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: broken\nspec:\n  type: state.no-such-store\n  version: v1\n',
  );
  const res = await runCli(
    ['run', '--app-id', 'broken', '--resources-path', dir, '--', process.execPath, '-e', '0'],
    home,
  );
  assert.equal(res.code, 1, res.stdout);
  assert.match(res.stderr, /outriggerd exited with status \d+ before it was ready/);
});
