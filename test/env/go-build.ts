import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';

/** Receives one progress line at a time. */
export type ProgressLog = (msg: string) => void;

/** Options for one `go` invocation. */
export interface GoRunOptions {
  /** Working directory (the throwaway module). */
  readonly cwd: string;
  /** Progress sink; each stderr line of `go` is forwarded when `verbose` is set. */
  readonly log?: ProgressLog;
  /** Forward every stderr line (downloads, compile errors) to `log`. */
  readonly verbose?: boolean;
  /** Extra environment variables. */
  readonly env?: Readonly<Record<string, string>>;
  /** The `go` binary to run; {@link findGo} when omitted. */
  readonly go?: string;
}

/** Thrown when the Go toolchain is missing or a `go` command fails; the message names the step. */
export class GoBuildError extends Error {
  /** Creates the error with the failed step and the tail of `go`'s output. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'GoBuildError';
  }
}

/** Locates the `go` binary: `$OUTRIGGER_GO`, then `PATH`, then `/usr/local/go/bin/go`. */
export function findGo(): string {
  const override = process.env.OUTRIGGER_GO;
  if (override !== undefined && override !== '') return override;
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir !== '' && existsSync(join(dir, 'go'))) return join(dir, 'go');
  }
  if (existsSync('/usr/local/go/bin/go')) return '/usr/local/go/bin/go';
  throw new GoBuildError(
    'Go toolchain not found (looked at $OUTRIGGER_GO, PATH and /usr/local/go/bin/go); ' +
      'install Go >= 1.24 from https://go.dev/dl to build etcd and the Kubernetes binaries',
  );
}

/** Runs `go <args>` and resolves with its stdout; rejects with the last lines of stderr. */
export function runGo(args: readonly string[], options: GoRunOptions): Promise<string> {
  const go = options.go ?? findGo();
  return new Promise((resolve, reject) => {
    const child = spawn(go, args, {
      cwd: options.cwd,
      env: { ...process.env, GOFLAGS: '-mod=mod', ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const errTail: string[] = [];
    let partial = '';
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => {
      const lines = (partial + chunk.toString('utf8')).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        errTail.push(line);
        if (errTail.length > 40) errTail.shift();
        if (options.verbose === true) options.log?.(`  go: ${line}`);
      }
    });
    child.on('error', (err) => reject(new GoBuildError(`cannot run ${go}: ${err.message}`, { cause: err })));
    child.on('close', (code, signal) => {
      if (partial !== '') errTail.push(partial);
      if (code === 0) {
        resolve(Buffer.concat(out).toString('utf8'));
        return;
      }
      reject(
        new GoBuildError(
          `\`go ${args.join(' ')}\` in ${options.cwd} failed (${signal ?? `exit ${code}`}):\n${errTail.join('\n')}`,
        ),
      );
    });
  });
}

/** The fields of `go mod download -json` this project reads. */
export interface GoModuleDownload {
  /** Directory of the unpacked module in GOMODCACHE. */
  readonly Dir: string;
  /** Path of the module's go.mod file in GOMODCACHE. */
  readonly GoMod: string;
  /** Resolved version. */
  readonly Version: string;
}

/** Downloads `module@version` into GOMODCACHE and returns where it landed. */
export async function downloadGoModule(
  modulePath: string,
  version: string,
  options: GoRunOptions,
): Promise<GoModuleDownload> {
  const stdout = await runGo(['mod', 'download', '-json', `${modulePath}@${version}`], options);
  const parsed = JSON.parse(stdout) as Partial<GoModuleDownload> & { Error?: string };
  if (parsed.Error !== undefined)
    throw new GoBuildError(`go mod download ${modulePath}@${version}: ${parsed.Error}`);
  if (parsed.Dir === undefined || parsed.GoMod === undefined || parsed.Version === undefined) {
    throw new GoBuildError(`go mod download ${modulePath}@${version} returned no Dir/GoMod`);
  }
  return { Dir: parsed.Dir, GoMod: parsed.GoMod, Version: parsed.Version };
}

/** Extracts the module paths that a go.mod replaces with a `./staging/` directory (k8s.io/kubernetes). */
export function stagingModules(goMod: string): string[] {
  const modules = new Set<string>();
  for (const raw of goMod.split('\n')) {
    const line = raw.replace(/^\s*replace\s+/, '').trim();
    const match = /^(\S+)(?:\s+\S+)?\s+=>\s+\.\/staging\/\S+\s*$/.exec(line);
    if (match?.[1] !== undefined) modules.add(match[1]);
  }
  return [...modules].sort();
}
