/**
 * The registry of running apps: one JSON file per `outrigger run`, `<home>/run/<app-id>.json`,
 * removed when the run ends. Entries whose CLI process is gone are stale and removed on listing.
 */
import { readFileSync, rmSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { processAlive } from '../runtime/process-alive.js';

/** One running app, as `outrigger list --output json` prints it. */
export interface RunEntry {
  readonly appId: string;
  readonly httpPort: number;
  readonly grpcPort: number;
  readonly metricsPort: number;
  /** Undefined when the app listens on no port. */
  readonly appPort?: number;
  /** PID of the `outrigger run` process; `outrigger stop` signals it. */
  readonly cliPid: number;
  /** Undefined until the sidecar has been started. */
  readonly sidecarPid?: number;
  /** Undefined until the app has been started. */
  readonly appPid?: number;
  /** The app command line, space-joined. */
  readonly command: string;
  /** ISO-8601 start time. */
  readonly started: string;
  /** Absolute path of the run template (`outrigger run -f`), as dapr list's RUN_TEMPLATE_PATH. */
  readonly runTemplatePath?: string;
  /** The template's `name`, when it has one. */
  readonly runTemplateName?: string;
  /** The app's log file, when its output goes to a file (`outrigger run -f`). */
  readonly appLogPath?: string;
  /** The sidecar's log file, when its output goes to a file (`outrigger run -f`). */
  readonly daprdLogPath?: string;
}

function entryPath(runDir: string, appId: string): string {
  return join(runDir, `${appId}.json`);
}

/** Writes (or rewrites) an entry. */
export async function writeEntry(runDir: string, entry: RunEntry): Promise<void> {
  await mkdir(runDir, { recursive: true });
  const tmp = `${entryPath(runDir, entry.appId)}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify(entry, null, 2)}\n`);
  await rename(tmp, entryPath(runDir, entry.appId));
}

/**
 * Claims `entry.appId` for this run: creates its file exclusively, so two runs started at once
 * cannot both take the same id. A stale file (its CLI is gone) is replaced. Returns the live
 * entry that holds the id instead, or undefined when the claim succeeded.
 */
export async function claimEntry(runDir: string, entry: RunEntry): Promise<RunEntry | undefined> {
  await mkdir(runDir, { recursive: true });
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await writeFile(entryPath(runDir, entry.appId), `${JSON.stringify(entry, null, 2)}\n`, { flag: 'wx' });
      return undefined;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    // findEntry removes the file when its owner is dead; then the second attempt can claim it.
    const holder = await findEntry(runDir, entry.appId);
    if (holder !== undefined) return holder;
  }
  return await readEntry(runDir, entry.appId);
}

/** Removes an entry, but only if it still belongs to `cliPid` (a newer run may have replaced it). */
export async function removeEntry(runDir: string, appId: string, cliPid: number): Promise<void> {
  const entry = await readEntry(runDir, appId);
  if (entry !== undefined && entry.cliPid !== cliPid) return;
  await rm(entryPath(runDir, appId), { force: true });
}

/** Synchronous removal for `process.on('exit')`, where nothing async runs any more. */
export function removeEntrySync(runDir: string, appId: string, cliPid: number): void {
  try {
    const entry = JSON.parse(readFileSync(entryPath(runDir, appId), 'utf8')) as RunEntry;
    if (entry.cliPid === cliPid) rmSync(entryPath(runDir, appId), { force: true });
  } catch {
    // already gone or unreadable
  }
}

async function readEntry(runDir: string, appId: string): Promise<RunEntry | undefined> {
  try {
    return JSON.parse(await readFile(entryPath(runDir, appId), 'utf8')) as RunEntry;
  } catch {
    return undefined;
  }
}

/** A process's argv from /proc (Linux), or undefined when it cannot be read. */
async function procArgv(pid: number): Promise<string[] | undefined> {
  try {
    const raw = await readFile(`/proc/${pid}/cmdline`, 'utf8');
    return raw.split('\0').filter((part) => part !== '');
  } catch {
    return undefined;
  }
}

/**
 * Sends `sig` to an entry's app, then its sidecar. A PID is only signalled when /proc shows it is
 * still the same process: the sidecar's argv carries `--app-id <id>`, the app's argv is the
 * recorded command. A reused PID is never touched.
 */
export async function signalChildren(entry: RunEntry, sig: NodeJS.Signals): Promise<void> {
  if (entry.appPid !== undefined) {
    const argv = await procArgv(entry.appPid);
    if (argv !== undefined && argv.join(' ') === entry.command) signal(entry.appPid, sig);
  }
  if (entry.sidecarPid !== undefined) {
    const argv = await procArgv(entry.sidecarPid);
    const at = argv?.indexOf('--app-id') ?? -1;
    if (argv !== undefined && at >= 0 && argv[at + 1] === entry.appId) signal(entry.sidecarPid, sig);
  }
}

/** Ends what a dead CLI left behind (it was SIGKILLed, so it could not stop its children). */
async function reapOrphans(entry: RunEntry): Promise<void> {
  await signalChildren(entry, 'SIGTERM');
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // gone meanwhile
  }
}

/**
 * The live entry for `appId`. An entry whose CLI process is gone is stale: its orphaned sidecar
 * and app (if still the same processes) get SIGTERM, and the file is removed.
 */
export async function findEntry(runDir: string, appId: string): Promise<RunEntry | undefined> {
  const entry = await readEntry(runDir, appId);
  if (entry === undefined) return undefined;
  if (!processAlive(entry.cliPid)) {
    await reapOrphans(entry);
    await rm(entryPath(runDir, appId), { force: true });
    return undefined;
  }
  return entry;
}

/** Every live entry, sorted by app id; stale entries (dead CLI pid) are deleted on the way. */
export async function listEntries(runDir: string): Promise<RunEntry[]> {
  let names: string[];
  try {
    names = await readdir(runDir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const out: RunEntry[] = [];
  for (const name of names) {
    if (!name.endsWith('.json')) continue;
    const entry = await findEntry(runDir, name.slice(0, -'.json'.length));
    if (entry !== undefined) out.push(entry);
  }
  return out.sort((a, b) => a.appId.localeCompare(b.appId));
}
