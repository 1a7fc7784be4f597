/**
 * Spawns the process under measurement for the cold-start and RSS benchmarks: `outriggerd` with no
 * components, `outriggerd` with the embedded default (`state.sqlite`), or a bare Node HTTP server
 * as the floor any Node process pays. Readiness is the first 204 from `/v1.0/healthz/outbound`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { get } from 'node:http';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { freePort } from '../test/env/process.js';

/** The compiled outriggerd entry point, next to this compiled file. */
export const SIDECAR_MAIN = fileURLToPath(new URL('../sidecar/main.js', import.meta.url));

/** `node` arguments for a benchmark sidecar on loopback with free ports (API on `httpPort`). */
export async function sidecarArgs(
  appId: string,
  httpPort: number,
  main: string = SIDECAR_MAIN,
): Promise<string[]> {
  return [
    main,
    '--app-id',
    appId,
    '--dapr-http-port',
    String(httpPort),
    '--dapr-grpc-port',
    String(await freePort()),
    '--dapr-internal-grpc-port',
    String(await freePort()),
    '--metrics-port',
    String(await freePort()),
    '--dapr-listen-addresses',
    '127.0.0.1',
    '--log-level',
    'warn',
  ];
}

/** What to start. */
export type SpawnVariant = 'node-baseline' | 'outriggerd-empty' | 'outriggerd-sqlite';

/** Row labels per variant. */
export const VARIANT_LABEL: Readonly<Record<SpawnVariant, string>> = {
  'node-baseline': 'bare Node HTTP server (floor)',
  'outriggerd-empty': 'outriggerd, no components',
  'outriggerd-sqlite': 'outriggerd, embedded default (state.sqlite)',
};

const BASELINE_SOURCE = `
const http = require('node:http');
http.createServer((req, res) => { res.statusCode = 204; res.end(); }).listen(Number(process.argv[1]), '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
`;

/** A started process and how long it took to answer 204. */
export interface TimedProcess {
  readonly pid: number;
  /** Its HTTP (API) port. */
  readonly port: number;
  /** Milliseconds from spawn() to the first 204. */
  readonly readyMs: number;
  /** SIGTERM by PID and wait for the exit (SIGKILL after 15 s). */
  stop(): Promise<void>;
}

function status204(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = get(
      { host: '127.0.0.1', port, path: '/v1.0/healthz/outbound', agent: false, timeout: 1000 },
      (res) => {
        res.resume();
        resolve(res.statusCode === 204);
      },
    );
    req.once('error', () => resolve(false));
    req.once('timeout', () => {
      req.destroy();
      resolve(false);
    });
  });
}

/** Writes the resources folder a variant needs under `dir`; returns the folder. */
export async function prepareResources(
  variant: SpawnVariant,
  dir: string,
  resourcesYaml?: string,
): Promise<string> {
  const resources = join(dir, 'resources');
  await mkdir(resources, { recursive: true });
  if (resourcesYaml !== undefined) {
    await writeFile(join(resources, 'resources.yaml'), resourcesYaml);
  } else if (variant === 'outriggerd-sqlite') {
    await writeFile(
      join(resources, 'statestore.yaml'),
      [
        'apiVersion: dapr.io/v1alpha1',
        'kind: Component',
        'metadata:',
        '  name: statestore',
        'spec:',
        '  type: state.sqlite',
        '  version: v1',
        '  metadata:',
        '  - name: connectionString',
        `    value: ${JSON.stringify(join(dir, 'state.db'))}`,
        '',
      ].join('\n'),
    );
  }
  return resources;
}

/**
 * Starts `variant`, polling every 5 ms until it answers 204; fails after 60 s or if it exits.
 * `resourcesYaml` replaces the variant's resources (used by the state benchmark). Started as
 * `outrigger run` starts it: plain `node main.js`, no source-map or inspector flags.
 */
export async function spawnTimed(
  variant: SpawnVariant,
  dir: string,
  resourcesYaml?: string,
  appId = 'bench-cold',
): Promise<TimedProcess> {
  const resources = await prepareResources(variant, dir, resourcesYaml);
  const port = await freePort();
  const args =
    variant === 'node-baseline'
      ? ['-e', BASELINE_SOURCE, String(port)]
      : [...(await sidecarArgs(appId, port)), '--resources-path', resources];
  const t0 = performance.now();
  const child: ChildProcess = spawn(process.execPath, args, {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, OUTRIGGER_DATA_DIR: join(dir, 'data') },
  });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    stderr = (stderr + d).slice(-4000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let alive = true;
  void exited.then(() => {
    alive = false;
  });
  const stop = async (): Promise<void> => {
    if (!alive) return;
    child.kill('SIGTERM');
    const ac = new AbortController();
    const timedOut = await Promise.race([
      exited.then(() => false),
      sleep(15_000, true, { signal: ac.signal }).catch(() => false),
    ]);
    ac.abort();
    if (timedOut) {
      child.kill('SIGKILL');
      await exited;
    }
  };
  const deadline = t0 + 60_000;
  while (performance.now() < deadline) {
    if (!alive) throw new Error(`${variant} exited before it was ready:\n${stderr}`);
    if (await status204(port)) {
      return { pid: child.pid as number, port, readyMs: performance.now() - t0, stop };
    }
    await sleep(5);
  }
  await stop();
  throw new Error(`${variant} did not answer 204 within 60 s:\n${stderr}`);
}
