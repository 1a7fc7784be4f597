import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { cp, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { freePort, waitUntil } from '../../env/process.js';
import {
  killLeftovers,
  listJson,
  pidAlive,
  repoRoot,
  runCli,
  startCli,
  tempHome,
  waitForListed,
  waitForPidsGone,
} from './cli-harness.js';

const ORDERS = 5;

function count(text: string, needle: string): number {
  return text.split('\n').filter((line) => line.includes(needle)).length;
}

/** The one log file in `dir` whose name matches `pattern`. */
async function logFile(dir: string, pattern: RegExp): Promise<string> {
  const names = (await readdir(dir)).filter((n) => pattern.test(n));
  assert.equal(names.length, 1, `one file like ${pattern} in ${dir}, found ${names.join(', ')}`);
  return join(dir, names[0] as string);
}

test('outrigger run -f <dir> runs the service-invocation example; list shows both apps; stop -f stops them all', async (t) => {
  const { home, cleanup } = await tempHome();
  t.after(cleanup);
  // A copy, so the apps' .dapr/logs land in the temp folder, with a free port for order-processor.
  const dir = join(home, 'service-invocation');
  await cp(join(repoRoot(), 'examples', 'service-invocation'), dir, {
    recursive: true,
    filter: (src) => !src.includes('.dapr'),
  });
  const template = join(dir, 'dapr.yaml');
  const appPort = await freePort();
  const yaml = await readFile(template, 'utf8');
  assert.match(yaml, /appPort: 6001/);
  await writeFile(template, yaml.replace('appPort: 6001', `appPort: ${appPort}`));

  const cli = await startCli(['run', '-f', dir], home, 'run-file', {
    ORDER_COUNT: String(ORDERS),
    ORDER_INTERVAL_MS: '100',
  });
  let pids: (number | undefined)[] = [cli.pid];
  t.after(async () => {
    await cli.stop();
    killLeftovers(pids);
  });
  const processor = await waitForListed(home, 'order-processor', cli);
  const checkout = await waitForListed(home, 'checkout', cli);
  pids = [cli.pid, processor.sidecarPid, processor.appPid, checkout.sidecarPid, checkout.appPid];

  // outrigger list: both apps, one CLI, the template's path (dapr list's RUN_TEMPLATE_PATH).
  const entries = await listJson(home);
  assert.deepEqual(
    entries.map((e) => [e.appId, e.cliPid, e.runTemplatePath, e.appPort, e.command]),
    [
      ['checkout', cli.pid, template, undefined, 'node index.js'],
      ['order-processor', cli.pid, template, appPort, 'node index.js'],
    ],
  );
  const table = await runCli(['list'], home);
  assert.equal(table.code, 0, table.stderr);
  const [header, ...rows] = table.stdout.trim().split('\n');
  assert.match(
    header ?? '',
    /^APP ID\s+HTTP PORT\s+GRPC PORT\s+APP PORT\s+COMMAND\s+AGE\s+PID\s+RUN_TEMPLATE_PATH$/,
  );
  assert.equal(rows.length, 2);
  for (const row of rows) assert.ok(row.endsWith(`${cli.pid}  ${template}`), row);

  // checkout calls order-processor through the sidecars, ORDERS times.
  await waitUntil(
    `checkout to pass ${ORDERS} orders`,
    async () => cli.tail(400).includes('== APP - checkout == checkout done'),
    90_000,
    { process: cli },
  );
  const output = readFileSync(cli.logFile, 'utf8');
  for (let id = 1; id <= ORDERS; id++) {
    assert.ok(
      output.includes(`== APP - order-processor == Order received: {"orderId":${id}}\n`),
      `received ${id}`,
    );
    assert.ok(output.includes(`== APP - checkout == Order passed: {"orderId":${id}}\n`), `passed ${id}`);
  }
  assert.equal(count(output, '== APP - checkout == Order passed: '), ORDERS);
  assert.equal(count(output, '== APP - order-processor == Order received: '), ORDERS);
  assert.ok(output.includes(`== APP - checkout == checkout done: ${ORDERS} of ${ORDERS} orders passed`));
  // daprdLogDestination defaults to file: no sidecar lines on the console.
  assert.ok(!output.includes('== OUTRIGGERD - '), 'sidecar output goes to its log file only');

  // An app that exits leaves the others running, as with dapr run -f.
  await waitForPidsGone([checkout.appPid], 'checkout to exit after its orders');
  await waitUntil(
    'the CLI to report the exit',
    async () => cli.tail(400).includes('app "checkout" exited with status 0'),
    10_000,
  );
  assert.ok(pidAlive(processor.appPid) && pidAlive(processor.sidecarPid) && pidAlive(checkout.sidecarPid));
  assert.ok(cli.running);

  // Log files as dapr names them, under each appDirPath; app lines carry the same prefix there.
  const checkoutLogs = join(dir, 'checkout', '.dapr', 'logs');
  const processorLogs = join(dir, 'order-processor', '.dapr', 'logs');
  const checkoutApp = await logFile(checkoutLogs, /^checkout_app_\d{14}\.log$/);
  const checkoutDaprd = await logFile(checkoutLogs, /^checkout_daprd_\d{14}\.log$/);
  const processorApp = await logFile(processorLogs, /^order-processor_app_\d{14}\.log$/);
  const processorDaprd = await logFile(processorLogs, /^order-processor_daprd_\d{14}\.log$/);
  assert.equal(count(await readFile(checkoutApp, 'utf8'), '== APP - checkout == Order passed: '), ORDERS);
  await waitUntil(
    'order-processor log file to hold every order',
    async () =>
      count(await readFile(processorApp, 'utf8'), '== APP - order-processor == Order received: ') === ORDERS,
    10_000,
  );
  for (const daprd of [checkoutDaprd, processorDaprd])
    assert.ok((await readFile(daprd, 'utf8')).length > 0, daprd);
  const listed = await listJson(home);
  assert.deepEqual(
    listed.map((e) => [e.appId, e.appLogPath, e.daprdLogPath]),
    [
      ['checkout', checkoutApp, checkoutDaprd],
      ['order-processor', processorApp, processorDaprd],
    ],
  );
  // No resources in the template: the apps got the CLI's defaults, as plain outrigger run.
  assert.ok(existsSync(join(home, 'components', 'statestore.yaml')));

  const stop = await runCli(['stop', '-f', dir], home);
  assert.equal(stop.code, 0, `${stop.stdout}\n${stop.stderr}`);
  assert.match(stop.stdout, /app "checkout" stopped\n.*app "order-processor" stopped/s);
  const exit = await cli.exited;
  assert.equal(exit.code, 0, cli.tail());
  await waitForPidsGone(
    [processor.sidecarPid, processor.appPid, checkout.sidecarPid],
    'every app and sidecar of the template to be gone after stop -f',
  );
  assert.match(readFileSync(cli.logFile, 'utf8'), /== APP - order-processor == order-processor got SIGTERM/);
  assert.deepEqual(await listJson(home), []);
  assert.deepEqual(
    (await readdir(join(home, 'run'))).filter((n) => n.endsWith('.json')),
    [],
  );
});
