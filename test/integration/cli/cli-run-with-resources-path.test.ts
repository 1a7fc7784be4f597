import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { freePort, runCommand } from '../../env/process.js';
import { cliEnv, repoRoot, runCli, tempHome } from './cli-harness.js';

// Reads a secret and writes/reads state through the sidecar the CLI started, printing what it got.
const PROBE_APP = `
const base = 'http://127.0.0.1:' + process.env.DAPR_HTTP_PORT + '/v1.0';
(async () => {
  console.log('port ' + process.env.DAPR_HTTP_PORT);
  const secret = await fetch(base + '/secrets/localsecrets/db:password');
  console.log('secret ' + secret.status + ' ' + (await secret.text()));
  const save = await fetch(base + '/state/statestore', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify([{ key: 'k', value: 'v' }]) });
  const got = await fetch(base + '/state/statestore/k');
  console.log('state ' + save.status + ' ' + got.status + ' ' + (await got.text()));
})().catch((err) => { console.error(err); process.exit(1); });
`;

test('outrigger run --resources-path and --dapr-http-port are honoured, and no embedded defaults are written', async (t) => {
  const { home, cleanup } = await tempHome();
  t.after(cleanup);
  const resources = join(home, 'my-resources');
  await mkdir(resources, { recursive: true });
  await writeFile(join(resources, 'secrets.json'), JSON.stringify({ db: { password: 's3cret' } }));
  await writeFile(
    join(resources, 'components.yaml'),
    [
      'apiVersion: dapr.io/v1alpha1',
      'kind: Component',
      'metadata:',
      '  name: statestore',
      'spec:',
      '  type: state.in-memory',
      '  version: v1',
      '---',
      'apiVersion: dapr.io/v1alpha1',
      'kind: Component',
      'metadata:',
      '  name: localsecrets',
      'spec:',
      '  type: secretstores.local.file',
      '  version: v1',
      '  metadata:',
      '  - name: secretsFile',
      `    value: ${JSON.stringify(join(resources, 'secrets.json'))}`,
      '',
    ].join('\n'),
  );
  const httpPort = await freePort();
  const res = await runCli(
    [
      'run',
      '--app-id',
      'probe',
      '--dapr-http-port',
      String(httpPort),
      '--resources-path',
      resources,
      '--',
      process.execPath,
      '-e',
      PROBE_APP,
    ],
    home,
  );
  assert.equal(res.code, 0, `${res.stdout}\n${res.stderr}`);
  assert.match(res.stdout, new RegExp(`== APP - probe == port ${httpPort}\n`));
  assert.match(res.stdout, /== APP - probe == secret 200 \{"db:password":"s3cret"\}/);
  assert.match(res.stdout, /== APP - probe == state 204 200 "v"/);
  assert.equal(existsSync(join(home, 'components')), false, 'no embedded defaults were written');
});

test('the npm start runner (run-example) runs the order app under outrigger and exits 0', async (t) => {
  const { home, cleanup } = await tempHome();
  t.after(cleanup);
  const runner = fileURLToPath(new URL('../../../examples/run-example.js', import.meta.url));
  const res = await runCommand(process.execPath, [runner], {
    env: cliEnv(home),
    cwd: repoRoot(),
    allowFailure: true,
    timeoutMs: 120_000,
  });
  assert.equal(res.code, 0, `${res.stdout}\n${res.stderr}`);
  assert.match(res.stdout, /== APP - order-app == order-app: all steps done/);
  assert.ok(existsSync(join(home, 'data', 'state.db')));
});
