/**
 * Process helpers shared by every test service (Kafka, Redis, PostgreSQL, NATS, the Kubernetes
 * control plane): free ports, temp dirs, one-shot commands, and long-running processes that log to
 * a file and are stopped by their own PID — never by name.
 */
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createConnection, createServer } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { processAlive } from '../../sidecar/runtime/process-alive.js';

/**
 * Where test ports come from: below the kernel's ephemeral range (32768–60999 by default), so an
 * outgoing connection cannot take a port between the moment it is picked and the moment its
 * server binds it, and well above the well-known ports. The kernel's own port-0 choice comes from
 * the ephemeral range, where the tests' thousands of outgoing connections also take theirs.
 */
const PORT_RANGE = { low: 20_000, high: 32_000 };

/** One file per port handed out, holding the pid of the test process that took it. */
const RESERVATIONS = join(tmpdir(), 'outrigger-test-ports');

/**
 * Reserves `port` for this process among every test process on the machine: the test files run
 * side by side (and CI may run beside a developer's run), and two of them once picked the same
 * port between its check and its bind. A reservation whose process has ended is taken over.
 */
function reserve(port: number): boolean {
  const file = join(RESERVATIONS, String(port));
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(file, String(process.pid), { flag: 'wx' });
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const owner = Number(readFileSync(file, 'utf8'));
      if (owner === process.pid || (Number.isInteger(owner) && owner > 0 && processAlive(owner)))
        return false;
      rmSync(file, { force: true });
    }
  }
  return false;
}

/**
 * A port that is free right now and no other test process holds: a random one from PORT_RANGE,
 * reserved (see `reserve`), then checked by listening on it and closing again. Never the same
 * port twice in one process.
 */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  mkdirSync(RESERVATIONS, { recursive: true });
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = PORT_RANGE.low + Math.floor(Math.random() * (PORT_RANGE.high - PORT_RANGE.low));
    if (!reserve(port)) continue;
    // Servers here listen on 127.0.0.1 or on every address; either conflicts with what holds the port.
    if ((await canListen(host, port)) && (await canListen('::', port))) return port;
  }
  throw new Error(`no free port in ${PORT_RANGE.low}-${PORT_RANGE.high} after 200 tries`);
}

function canListen(host: string, port: number): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const server = createServer();
    server.unref();
    // Only a port in use counts: a machine without IPv6 cannot check '::', and needs not to.
    server.once('error', (err: NodeJS.ErrnoException) =>
      resolve(err.code !== 'EADDRINUSE' && err.code !== 'EACCES'),
    );
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** A progress sink: provisioning prints one line per step through it. */
export type Progress = (line: string) => void;

/**
 * Cache folder for a provisioned tool, `<root>/<name>-<version>`. The root is
 * `$OUTRIGGER_TESTBIN` when set, else `~/.cache/outrigger-testbin`.
 */
export function testbinDir(name: string, version: string): string {
  const root = process.env.OUTRIGGER_TESTBIN ?? join(homedir(), '.cache', 'outrigger-testbin');
  return join(root, `${name}-${version}`);
}

/** Creates a fresh directory under the OS temp dir, named `outrigger-<prefix>-XXXXXX`. */
export async function makeTempDir(prefix: string): Promise<string> {
  return await mkdtemp(join(tmpdir(), `outrigger-${prefix}-`));
}

/** Removes a directory tree made by `makeTempDir` (missing is fine). */
export async function removeTempDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true, maxRetries: 3 });
}

/** Returns the last `lines` lines of a (log) file, or '' when it cannot be read. */
export function tailFile(path: string, lines = 40): string {
  try {
    const all = readFileSync(path, 'utf8').split('\n');
    return all.slice(-lines - 1).join('\n');
  } catch {
    return '';
  }
}

/** Options for `ManagedProcess.start`. */
export interface ManagedProcessOptions {
  /** Short name used in error messages, e.g. `kafka`. */
  readonly name: string;
  /** Executable (absolute path or found on PATH). */
  readonly command: string;
  /** Arguments, passed without a shell. */
  readonly args?: readonly string[];
  /** stdout and stderr are appended to this file. */
  readonly logFile: string;
  /** Working directory. */
  readonly cwd?: string;
  /** Full environment (defaults to this process's environment). */
  readonly env?: NodeJS.ProcessEnv;
  /** Run as this uid/gid (needs root); used for postgres, which refuses to run as root. */
  readonly uid?: number;
  /** Group id paired with `uid`. */
  readonly gid?: number;
}

/** How a managed process ended. */
export interface ProcessExit {
  /** Exit code, or null when a signal ended it. */
  readonly code: number | null;
  /** Signal that ended it, or null. */
  readonly signal: NodeJS.Signals | null;
}

// Safety net only: if the test process exits without running its teardown, the services it started
// are killed by their own PIDs so they do not outlive the run. Teardown must still call stop().
const live = new Set<number>();
let exitHookInstalled = false;
function trackForExit(pid: number): void {
  live.add(pid);
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const p of live) {
      try {
        process.kill(p, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  });
}

/** A long-running child process with its output in a log file, tracked and stopped by PID. */
export class ManagedProcess {
  /** Short name from the options. */
  readonly name: string;
  /** OS process id. */
  readonly pid: number;
  /** File receiving stdout and stderr. */
  readonly logFile: string;
  /** Resolves when the process has exited (never rejects). */
  readonly exited: Promise<ProcessExit>;
  #exit: ProcessExit | undefined;

  private constructor(name: string, pid: number, logFile: string, exited: Promise<ProcessExit>) {
    this.name = name;
    this.pid = pid;
    this.logFile = logFile;
    this.exited = exited.then((e) => {
      this.#exit = e;
      live.delete(pid);
      return e;
    });
  }

  /** Spawns the process; throws if it cannot be started at all (e.g. executable missing). */
  static async start(options: ManagedProcessOptions): Promise<ManagedProcess> {
    const fd = openSync(options.logFile, 'a');
    try {
      const child = spawn(options.command, options.args ?? [], {
        stdio: ['ignore', fd, fd],
        cwd: options.cwd,
        env: options.env ?? process.env,
        ...(options.uid === undefined ? {} : { uid: options.uid }),
        ...(options.gid === undefined ? {} : { gid: options.gid }),
      });
      const exited = new Promise<ProcessExit>((resolve) => {
        child.once('exit', (code, signal) => resolve({ code, signal }));
        child.once('error', () => resolve({ code: -1, signal: null }));
      });
      const spawned = await new Promise<Error | undefined>((resolve) => {
        child.once('spawn', () => resolve(undefined));
        child.once('error', (err) => resolve(err));
      });
      if (spawned !== undefined || child.pid === undefined) {
        throw new Error(`${options.name}: could not start ${options.command}`, { cause: spawned });
      }
      trackForExit(child.pid);
      return new ManagedProcess(options.name, child.pid, options.logFile, exited);
    } finally {
      closeSync(fd);
    }
  }

  /** True until the process has exited. */
  get running(): boolean {
    return this.#exit === undefined;
  }

  /** The exit status once exited, else undefined. */
  get exitStatus(): ProcessExit | undefined {
    return this.#exit;
  }

  /** Last lines of the log, for error messages. */
  tail(lines = 40): string {
    return tailFile(this.logFile, lines);
  }

  /**
   * Sends `signal` (SIGTERM by default) to this PID, then SIGKILL if it has not exited after
   * `graceMs`. Idempotent. postgres passes SIGINT: its SIGTERM waits for clients to disconnect.
   */
  async stop(graceMs = 10_000, signal: NodeJS.Signals = 'SIGTERM'): Promise<ProcessExit> {
    if (this.#exit !== undefined) return this.#exit;
    this.#signal(signal);
    const cancel = new AbortController();
    const timer = sleep(graceMs, 'timeout' as const, { signal: cancel.signal }).catch(
      () => 'cancelled' as const,
    );
    const first = await Promise.race([this.exited, timer]);
    cancel.abort(); // a pending grace timer would keep the event loop alive
    if (typeof first !== 'string') return first;
    this.#signal('SIGKILL');
    return await this.exited;
  }

  #signal(signal: NodeJS.Signals): void {
    try {
      process.kill(this.pid, signal);
    } catch {
      // already exited; `exited` resolves on its own
    }
  }
}

/** Options for `waitForPort` and `waitUntil`. */
export interface WaitOptions {
  /** Fail early (with its log tail) if this process exits while waiting. */
  readonly process?: ManagedProcess;
  /** Delay between attempts, default 100 ms. */
  readonly intervalMs?: number;
}

/**
 * The error, also written to stderr: node's test runner prints a test file's stderr ahead of its
 * results, where a summary that shows only part of the output still has it (a failed `before`
 * hook's own error comes last, after every test it cancelled).
 */
function reported(err: Error): Error {
  console.error(`[test env] ${err.message.slice(0, 4000)}`);
  return err;
}

/** Polls `check` until it returns true; throws after `timeoutMs` or when `process` exits. */
export async function waitUntil(
  description: string,
  check: () => Promise<boolean>,
  timeoutMs: number,
  options: WaitOptions = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    const proc = options.process;
    if (proc !== undefined && !proc.running) {
      const exit = proc.exitStatus;
      throw reported(
        new Error(
          `${proc.name} exited (code ${exit?.code}, signal ${exit?.signal}) while waiting for ${description}; ` +
            `log ${proc.logFile}:\n${proc.tail()}`,
        ),
      );
    }
    try {
      if (await check()) return;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) {
      const log = proc === undefined ? '' : `; log ${proc.logFile}:\n${proc.tail()}`;
      throw reported(
        new Error(`timed out after ${timeoutMs} ms waiting for ${description}${log}`, { cause: lastError }),
      );
    }
    await sleep(options.intervalMs ?? 100);
  }
}

/**
 * Waits until a service that was just started answers `check`; when it does not (or exits), stops
 * it and removes its folder before the error goes on, so a failed start leaves nothing running.
 */
export async function readyOrStopped(
  proc: ManagedProcess,
  dir: string,
  description: string,
  check: () => Promise<boolean>,
  timeoutMs: number,
): Promise<void> {
  try {
    await waitUntil(description, check, timeoutMs, { process: proc });
  } catch (err) {
    await proc.stop(2_000);
    await removeTempDir(dir);
    throw err;
  }
}

/** Resolves true if a TCP connection to host:port succeeds right now. */
export async function canConnect(host: string, port: number): Promise<boolean> {
  return await new Promise<boolean>((resolve) => {
    const socket = createConnection({ host, port });
    socket.setTimeout(1000);
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
    socket.once('timeout', () => done(false));
  });
}

/** Waits until host:port accepts TCP connections. */
export async function waitForPort(
  host: string,
  port: number,
  timeoutMs: number,
  options: WaitOptions = {},
): Promise<void> {
  await waitUntil(`${host}:${port} to accept connections`, () => canConnect(host, port), timeoutMs, options);
}

/** Result of a finished one-shot command. */
export interface CommandResult {
  /** Exit code (0 on success). */
  readonly code: number;
  /** Captured stdout. */
  readonly stdout: string;
  /** Captured stderr. */
  readonly stderr: string;
}

/** Options for `runCommand`. */
export interface RunCommandOptions {
  /** Working directory. */
  readonly cwd?: string;
  /** Full environment (defaults to this process's environment). */
  readonly env?: NodeJS.ProcessEnv;
  /** Run as this uid/gid (needs root). */
  readonly uid?: number;
  /** Group id paired with `uid`. */
  readonly gid?: number;
  /** Resolve with a non-zero code instead of throwing. */
  readonly allowFailure?: boolean;
  /** Kill (by PID) after this long; default 20 minutes. */
  readonly timeoutMs?: number;
}

/** Runs a command to completion without a shell, capturing output; throws on non-zero exit. */
export async function runCommand(
  command: string,
  args: readonly string[],
  options: RunCommandOptions = {},
): Promise<CommandResult> {
  const child = spawn(command, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    cwd: options.cwd,
    env: options.env ?? process.env,
    ...(options.uid === undefined ? {} : { uid: options.uid }),
    ...(options.gid === undefined ? {} : { gid: options.gid }),
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
  });
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 20 * 60_000);
  const code = await new Promise<number>((resolve, reject) => {
    child.once('error', (err) => reject(new Error(`could not run ${command}`, { cause: err })));
    child.once('close', (c, signal) => resolve(c ?? (signal ? 128 : 1)));
  }).finally(() => clearTimeout(timer));
  if (code !== 0 && options.allowFailure !== true) {
    const out = `${stdout}\n${stderr}`.trim().split('\n').slice(-40).join('\n');
    throw new Error(`${command} ${args.join(' ')} exited with ${code}:\n${out}`);
  }
  return { code, stdout, stderr };
}
