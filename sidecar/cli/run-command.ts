/**
 * `outrigger run`: like `dapr run` in self-hosted mode. Starts `outriggerd` on free ports, waits
 * until `/v1.0/healthz/outbound` answers 204 (the sidecar then waits for the app port itself),
 * starts the app with `DAPR_HTTP_PORT` & co. in its env, prefixes both outputs, records the run in
 * `<home>/run/<app-id>.json`, and stops both: on Ctrl-C / SIGTERM (app first, then SIGTERM to the
 * sidecar so it drains), or when the app exits (the CLI then exits with the app's status).
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { Child, exitStatus } from './child-process.js';
import { ensureDefaults, resolveHome } from './home.js';
import { pipeWithPrefix } from './line-prefixer.js';
import { freePorts } from './ports.js';
import { claimEntry, type RunEntry, removeEntry, removeEntrySync, writeEntry } from './registry.js';

/** What `outrigger run` was asked to do (validated flags). */
export interface RunSettings {
  readonly appId: string;
  readonly appPort?: number;
  readonly appProtocol?: string;
  readonly resourcesPaths: readonly string[];
  readonly httpPort?: number;
  readonly grpcPort?: number;
  readonly internalGrpcPort?: number;
  readonly metricsPort?: number;
  readonly config?: string;
  readonly logLevel?: string;
  readonly enableApiLogging?: boolean;
  /** Further daprd flags, appended as given (e.g. from a run template). */
  readonly extraArgs?: readonly string[];
  /** The app's argv; empty runs the sidecar alone until stopped. */
  readonly command: readonly string[];
}

/** The CLI's surroundings, passed in rather than read from globals. */
export interface CliContext {
  /** Where `run -f -` reads its template from. */
  readonly stdin?: NodeJS.ReadableStream;
  readonly stdout: Writable;
  readonly stderr: Writable;
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
}

/** How long to wait for the sidecar's outbound health before giving up. */
export const SIDECAR_READY_TIMEOUT_MS = 60_000;
/** Grace for the app after SIGTERM/SIGINT before SIGKILL. */
export const APP_GRACE_MS = 10_000;
/** Grace for outriggerd: its own drain (`--dapr-graceful-shutdown-seconds`, 5 s) plus margin. */
export const SIDECAR_GRACE_MS = 15_000;

/** Path of the compiled `outriggerd` entry, next to this CLI in the build output. */
export function sidecarEntry(): string {
  return fileURLToPath(new URL('../main.js', import.meta.url));
}

/** daprd flags for the sidecar of this run. */
export function sidecarArgs(
  s: RunSettings,
  ports: { http: number; grpc: number; internal: number; metrics: number },
): string[] {
  const args = [
    '--app-id',
    s.appId,
    '--mode',
    'standalone',
    '--dapr-http-port',
    String(ports.http),
    '--dapr-grpc-port',
    String(ports.grpc),
    '--dapr-internal-grpc-port',
    String(ports.internal),
    '--metrics-port',
    String(ports.metrics),
  ];
  if (s.appPort !== undefined) args.push('--app-port', String(s.appPort));
  if (s.appProtocol !== undefined) args.push('--app-protocol', s.appProtocol);
  for (const path of s.resourcesPaths) args.push('--resources-path', path);
  if (s.config !== undefined) args.push('--config', s.config);
  if (s.logLevel !== undefined) args.push('--log-level', s.logLevel);
  if (s.enableApiLogging === true) args.push('--enable-api-logging');
  if (s.extraArgs !== undefined) args.push(...s.extraArgs);
  return args;
}

async function outboundHealthy(port: number): Promise<boolean> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/v1.0/healthz/outbound`, {
      signal: AbortSignal.timeout(2000),
    });
    await res.arrayBuffer();
    return res.status === 204;
  } catch {
    return false;
  }
}

/** How long to wait for a child's output to end after it exited (a grandchild may hold the pipe). */
const OUTPUT_SETTLE_MS = 2_000;

/** Waits for the output copies to finish, but not for longer than `OUTPUT_SETTLE_MS`. */
export async function settle(outputs: readonly Promise<void>[]): Promise<void> {
  const ac = new AbortController();
  await Promise.race([
    Promise.all(outputs),
    sleep(OUTPUT_SETTLE_MS, undefined, { signal: ac.signal }).catch(() => {}),
  ]);
  ac.abort();
}

/** Polls the sidecar's outbound health until 204; false if the sidecar exited or the wait timed out. */
export async function waitForSidecar(
  sidecar: Child,
  port: number,
  stopping: () => boolean,
): Promise<boolean> {
  const deadline = Date.now() + SIDECAR_READY_TIMEOUT_MS;
  while (Date.now() < deadline && sidecar.running && !stopping()) {
    if (await outboundHealthy(port)) return true;
    await sleep(100);
  }
  return false;
}

/** Runs `outrigger run`; resolves with the CLI's exit status. */
export async function runApp(s: RunSettings, ctx: CliContext): Promise<number> {
  const say = (line: string): void => {
    ctx.stdout.write(`outrigger: ${line}\n`);
  };
  const fail = (line: string): number => {
    ctx.stderr.write(`outrigger: error: ${line}\n`);
    return 1;
  };
  const home = resolveHome(ctx.env);
  const entry = sidecarEntry();
  if (!existsSync(entry))
    return fail(`outriggerd not found at ${entry}; build the project first (npm run build)`);

  let resourcesPaths = s.resourcesPaths.map((p) => resolve(ctx.cwd, p));
  if (resourcesPaths.length === 0) {
    resourcesPaths = [await ensureDefaults(home)];
    say(`no --resources-path given: using the embedded defaults in ${resourcesPaths[0]}`);
  }
  const given = new Set(
    [s.httpPort, s.grpcPort, s.internalGrpcPort, s.metricsPort, s.appPort].filter((p) => p !== undefined),
  );
  const [p1, p2, p3, p4] = await freePorts(4, given);
  const ports = {
    http: s.httpPort ?? (p1 as number),
    grpc: s.grpcPort ?? (p2 as number),
    internal: s.internalGrpcPort ?? (p3 as number),
    metrics: s.metricsPort ?? (p4 as number),
  };
  const started = new Date();
  let sidecar: Child | undefined;
  let app: Child | undefined;
  const entryFor = (): RunEntry => ({
    appId: s.appId,
    httpPort: ports.http,
    grpcPort: ports.grpc,
    metricsPort: ports.metrics,
    ...(s.appPort === undefined ? {} : { appPort: s.appPort }),
    cliPid: process.pid,
    ...(sidecar === undefined ? {} : { sidecarPid: sidecar.pid }),
    ...(app === undefined ? {} : { appPid: app.pid }),
    command: s.command.join(' '),
    started: started.toISOString(),
  });
  const holder = await claimEntry(home.runDir, entryFor());
  if (holder !== undefined) {
    return fail(
      `an app with id "${s.appId}" is already running (outrigger pid ${holder.cliPid}); stop it with: outrigger stop --app-id ${s.appId}`,
    );
  }

  let stopRequested = false;
  let wake: () => void = () => {};
  const stopSignal = new Promise<void>((r) => {
    wake = r;
  });
  let forwarded: NodeJS.Signals = 'SIGTERM';
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopRequested) {
      // A second Ctrl-C: stop waiting for graceful shutdown.
      app?.signal('SIGKILL');
      sidecar?.signal('SIGKILL');
      return;
    }
    stopRequested = true;
    forwarded = signal === 'SIGINT' ? 'SIGINT' : 'SIGTERM';
    say(`received ${signal}, stopping`);
    wake();
  };
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  for (const sig of signals) process.on(sig, onSignal);
  const onExit = (): void => {
    // Last resort if the CLI dies with children still up (e.g. an uncaught error).
    app?.signal('SIGKILL');
    sidecar?.signal('SIGTERM');
    removeEntrySync(home.runDir, s.appId, process.pid);
  };
  process.once('exit', onExit);

  const outputs: Promise<void>[] = [];
  const record = (): Promise<void> => writeEntry(home.runDir, entryFor());

  try {
    say(
      `starting outriggerd for app id "${s.appId}": HTTP port ${ports.http}, gRPC port ${ports.grpc}, metrics port ${ports.metrics}`,
    );
    try {
      sidecar = await Child.start(
        process.execPath,
        [entry, ...sidecarArgs({ ...s, resourcesPaths }, ports)],
        {
          // Embedded components without an explicit path keep their data under the same home.
          env: { ...ctx.env, OUTRIGGER_DATA_DIR: ctx.env.OUTRIGGER_DATA_DIR ?? home.dataDir },
          cwd: ctx.cwd,
          detached: true,
          inheritStdin: false,
        },
      );
    } catch (err) {
      return fail(`could not start outriggerd: ${(err as Error).message}`);
    }
    const sidecarPrefix = `== OUTRIGGERD - ${s.appId} == `;
    outputs.push(
      pipeWithPrefix(sidecar.stdout, ctx.stdout, sidecarPrefix),
      pipeWithPrefix(sidecar.stderr, ctx.stderr, sidecarPrefix),
    );
    await record();

    const ready = await waitForSidecar(sidecar, ports.http, () => stopRequested);
    if (!ready) {
      if (stopRequested) return await shutdown(0);
      if (!sidecar.running) {
        const status = exitStatus(await sidecar.exited);
        await settle(outputs);
        return fail(`outriggerd exited with status ${status} before it was ready`);
      }
      await shutdown(1);
      return fail(
        `outriggerd did not answer /v1.0/healthz/outbound with 204 within ${SIDECAR_READY_TIMEOUT_MS / 1000}s`,
      );
    }
    say(`outriggerd is up (pid ${sidecar.pid}), HTTP API at http://127.0.0.1:${ports.http}`);

    if (s.command.length > 0) {
      const [cmd, ...args] = s.command as [string, ...string[]];
      const appEnv: NodeJS.ProcessEnv = {
        ...ctx.env,
        APP_ID: s.appId,
        DAPR_HTTP_PORT: String(ports.http),
        DAPR_GRPC_PORT: String(ports.grpc),
        DAPR_METRICS_PORT: String(ports.metrics),
        APP_PROTOCOL: s.appProtocol ?? 'http',
      };
      if (s.appPort !== undefined) appEnv.APP_PORT = String(s.appPort);
      try {
        app = await Child.start(cmd, args, {
          env: appEnv,
          cwd: ctx.cwd,
          detached: false,
          inheritStdin: true,
        });
      } catch (err) {
        await shutdown(1);
        return fail((err as Error).message);
      }
      const appPrefix = `== APP - ${s.appId} == `;
      outputs.push(
        pipeWithPrefix(app.stdout, ctx.stdout, appPrefix),
        pipeWithPrefix(app.stderr, ctx.stderr, appPrefix),
      );
      await record();
      say(`app started (pid ${app.pid}): ${s.command.join(' ')}`);
    } else {
      say('no app command given: the sidecar runs alone until stopped');
    }
    say("you're up and running!");

    const events: Promise<'app' | 'sidecar' | 'stop'>[] = [
      sidecar.exited.then(() => 'sidecar' as const),
      stopSignal.then(() => 'stop' as const),
    ];
    if (app !== undefined) events.push(app.exited.then(() => 'app' as const));
    const first = await Promise.race(events);
    if (first === 'app' && app !== undefined) {
      // Taken out of `outputs`: shutdown then only waits for the sidecar's.
      await settle(outputs.splice(2));
      const status = exitStatus(await app.exited);
      say(`app exited with status ${status}`);
      return await shutdown(status);
    }
    if (first === 'sidecar') {
      const status = exitStatus(await sidecar.exited);
      ctx.stderr.write(
        `outrigger: error: outriggerd exited unexpectedly with status ${status}; stopping the app\n`,
      );
      await shutdown(1);
      return 1;
    }
    return await shutdown(0);
  } finally {
    for (const sig of signals) process.off(sig, onSignal);
    process.off('exit', onExit);
    await removeEntry(home.runDir, s.appId, process.pid);
  }

  /** Stops the app, then the sidecar (SIGTERM: it drains), and flushes their output. */
  async function shutdown(status: number): Promise<number> {
    if (app?.running) {
      await app.stop(forwarded, APP_GRACE_MS);
      say('app stopped');
    }
    if (sidecar?.running) {
      const exit = await sidecar.stop('SIGTERM', SIDECAR_GRACE_MS);
      say(`outriggerd stopped (status ${exitStatus(exit)})`);
    }
    await settle(outputs);
    return status;
  }
}
