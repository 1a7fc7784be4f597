import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { removeTempDir } from '../../env/process.js';
import { component, makeResourcesDir, runSidecarToExit } from '../harness.js';

describe('outriggerd refuses to start on bad input', () => {
  const dirs: string[] = [];
  after(async () => {
    for (const d of dirs) await removeTempDir(d);
  });

  it('exits 1 with a clear message for an unknown flag', async () => {
    const run = await runSidecarToExit({ appId: 'badflag', args: ['--no-such-flag', 'x'] });
    assert.equal(run.code, 1, run.logs);
    assert.match(run.logs, /unknown flag: --no-such-flag/);
  });

  it('exits 1 naming the file, component, field and rule for an unknown component type', async () => {
    const dir = await makeResourcesDir([component('statestore', 'state.nosuchdb')]);
    dirs.push(dir);
    const run = await runSidecarToExit({ appId: 'badtype', resourcesPaths: [dir] });
    assert.equal(run.code, 1, run.logs);
    assert.match(
      run.logs,
      /resources\.yaml: Component\/statestore: field \\?"spec\.type\\?": unknown component type \\?"state\.nosuchdb\\?"/,
    );
  });

  it('reports every bad metadata value at once', async () => {
    const dir = await makeResourcesDir([
      component('one', 'state.in-memory', { cleanupInterval: 'often' }),
      component('two', 'secretstores.local.file', {}),
    ]);
    dirs.push(dir);
    const run = await runSidecarToExit({ appId: 'badmeta', resourcesPaths: [dir] });
    assert.equal(run.code, 1, run.logs);
    assert.match(run.logs, /Component\/one: field \\?"cleanupInterval\\?": must be a duration/);
    assert.match(run.logs, /Component\/two: field \\?"secretsFile\\?": is required/);
  });

  it('logs JSON lines with daprd keys under --log-as-json', async () => {
    const run = await runSidecarToExit({
      appId: 'jsonlog',
      args: ['--log-as-json', '--resources-path', '/nonexistent/outrigger'],
    });
    assert.equal(run.code, 1, run.logs);
    const lines = run.logs.split('\n').filter((l) => l.startsWith('{'));
    assert.ok(lines.length > 0, run.logs);
    for (const line of lines) {
      const rec = JSON.parse(line) as Record<string, unknown>;
      for (const key of ['time', 'level', 'msg', 'scope', 'app_id', 'instance', 'type', 'ver'])
        assert.ok(key in rec, `${key} missing in ${line}`);
      assert.equal(rec.app_id, 'jsonlog');
      assert.equal(rec.type, 'log');
    }
    assert.ok(
      lines.some((l) => /"level":"error".*\/nonexistent\/outrigger/.test(l)),
      run.logs,
    );
  });
});

describe('outriggerd --help', () => {
  let help = '';
  before(async () => {
    const run = await runSidecarToExit({ appId: 'help', args: ['--help'] });
    assert.equal(run.code, 0, run.logs);
    help = run.logs;
  });
  it('lists daprd flags with defaults', () => {
    assert.match(help, /--dapr-http-port int/);
    assert.match(help, /default "3500"/);
    assert.match(help, /--resources-path strings/);
  });
});
