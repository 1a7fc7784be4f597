/**
 * A private nats-server with JetStream for a test: free loopback client and monitoring ports,
 * JetStream storage in a temp folder. Never the system's NATS service.
 */
import { join } from 'node:path';
import { ensureDebianPackages } from './debian.js';
import { freePort, ManagedProcess, makeTempDir, removeTempDir, waitUntil } from './process.js';

/** A running nats-server with JetStream enabled. */
export interface NatsServer {
  /** `nats://127.0.0.1:<port>`. */
  readonly url: string;
  /** Always 127.0.0.1. */
  readonly host: string;
  /** Client port. */
  readonly port: number;
  /** HTTP monitoring endpoint, e.g. `http://127.0.0.1:<port>` (`/healthz`, `/jsz`). */
  readonly monitorUrl: string;
  /** The server's log. */
  readonly logFile: string;
  /** The server process (tracked by PID). */
  readonly process: ManagedProcess;
  /** Stops the server by PID and removes its temp dir (JetStream data included). */
  stop(): Promise<void>;
}

/** Options for `startNats`. */
export interface StartNatsOptions {
  /** Extra command-line arguments. */
  readonly args?: readonly string[];
  /** Readiness timeout, default 30 s. */
  readonly readyTimeoutMs?: number;
}

async function healthy(monitorUrl: string): Promise<boolean> {
  // /healthz reports ok only once JetStream is up (nats-server 2.7+).
  const res = await fetch(`${monitorUrl}/healthz`, { signal: AbortSignal.timeout(1000) });
  await res.arrayBuffer();
  return res.ok;
}

/** Starts nats-server with `-js -sd <tempdir>` on free ports and waits for /healthz. */
export async function startNats(options: StartNatsOptions = {}): Promise<NatsServer> {
  const { natsServer } = await ensureDebianPackages();
  const dir = await makeTempDir('nats');
  const host = '127.0.0.1';
  let proc: ManagedProcess | undefined;
  try {
    const port = await freePort();
    const monitorPort = await freePort();
    const monitorUrl = `http://${host}:${monitorPort}`;
    const logFile = join(dir, 'nats.log');
    proc = await ManagedProcess.start({
      name: 'nats',
      command: natsServer,
      args: [
        '-a',
        host,
        '-p',
        String(port),
        '-m',
        String(monitorPort),
        '-js',
        '-sd',
        join(dir, 'jetstream'),
        ...(options.args ?? []),
      ],
      cwd: dir,
      logFile,
    });
    await waitUntil(
      `nats on ${host}:${port} (JetStream) to be healthy`,
      () => healthy(monitorUrl),
      options.readyTimeoutMs ?? 30_000,
      {
        process: proc,
      },
    );
    const started = proc;
    return {
      url: `nats://${host}:${port}`,
      host,
      port,
      monitorUrl,
      logFile,
      process: started,
      async stop() {
        await started.stop(5_000);
        await removeTempDir(dir);
      },
    };
  } catch (err) {
    await proc?.stop(2_000);
    await removeTempDir(dir);
    throw err;
  }
}
