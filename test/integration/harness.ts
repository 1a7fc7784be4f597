/**
 * Starts real `outriggerd` processes for integration tests: free ports, a log file, readiness on
 * `/v1.0/healthz/outbound` → 204, and stop by PID. The binary is the compiled `sidecar/main.js`
 * next to this compiled file (found through `import.meta.url`, never a hard-coded dist path).
 */
import { writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import {
  freePort,
  ManagedProcess,
  makeTempDir,
  type ProcessExit,
  removeTempDir,
  waitUntil,
} from '../env/process.js';

/** Path of the compiled sidecar entry point. */
export const SIDECAR_MAIN = fileURLToPath(new URL('../../sidecar/main.js', import.meta.url));

/** Options for `startSidecar`. */
export interface SidecarOptions {
  readonly appId: string;
  /** Folders (or files) passed as `--resources-path`. */
  readonly resourcesPaths?: readonly string[];
  /** `--config` file. */
  readonly configPath?: string;
  /** Extra flags, appended last (so they win over the harness's own). */
  readonly args?: readonly string[];
  /** Extra environment (merged over this process's environment). */
  readonly env?: Readonly<Record<string, string>>;
  /** `--app-port` of an app the test runs. */
  readonly appPort?: number;
  /** Also open `--dapr-public-port`. */
  readonly publicPort?: boolean;
  /** How long to wait for readiness, default 30 s. */
  readonly timeoutMs?: number;
  /** `--unix-domain-socket`: the APIs listen in this folder, and readiness is read there. */
  readonly unixDomainSocket?: string;
}

/** A running sidecar. */
export interface Sidecar {
  readonly httpPort: number;
  readonly grpcPort: number;
  readonly metricsPort: number;
  /** `--dapr-internal-grpc-port`: the sidecar-to-sidecar API. */
  readonly internalPort: number;
  readonly publicPort?: number;
  /** `http://127.0.0.1:<httpPort>` */
  readonly url: string;
  readonly proc: ManagedProcess;
  /** The whole log so far. */
  logs(): string;
  /** SIGTERM by PID (SIGKILL after `graceMs`, default 15 s); removes the temp dir. Idempotent. */
  stop(graceMs?: number): Promise<ProcessExit>;
}

async function spawnSidecar(options: SidecarOptions): Promise<{ sidecar: Sidecar; dir: string }> {
  const dir = await makeTempDir(`sidecar-${options.appId}`);
  const httpPort = await freePort();
  const grpcPort = await freePort();
  const metricsPort = await freePort();
  const internalPort = await freePort();
  const publicPort = options.publicPort === true ? await freePort() : undefined;
  const args = [
    SIDECAR_MAIN,
    '--app-id',
    options.appId,
    '--dapr-http-port',
    String(httpPort),
    '--dapr-grpc-port',
    String(grpcPort),
    '--dapr-internal-grpc-port',
    String(internalPort),
    '--metrics-port',
    String(metricsPort),
    '--dapr-listen-addresses',
    '127.0.0.1',
    ...(publicPort === undefined ? [] : ['--dapr-public-port', String(publicPort)]),
    ...(options.appPort === undefined ? [] : ['--app-port', String(options.appPort)]),
    ...(options.resourcesPaths ?? []).flatMap((p) => ['--resources-path', p]),
    ...(options.configPath === undefined ? [] : ['--config', options.configPath]),
    ...(options.unixDomainSocket === undefined ? [] : ['--unix-domain-socket', options.unixDomainSocket]),
    ...(options.args ?? []),
  ];
  const logFile = join(dir, 'outriggerd.log');
  const proc = await ManagedProcess.start({
    name: `outriggerd(${options.appId})`,
    command: process.execPath,
    args: ['--enable-source-maps', ...args],
    logFile,
    env: { ...process.env, OUTRIGGER_DATA_DIR: join(dir, 'data'), ...options.env },
  });
  let stopped: Promise<ProcessExit> | undefined;
  const sidecar: Sidecar = {
    httpPort,
    grpcPort,
    metricsPort,
    internalPort,
    ...(publicPort === undefined ? {} : { publicPort }),
    url: `http://127.0.0.1:${httpPort}`,
    proc,
    logs: () => proc.tail(100_000),
    stop: (graceMs = 15_000) => {
      stopped ??= proc.stop(graceMs).finally(() => removeTempDir(dir));
      return stopped;
    },
  };
  return { sidecar, dir };
}

/**
 * Starts `outriggerd` and waits until `/v1.0/healthz/outbound` answers 204 (fails with the log if it
 * exits). A sidecar that could not listen because another process took one of its ports after it
 * was picked is started again on new ports, up to three times.
 */
export async function startSidecar(options: SidecarOptions): Promise<Sidecar> {
  for (let attempt = 1; ; attempt++) {
    const { sidecar } = await spawnSidecar(options);
    try {
      await waitUntil(
        `outriggerd ${options.appId} /v1.0/healthz/outbound to answer 204`,
        async () =>
          (options.unixDomainSocket === undefined
            ? (await fetch(`${sidecar.url}/v1.0/healthz/outbound`)).status
            : (
                await requestOverSocket(
                  join(options.unixDomainSocket, `dapr-${options.appId}-http.socket`),
                  'GET',
                  '/v1.0/healthz/outbound',
                )
              ).status) === 204,
        options.timeoutMs ?? 30_000,
        { process: sidecar.proc },
      );
      return sidecar;
    } catch (err) {
      const portTaken =
        !sidecar.proc.running && /could not listen on any endpoint|EADDRINUSE/.test(sidecar.logs());
      await sidecar.stop(2_000);
      if (!portTaken || attempt === 3) throw err;
    }
  }
}

/** An HTTP request over a unix socket (fetch cannot dial one); resolves the status and body. */
export function requestOverSocket(
  socketPath: string,
  method: string,
  path: string,
  body?: string,
  headers: Readonly<Record<string, string>> = {},
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, method, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Result of a sidecar run that was expected to end by itself. */
export interface SidecarExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly logs: string;
}

/** Runs `outriggerd` expecting it to exit on its own (bad flags, bad resources); kills it after `timeoutMs`. */
export async function runSidecarToExit(options: SidecarOptions, timeoutMs = 30_000): Promise<SidecarExit> {
  const { sidecar, dir } = await spawnSidecar(options);
  const timer = setTimeout(() => void sidecar.proc.stop(1_000, 'SIGKILL'), timeoutMs);
  const exit = await sidecar.proc.exited;
  clearTimeout(timer);
  const logs = sidecar.logs();
  await removeTempDir(dir);
  return { code: exit.code, signal: exit.signal, logs };
}

/** Writes YAML documents (strings or objects) as one multi-document file in `dir`; returns its path. */
export async function writeResources(
  dir: string,
  docs: readonly (string | object)[],
  fileName = 'resources.yaml',
): Promise<string> {
  const text = docs.map((d) => (typeof d === 'string' ? d.trim() : stringify(d).trim())).join('\n---\n');
  const path = join(dir, fileName);
  await writeFile(path, `${text}\n`);
  return path;
}

/** Makes a temp folder holding `docs` as resources; remove it with `removeTempDir`. */
export async function makeResourcesDir(docs: readonly (string | object)[]): Promise<string> {
  const dir = await makeTempDir('resources');
  await writeResources(dir, docs);
  return dir;
}

/** A Component document for `writeResources`. */
export function component(
  name: string,
  type: string,
  metadata: Readonly<Record<string, string>> = {},
  extra: Readonly<Record<string, unknown>> = {},
): object {
  return {
    apiVersion: 'dapr.io/v1alpha1',
    kind: 'Component',
    metadata: { name },
    spec: {
      type,
      version: 'v1',
      metadata: Object.entries(metadata).map(([n, value]) => ({ name: n, value })),
    },
    ...extra,
  };
}
