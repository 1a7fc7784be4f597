import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import Database from 'better-sqlite3';
import { exampleApp, pidAlive, runCli, tempHome } from './cli-harness.js';

let home = '';
let cleanup: () => Promise<void> = async () => {};

before(async () => {
  ({ home, cleanup } = await tempHome());
});

after(async () => {
  await cleanup();
});

function sidecarPid(stdout: string): number {
  const m = /outriggerd is up \(pid (\d+)\)/.exec(stdout);
  assert.ok(m, `no sidecar pid in the CLI output:\n${stdout}`);
  return Number(m[1]);
}

test('outrigger run of the example app on embedded defaults exits 0, twice, and state survives in SQLite', async () => {
  const args = ['run', '--app-id', 'order-app', '--', process.execPath, exampleApp()];

  const first = await runCli(args, home);
  assert.equal(first.code, 0, `first run failed:\n${first.stdout}\n${first.stderr}`);
  assert.match(first.stdout, /== APP - order-app == .*this is run #1 /);
  assert.match(first.stdout, /== APP - order-app == .*refused with HTTP 409/);
  assert.match(first.stdout, /== APP - order-app == order-app: all steps done/);
  // The sidecar was stopped when the app exited.
  assert.equal(pidAlive(sidecarPid(first.stdout)), false);

  const yaml = readFileSync(join(home, 'components', 'statestore.yaml'), 'utf8');
  assert.match(yaml, /type: state\.sqlite/);
  assert.match(yaml, /name: actorStateStore\n\s+value: "true"/);
  const dbFile = join(home, 'data', 'state.db');
  assert.ok(existsSync(dbFile), 'the SQLite file of the default state store exists');

  const second = await runCli(args, home);
  assert.equal(second.code, 0, `second run failed:\n${second.stdout}\n${second.stderr}`);
  assert.match(
    second.stdout,
    /this is run #2 /,
    'the run counter from the first run was read back from SQLite',
  );

  const db = new Database(dbFile, { readonly: true });
  try {
    const rows = db.prepare('SELECT key, value FROM state ORDER BY key').all() as {
      key: string;
      value: string;
    }[];
    const keys = rows.map((r) => r.key);
    assert.deepEqual(keys, ['order-app||order-1', 'order-app||order-2', 'order-app||runs']);
    const order1 = rows.find((r) => r.key === 'order-app||order-1');
    assert.match(order1?.value ?? '', /shipped/);
  } finally {
    db.close();
  }
  // The run registry holds nothing once the runs are over.
  const list = await runCli(['list', '--output', 'json'], home);
  assert.deepEqual(JSON.parse(list.stdout), []);
});

test('outrigger run exits with the app exit status', async () => {
  const res = await runCli(
    ['run', '--app-id', 'failing-app', '--', process.execPath, '-e', 'process.exit(7)'],
    home,
  );
  assert.equal(res.code, 7, `${res.stdout}\n${res.stderr}`);
});
