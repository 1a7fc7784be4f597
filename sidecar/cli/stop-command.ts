import { setTimeout as sleep } from 'node:timers/promises';
import { processAlive } from '../runtime/process-alive.js';
import { resolveHome } from './home.js';
import { findEntry } from './registry.js';
import type { CliContext } from './run-command.js';

/** How long `outrigger stop` waits for a run to wind down before reporting. */
const STOP_WAIT_MS = 30_000;

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
    try {
      process.kill(entry.cliPid, 'SIGTERM');
    } catch (err) {
      ctx.stderr.write(`outrigger: error: could not signal pid ${entry.cliPid}: ${(err as Error).message}\n`);
      status = 1;
      continue;
    }
    const deadline = Date.now() + STOP_WAIT_MS;
    while (processAlive(entry.cliPid) && Date.now() < deadline) await sleep(100);
    if (processAlive(entry.cliPid)) {
      ctx.stderr.write(
        `outrigger: error: app "${appId}" (pid ${entry.cliPid}) is still stopping after ${STOP_WAIT_MS / 1000}s\n`,
      );
      status = 1;
    } else {
      ctx.stdout.write(`outrigger: app "${appId}" stopped\n`);
    }
  }
  return status;
}
