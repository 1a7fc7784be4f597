import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { processAlive } from '../../sidecar/runtime/process-alive.js';
import { type ProgressLog, runGo } from './go-build.js';
import { ensureGoToolchain } from './go-toolchain.js';
import { provisionCached, testbinRoot } from './kube-binaries.js';
import { ManagedProcess, waitForPort } from './process.js';
import { sourceTreePath } from './source-tree.js';
import { VERSIONS } from './versions.js';

/** The probe's Go sources, in the source tree next to this file's TypeScript. */
function sourceDir(): string {
  return dirname(sourceTreePath('test/env/go-sdk-probe/main.go'));
}

/**
 * Runs `fn` holding `lock` (a file with our pid) against the other test processes: several Go SDK
 * test files start together, and one cold build of the SDK is enough. A dead holder's lock is
 * taken over.
 */
async function withBuildLock<T>(lock: string, fn: () => Promise<T>): Promise<T> {
  for (let unreadable = 0; ; ) {
    try {
      await writeFile(lock, String(process.pid), { flag: 'wx' });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const holder = Number((await readFile(lock, 'utf8').catch(() => '')).trim());
    // An empty file is a holder between its create and its write; one that stays empty is stale.
    const valid = Number.isInteger(holder) && holder > 0;
    if ((valid && !processAlive(holder)) || (!valid && ++unreadable > 20)) {
      await rm(lock, { force: true });
      unreadable = 0;
      continue;
    }
    await sleep(500);
  }
  try {
    return await fn();
  } finally {
    await rm(lock, { force: true });
  }
}

/**
 * Builds (once per go-sdk version and source; cached in the testbin folder) the program that
 * drives the official Dapr Go SDK, unchanged, for the Go SDK compatibility tests, and returns its
 * path. A machine without Go >= 1.24 gets the pinned toolchain first.
 */
export async function ensureGoSdkProbe(log: ProgressLog = () => {}): Promise<string> {
  const root = testbinRoot();
  await mkdir(root, { recursive: true });
  const source = sourceDir();
  const files = (await readdir(source)).filter((f) => f.endsWith('.go')).sort();
  const hash = createHash('sha256');
  for (const f of files)
    hash
      .update(f)
      .update('\0')
      .update(await readFile(join(source, f)));
  const version = `${VERSIONS.goSdk}-${hash.digest('hex').slice(0, 12)}`;
  const build = (): Promise<string> =>
    provisionCached('go-sdk-probe', version, root, ['go-sdk-probe'], log, async (out) => {
      const go = await ensureGoToolchain(root, log);
      const mod = join(out, 'src');
      await mkdir(mod, { recursive: true });
      for (const f of files) await copyFile(join(source, f), join(mod, f));
      await writeFile(join(mod, 'go.mod'), 'module outrigger.test/gosdkprobe\n\ngo 1.24\n');
      await runGo(['get', `github.com/dapr/go-sdk@${VERSIONS.goSdk}`], { cwd: mod, log, go });
      await runGo(['mod', 'tidy'], { cwd: mod, log, go });
      await runGo(['build', '-o', join(out, 'go-sdk-probe'), '.'], { cwd: mod, log, go });
    });
  const binary = join(root, `go-sdk-probe-${version}`, 'go-sdk-probe');
  if (existsSync(binary)) return binary;
  const dir = await withBuildLock(join(root, `go-sdk-probe-${version}.lock`), build);
  return join(dir, 'go-sdk-probe');
}

/** An error as the Go SDK returned it. */
export interface GoSdkError {
  /** `err.Error()`: what the SDK's user sees. */
  readonly message: string;
  /** The gRPC status code's name inside it (`NotFound`, `Aborted`…; `Unknown` without a status). */
  readonly code: string;
  /** The gRPC status message. */
  readonly statusMessage: string;
  /** The google.rpc details as protojson, each with its `@type`. */
  readonly details: readonly Record<string, unknown>[];
}

/** What one operation returned. */
export type GoSdkResult =
  | { readonly ok: true; readonly value?: unknown }
  | { readonly ok: false; readonly error: GoSdkError };

/** One operation for the probe's client (field names as in test/env/go-sdk-probe/client.go). */
export type GoSdkOp = { readonly op: string } & Readonly<Record<string, unknown>>;

/** The sidecar the client talks to: `DAPR_GRPC_PORT`, `DAPR_HTTP_PORT` and `DAPR_API_TOKEN`. */
export interface GoSdkClientEnv {
  readonly grpcPort: number;
  readonly httpPort?: number;
  readonly token?: string;
  /** The gRPC API's unix socket: the client is made with `dapr.NewClientWithSocket` instead. */
  readonly unixSocket?: string;
}

/**
 * Runs `ops` in order with one Go SDK client (`dapr.NewClient()`, or `dapr.NewClientWithSocket`
 * with `unixSocket`) and resolves their results.
 */
export function runGoSdkClient(
  probe: string,
  sidecar: GoSdkClientEnv,
  ops: readonly GoSdkOp[],
): Promise<GoSdkResult[]> {
  const env: NodeJS.ProcessEnv = { ...process.env, DAPR_GRPC_PORT: String(sidecar.grpcPort) };
  // The SDK prefers DAPR_GRPC_ENDPOINT over DAPR_GRPC_PORT: the test's sidecar must win.
  delete env.DAPR_GRPC_ENDPOINT;
  delete env.DAPR_API_TOKEN;
  if (sidecar.httpPort !== undefined) env.DAPR_HTTP_PORT = String(sidecar.httpPort);
  if (sidecar.token !== undefined) env.DAPR_API_TOKEN = sidecar.token;
  if (sidecar.unixSocket !== undefined) env.PROBE_DAPR_SOCKET = sidecar.unixSocket;
  return new Promise((resolve, reject) => {
    const child = execFile(
      probe,
      ['client'],
      { env, maxBuffer: 64 * 1024 * 1024, timeout: 120_000 },
      (err, stdout, stderr) => {
        if (err !== null) {
          reject(new Error(`go-sdk-probe client failed: ${err.message} ${stderr}`));
          return;
        }
        const results = JSON.parse(stdout) as GoSdkResult[];
        if (results.length !== ops.length) {
          reject(new Error(`go-sdk-probe answered ${results.length} results for ${ops.length} ops`));
          return;
        }
        resolve(results);
      },
    );
    child.stdin?.end(JSON.stringify(ops));
  });
}

/** Runs one operation and returns its result. */
export async function runGoSdkOp(probe: string, sidecar: GoSdkClientEnv, op: GoSdkOp): Promise<GoSdkResult> {
  const [result] = await runGoSdkClient(probe, sidecar, [op]);
  if (result === undefined) throw new Error('go-sdk-probe answered no result');
  return result;
}

/**
 * Starts the probe's app (`echo`, `reply` and `fail` invocation handlers) on the Go SDK's gRPC
 * (`service/grpc`) or HTTP (`service/http`) service on 127.0.0.1:`port`, and waits until it listens.
 * `appApiToken` is the app's `APP_API_TOKEN`: the SDK's services then refuse calls without it.
 */
export async function startGoSdkApp(
  probe: string,
  kind: 'grpc' | 'http',
  port: number,
  logFile: string,
  appApiToken?: string,
): Promise<ManagedProcess> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.APP_API_TOKEN;
  if (appApiToken !== undefined) env.APP_API_TOKEN = appApiToken;
  const proc = await ManagedProcess.start({
    name: `go-sdk-probe ${kind}-app`,
    command: probe,
    args: [`${kind}-app`, '-port', String(port)],
    logFile,
    env,
  });
  try {
    await waitForPort('127.0.0.1', port, 30_000, { process: proc });
  } catch (err) {
    await proc.stop(2_000);
    throw err;
  }
  return proc;
}

// Helpers for the tests: one client bound to a sidecar, and the results unpacked.

/** What one op's result holds when it succeeded; fails the test with the SDK's error otherwise. */
export function okValue<T = unknown>(result: GoSdkResult): T {
  if (!result.ok) assert.fail(`the Go SDK call failed: ${result.error.message}`);
  return result.value as T;
}

/** The SDK's error of a result that must have failed. */
export function sdkError(result: GoSdkResult): GoSdkError {
  if (result.ok)
    assert.fail(`the Go SDK call succeeded (${JSON.stringify(result.value)}); an error was expected`);
  return result.error;
}

/** A client bound to one sidecar: `call(op)` runs one operation in a fresh SDK client process. */
export interface GoSdkClient {
  call(op: GoSdkOp): Promise<GoSdkResult>;
  /** Runs `op` and returns its value, failing the test on an SDK error. */
  ok<T = unknown>(op: GoSdkOp): Promise<T>;
  /** Runs `op`, which must fail, and returns the SDK's error. */
  fails(op: GoSdkOp): Promise<GoSdkError>;
}

/** Binds the probe's client to a sidecar's ports (and API token). */
export function goSdkClient(probe: string, sidecar: GoSdkClientEnv): GoSdkClient {
  const call = (op: GoSdkOp): Promise<GoSdkResult> => runGoSdkOp(probe, sidecar, op);
  return {
    call,
    ok: async <T>(op: GoSdkOp) => okValue<T>(await call(op)),
    fails: async (op) => sdkError(await call(op)),
  };
}

/** A state item as the probe prints GetState/GetBulkState/QueryStateAlpha1 results. */
export interface GoStateItem {
  readonly key: string;
  readonly value: string;
  readonly etag: string;
  readonly metadata: Record<string, string> | null;
  readonly error?: string;
}

/** The fields of an SDK error's `ErrorInfo` detail (undefined without one). */
export function errorInfoOf(
  err: GoSdkError,
): { reason?: string; domain?: string; metadata?: Record<string, string> } | undefined {
  const found = err.details.find((d) => d['@type'] === 'type.googleapis.com/google.rpc.ErrorInfo');
  if (found === undefined) return undefined;
  const { '@type': _type, ...fields } = found;
  return fields as { reason?: string; domain?: string; metadata?: Record<string, string> };
}
