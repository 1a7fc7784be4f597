import { type ChildProcess, spawn } from 'node:child_process';
import { constants } from 'node:os';
import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';

/** How a child ended. */
export interface ChildExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** Shell-style exit status: the code, or 128 + the signal's number when a signal ended it. */
export function exitStatus(exit: ChildExit): number {
  if (exit.code !== null) return exit.code;
  const n = exit.signal === null ? undefined : constants.signals[exit.signal];
  return 128 + (n ?? 1);
}

/** Options for `startChild`. */
export interface ChildOptions {
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
  /** Own process group, so a terminal's Ctrl-C reaches only the CLI, which then stops it in order. */
  readonly detached: boolean;
  /** Give the child the CLI's stdin (the app) or none (the sidecar). */
  readonly inheritStdin: boolean;
}

/** A child process the CLI started and stops by its PID. */
export class Child {
  /** OS process id. */
  readonly pid: number;
  /** stdout and stderr of the child. */
  readonly stdout: Readable;
  /** stderr of the child. */
  readonly stderr: Readable;
  /** Resolves once the child has exited. */
  readonly exited: Promise<ChildExit>;
  #exit: ChildExit | undefined;
  readonly #process: ChildProcess;

  private constructor(child: ChildProcess, pid: number, exited: Promise<ChildExit>) {
    this.#process = child;
    this.pid = pid;
    this.stdout = child.stdout as Readable;
    this.stderr = child.stderr as Readable;
    this.exited = exited.then((e) => {
      this.#exit = e;
      return e;
    });
  }

  /** Spawns `command args` without a shell; rejects when it cannot start (e.g. not found). */
  static async start(command: string, args: readonly string[], options: ChildOptions): Promise<Child> {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env,
      detached: options.detached,
      stdio: [options.inheritStdin ? 'inherit' : 'ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<ChildExit>((resolve) => {
      child.once('exit', (code, signal) => resolve({ code, signal }));
    });
    const failed = await new Promise<Error | undefined>((resolve) => {
      child.once('spawn', () => resolve(undefined));
      child.once('error', (err) => resolve(err));
    });
    if (failed !== undefined || child.pid === undefined) {
      throw new Error(`could not start "${command}": ${failed?.message ?? 'no pid'}`, { cause: failed });
    }
    return new Child(child, child.pid, exited);
  }

  /** True until the child has exited. */
  get running(): boolean {
    return this.#exit === undefined;
  }

  /** Sends a signal to this PID (ignored once it has exited). */
  signal(signal: NodeJS.Signals): void {
    if (!this.running) return;
    try {
      this.#process.kill(signal);
    } catch {
      // raced with its exit
    }
  }

  /** Sends `signal`, then SIGKILL after `graceMs`; resolves with how it ended. */
  async stop(signal: NodeJS.Signals, graceMs: number): Promise<ChildExit> {
    if (this.#exit !== undefined) return this.#exit;
    this.signal(signal);
    const ac = new AbortController();
    const first = await Promise.race([
      this.exited,
      sleep(graceMs, 'timeout' as const, { signal: ac.signal }).catch(() => 'aborted' as const),
    ]);
    ac.abort();
    if (first !== 'timeout' && first !== 'aborted') return first;
    this.signal('SIGKILL');
    return await this.exited;
  }
}
