/**
 * `outrigger stop`: by app id, or every app of a run template (`-f`), like `dapr stop`
 * (dapr/cli pkg/standalone/stop.go). A run's CLI process gets SIGTERM and stops its apps, then
 * its sidecars, gracefully. An app id whose CLI also runs other apps of a template gets only its
 * own app and sidecar stopped, as dapr stops only that app's daprd then.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { processAlive } from '../runtime/process-alive.js';
import { resolveHome } from './home.js';
import { findEntry, listEntries, type RunEntry, signalChildren } from './registry.js';
import type { CliContext } from './run-command.js';
import { resolveTemplatePath, TemplateError } from './run-template-path.js';

/** How long `outrigger stop` waits for a run to wind down before reporting. */
const STOP_WAIT_MS = 30_000;

/** Waits until none of `pids` exists; true when they are all gone in time. */
async function waitGone(pids: readonly number[]): Promise<boolean> {
  const deadline = Date.now() + STOP_WAIT_MS;
  while (pids.some(processAlive) && Date.now() < deadline) await sleep(100);
  return !pids.some(processAlive);
}

function signalCli(pid: number, ctx: CliContext): boolean {
  try {
    process.kill(pid, 'SIGTERM');
    return true;
  } catch (err) {
    ctx.stderr.write(`outrigger: error: could not signal pid ${pid}: ${(err as Error).message}\n`);
    return false;
  }
}

/** Stops one app of a multi-app run, leaving the others (and their CLI) running. */
async function stopOneOfMany(entry: RunEntry, ctx: CliContext): Promise<boolean> {
  await signalChildren(entry, 'SIGTERM');
  const pids = [entry.appPid, entry.sidecarPid].filter((p) => p !== undefined);
  if (await waitGone(pids)) return true;
  ctx.stderr.write(
    `outrigger: error: app "${entry.appId}" is still stopping after ${STOP_WAIT_MS / 1000}s\n`,
  );
  return false;
}

/**
 * Runs `outrigger stop --app-id X...`: SIGTERM to each run's CLI process, which stops the app and
 * then the sidecar gracefully, and waits until that CLI process is gone.
 */
export async function stopApps(appIds: readonly string[], ctx: CliContext): Promise<number> {
  const home = resolveHome(ctx.env);
  let status = 0;
  for (const appId of appIds) {
    const entry = await findEntry(home.runDir, appId);
    if (entry === undefined) {
      ctx.stderr.write(`outrigger: error: no running app with id "${appId}"\n`);
      status = 1;
      continue;
    }
    const siblings = (await listEntries(home.runDir)).filter((e) => e.cliPid === entry.cliPid);
    if (siblings.length > 1) {
      if (await stopOneOfMany(entry, ctx)) ctx.stdout.write(`outrigger: app "${appId}" stopped\n`);
      else status = 1;
      continue;
    }
    if (!signalCli(entry.cliPid, ctx)) {
      status = 1;
      continue;
    }
    if (await waitGone([entry.cliPid])) {
      ctx.stdout.write(`outrigger: app "${appId}" stopped\n`);
    } else {
      ctx.stderr.write(
        `outrigger: error: app "${appId}" (pid ${entry.cliPid}) is still stopping after ${STOP_WAIT_MS / 1000}s\n`,
      );
      status = 1;
    }
  }
  return status;
}

/**
 * Runs `outrigger stop -f <dir|file>`: finds the apps whose registry entry names this template
 * (its absolute path, as dapr matches RunTemplatePath), sends SIGTERM to the `outrigger run -f`
 * process that started them, and waits until it, and so every app and sidecar, is gone.
 */
export async function stopTemplate(arg: string, ctx: CliContext): Promise<number> {
  let path: string;
  try {
    path = resolveTemplatePath(arg, ctx.cwd);
  } catch (err) {
    if (!(err instanceof TemplateError)) throw err;
    for (const p of err.problems) ctx.stderr.write(`outrigger: error: ${p}\n`);
    return 1;
  }
  const entries = (await listEntries(resolveHome(ctx.env).runDir)).filter((e) => e.runTemplatePath === path);
  if (entries.length === 0) {
    ctx.stderr.write(`outrigger: error: no apps started from run template ${path} are running\n`);
    return 1;
  }
  const cliPids = [...new Set(entries.map((e) => e.cliPid))];
  const signalled = cliPids.filter((pid) => signalCli(pid, ctx));
  // Each CLI exits only after it has stopped its apps and sidecars.
  if (!(await waitGone(signalled))) {
    ctx.stderr.write(`outrigger: error: apps of ${path} are still stopping after ${STOP_WAIT_MS / 1000}s\n`);
    return 1;
  }
  for (const e of entries) ctx.stdout.write(`outrigger: app "${e.appId}" stopped\n`);
  ctx.stdout.write(`outrigger: outriggerd and app processes of ${path} stopped\n`);
  return signalled.length === cliPids.length ? 0 : 1;
}
