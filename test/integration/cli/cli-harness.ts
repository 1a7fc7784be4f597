/**
 * Helpers for the `outrigger` CLI integration tests: the compiled CLI entry, the repository root,
 * one-shot CLI runs, long-running `outrigger run` processes, and a temp `OUTRIGGER_HOME` per test.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RunEntry } from '../../../sidecar/cli/registry.js';
import { processAlive } from '../../../sidecar/runtime/process-alive.js';
import {
  type CommandResult,
  freePort,
  ManagedProcess,
  makeTempDir,
  removeTempDir,
  runCommand,
  waitUntil,
} from '../../env/process.js';

/** The compiled CLI entry, located next to this file in the same build output. */
export const CLI_ENTRY = fileURLToPath(new URL('../../../sidecar/cli/main.js', import.meta.url));

/** The repository root (nearest folder above the build output with outrigger's package.json). */
export function repoRoot(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'outrigger')
      return dir;
    if (dirname(dir) === dir) throw new Error('no outrigger package.json above the test build');
  }
}

/** The example app's path. */
export function exampleApp(): string {
  return join(repoRoot(), 'examples', 'order-app', 'app.mjs');
}

/** Environment for CLI processes: this process's env with OUTRIGGER_HOME set to `home`. */
export function cliEnv(home: string): NodeJS.ProcessEnv {
  return { ...process.env, OUTRIGGER_HOME: home };
}

/** Runs the CLI to completion (never throws on a non-zero status). */
export async function runCli(
  args: readonly string[],
  home: string,
  timeoutMs = 120_000,
): Promise<CommandResult> {
  return await runCommand(process.execPath, [CLI_ENTRY, ...args], {
    env: cliEnv(home),
    cwd: repoRoot(),
    allowFailure: true,
    timeoutMs,
  });
}

/** A temp OUTRIGGER_HOME removed in `cleanup`. */
export async function tempHome(): Promise<{ home: string; cleanup: () => Promise<void> }> {
  const home = await makeTempDir('cli-home');
  return { home, cleanup: () => removeTempDir(home) };
}

/** Starts a long-running `outrigger run ...` whose output goes to `<home>/<name>.log`. */
export async function startCli(
  args: readonly string[],
  home: string,
  name = 'outrigger-run',
  extraEnv: NodeJS.ProcessEnv = {},
): Promise<ManagedProcess> {
  return await ManagedProcess.start({
    name,
    command: process.execPath,
    args: [CLI_ENTRY, ...args],
    logFile: join(home, `${name}.log`),
    cwd: repoRoot(),
    env: { ...cliEnv(home), ...extraEnv },
  });
}

/** Reads `outrigger list --output json`. */
export async function listJson(home: string): Promise<RunEntry[]> {
  const res = await runCli(['list', '--output', 'json'], home);
  if (res.code !== 0) throw new Error(`outrigger list failed (${res.code}): ${res.stderr}`);
  return JSON.parse(res.stdout) as RunEntry[];
}

/** A listed run whose sidecar and app have both been started. */
export type StartedEntry = RunEntry & { readonly sidecarPid: number; readonly appPid: number };

/** Waits until `outrigger list` shows `appId` with its sidecar and app started; returns the entry. */
export async function waitForListed(home: string, appId: string, cli: ManagedProcess): Promise<StartedEntry> {
  let found: StartedEntry | undefined;
  await waitUntil(
    `"${appId}" to appear in outrigger list with sidecar and app pids`,
    async () => {
      const entry = (await listJson(home)).find((e) => e.appId === appId);
      if (entry?.sidecarPid !== undefined && entry.appPid !== undefined) {
        found = { ...entry, sidecarPid: entry.sidecarPid, appPid: entry.appPid };
      }
      return found !== undefined;
    },
    90_000,
    { process: cli, intervalMs: 250 },
  );
  return found as StartedEntry;
}

/** True while a process with this PID exists. */
export const pidAlive = processAlive;

/** Teardown safety net: SIGKILL any of these PIDs still alive (by PID, never by name). */
export function killLeftovers(pids: readonly (number | undefined)[]): void {
  for (const pid of pids) {
    if (pid !== undefined && pidAlive(pid)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone meanwhile
      }
    }
  }
}

/** Waits until none of the PIDs exists any more. */
export async function waitForPidsGone(pids: readonly number[], description: string): Promise<void> {
  await waitUntil(description, async () => pids.every((p) => !pidAlive(p)), 30_000, { intervalMs: 100 });
}

/**
 * Source of a small long-running app for `node -e`: writes the env it was given to `$OUTRIGGER_HOME/app-env.json` and
 * serves HTTP on `$APP_PORT` until it gets SIGTERM/SIGINT.
 */
export const SERVING_APP = `
const fs = require('node:fs');
const http = require('node:http');
const keys = ['APP_ID', 'APP_PORT', 'DAPR_HTTP_PORT', 'DAPR_GRPC_PORT', 'APP_PROTOCOL'];
fs.writeFileSync(require('node:path').join(process.env.OUTRIGGER_HOME, 'app-env.json'), JSON.stringify(Object.fromEntries(keys.map((k) => [k, process.env[k]]))));
const server = http.createServer((req, res) => res.end('ok'));
server.listen(Number(process.env.APP_PORT), '127.0.0.1', () => console.log('serving app up'));
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => { console.log('serving app got ' + sig); server.close(); process.exit(0); });
`;

/**
 * Starts `outrigger run --app-id <appId> --app-port <free> -- node -e SERVING_APP`, ends it (and any
 * leftover sidecar or app process) in the test's teardown, and waits until it is listed and the app
 * listens. The app's signal handlers are installed before it listens.
 */
export async function startServingApp(
  t: { after(fn: () => unknown): void },
  home: string,
  appId: string,
): Promise<{ cli: ManagedProcess; entry: StartedEntry; appPort: number }> {
  const appPort = await freePort();
  const cli = await startCli(
    ['run', '--app-id', appId, '--app-port', String(appPort), '--', process.execPath, '-e', SERVING_APP],
    home,
  );
  let pids: (number | undefined)[] = [cli.pid];
  t.after(async () => {
    await cli.stop();
    killLeftovers(pids);
  });
  const entry = await waitForListed(home, appId, cli);
  pids = [cli.pid, entry.sidecarPid, entry.appPid];
  // The app's own output line (prefixed: the echoed command contains the same words), not just an
  // open port: another test's process may hold a port that freePort() handed out, and the app
  // would then have died of EADDRINUSE behind it.
  await waitUntil(
    'the app to print "serving app up"',
    async () => cli.tail(200).includes(`== APP - ${appId} == serving app up`),
    30_000,
    {
      process: cli,
    },
  );
  for (const [role, pid] of [
    ['sidecar', entry.sidecarPid],
    ['app', entry.appPid],
  ] as const) {
    if (!pidAlive(pid))
      throw new Error(`the ${role} (pid ${pid}) exited during start-up; log ${cli.logFile}:\n${cli.tail()}`);
  }
  return { cli, entry, appPort };
}
