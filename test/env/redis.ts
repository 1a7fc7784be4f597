/**
 * A private redis-server for a test: free loopback port, no persistence, working dir in a temp
 * folder. Never the system's Redis service.
 */

import { createConnection } from 'node:net';
import { join } from 'node:path';
import { ensureDebianPackages } from './debian.js';
import { canConnect, freePort, ManagedProcess, makeTempDir, removeTempDir, waitUntil } from './process.js';

/** A running redis-server. */
export interface RedisServer {
  /** Always 127.0.0.1. */
  readonly host: string;
  /** TCP port. */
  readonly port: number;
  /** `redis://127.0.0.1:<port>`. */
  readonly url: string;
  /** The server's log. */
  readonly logFile: string;
  /** The server process (tracked by PID). */
  readonly process: ManagedProcess;
  /** Stops the server by PID and removes its temp dir. */
  stop(): Promise<void>;
}

/** Options for `startRedis`. */
export interface StartRedisOptions {
  /** Extra `--name value` arguments, e.g. `['--maxmemory', '64mb']`. */
  readonly args?: readonly string[];
  /** Readiness timeout, default 30 s. */
  readonly readyTimeoutMs?: number;
}

/** Sends PING and resolves true on `+PONG` (a raw RESP exchange, no client library needed). */
async function ping(host: string, port: number): Promise<boolean> {
  if (!(await canConnect(host, port))) return false;
  return await new Promise<boolean>((resolve) => {
    const socket = createConnection({ host, port });
    let reply = '';
    socket.setTimeout(1000);
    socket.setEncoding('utf8');
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (d: string) => {
      reply += d;
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
    socket.once('error', () => done(false));
    socket.once('timeout', () => done(false));
  });
}

/** Starts redis-server on a free port (`--save '' --appendonly no`) and waits for PONG. */
export async function startRedis(options: StartRedisOptions = {}): Promise<RedisServer> {
  const { redisServer } = await ensureDebianPackages();
  const dir = await makeTempDir('redis');
  const host = '127.0.0.1';
  let proc: ManagedProcess | undefined;
  try {
    const port = await freePort();
    const logFile = join(dir, 'redis.log');
    proc = await ManagedProcess.start({
      name: 'redis',
      command: redisServer,
      args: [
        '--port',
        String(port),
        '--bind',
        host,
        '--save',
        '',
        '--appendonly',
        'no',
        '--dir',
        dir,
        '--daemonize',
        'no',
        '--protected-mode',
        'no',
        ...(options.args ?? []),
      ],
      cwd: dir,
      logFile,
    });
    await waitUntil(
      `redis on ${host}:${port} to answer PING`,
      () => ping(host, port),
      options.readyTimeoutMs ?? 30_000,
      {
        process: proc,
      },
    );
    const started = proc;
    return {
      host,
      port,
      url: `redis://${host}:${port}`,
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
