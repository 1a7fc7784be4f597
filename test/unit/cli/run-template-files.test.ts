import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { parseEnvFile } from '../../../sidecar/cli/env-file.js';
import { logFileName, logsDir, logTimestamp } from '../../../sidecar/cli/log-file.js';
import { resolveTemplatePath, TemplateError } from '../../../sidecar/cli/run-template-path.js';

const root = mkdtempSync(join(tmpdir(), 'run-template-files-'));
after(() => rmSync(root, { recursive: true, force: true }));

function problem(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof TemplateError);
    return err.problems.join('\n');
  }
  assert.fail('expected a TemplateError');
}

test('-f <dir> means <dir>/dapr.yaml; -f <file> takes .yaml or .yml, relative to the cwd; -f - is <cwd>/-', () => {
  const dir = join(root, 'app');
  mkdirSync(dir);
  writeFileSync(join(dir, 'dapr.yaml'), 'version: 1');
  writeFileSync(join(dir, 'other.yml'), 'version: 1');
  writeFileSync(join(dir, 'notes.txt'), '');
  assert.equal(resolveTemplatePath('.', dir), join(dir, 'dapr.yaml'));
  assert.equal(resolveTemplatePath('app', root), join(dir, 'dapr.yaml'));
  assert.equal(resolveTemplatePath('./app/other.yml', root), join(dir, 'other.yml'));
  assert.match(
    problem(() => resolveTemplatePath('app/notes.txt', root)),
    /file "app\/notes.txt" is not a YAML file/,
  );
  assert.match(
    problem(() => resolveTemplatePath('nowhere', root)),
    /run template "nowhere" not found/,
  );
  const empty = join(root, 'empty');
  mkdirSync(empty);
  assert.match(
    problem(() => resolveTemplatePath(empty, root)),
    /no dapr.yaml in directory/,
  );
  assert.equal(resolveTemplatePath('-', root), join(root, '-'), 'stdin: known as <cwd>/-, as dapr');
});

test('log files are named <appID>_<app|daprd>_<YYYYMMDDhhmmss>.log under <appDirPath>/.dapr/logs', () => {
  const when = new Date(2026, 0, 2, 3, 4, 5);
  assert.equal(logTimestamp(when), '20260102030405');
  assert.equal(logFileName('checkout', 'app', when), 'checkout_app_20260102030405.log');
  assert.equal(logFileName('checkout', 'daprd', when), 'checkout_daprd_20260102030405.log');
  assert.equal(logsDir('/srv/checkout'), join('/srv/checkout', '.dapr', 'logs'));
});

test('.env files: export, quotes, escapes, comments, and bad lines by number', () => {
  const { env, badLines } = parseEnvFile(
    [
      '# a comment',
      'PLAIN=value # trailing comment',
      'export EXPORTED=1',
      "SINGLE='a \\n b'",
      'DOUBLE="line\\nnext \\"q\\""',
      'EMPTY=',
      'not a pair',
      '',
    ].join('\n'),
  );
  assert.deepEqual(env, {
    PLAIN: 'value',
    EXPORTED: '1',
    SINGLE: 'a \\n b',
    DOUBLE: 'line\nnext "q"',
    EMPTY: '',
  });
  assert.deepEqual(badLines, [7]);
});
