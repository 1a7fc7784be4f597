/**
 * gRPC proxying overhead: fortio's gRPC ping load (its own PingServer, 1 KB payloads) at a
 * constant 1000 req/s over 16 connections against, in the same run, (a) fortio's gRPC server
 * directly, (c) the same call proxied through two outriggerd with mTLS (`dapr-app-id` metadata on
 * the caller sidecar's gRPC port; the callee's app is the fortio server, `--app-protocol grpc`),
 * and (d) the pair in plaintext. The method is bench/invoke.ts's: interleaved slices with the
 * order rotated, a lead-in before each, percentiles over all of a path's requests, CPU per call
 * from /proc, and the steal share per path. There is no floor row: no thinner gRPC proxy exists
 * to compare with, so the HTTP benchmark's floor is the reference.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ensureFortio } from '../test/env/fortio.js';
import { freePort, ManagedProcess, makeTempDir, removeTempDir, waitUntil } from '../test/env/process.js';
import { VERSIONS } from '../test/env/versions.js';
import { startSentryFixture } from '../test/integration/sentry/sentry-fixture.js';
import {
  BODY_BYTES,
  CONNECTIONS,
  interleave,
  load,
  mtlsArgs,
  type PathStats,
  pathColumns,
  pathRow,
  startSidecar,
} from './invoke.js';
import { type BenchSettings, type BenchTable, fmt } from './report.js';

/** Runs the benchmark and returns its table. */
export async function benchInvokeGrpc(_settings: BenchSettings): Promise<BenchTable> {
  if (process.platform !== 'linux') throw new Error('the invoke benchmark reads /proc and needs Linux');
  const seconds = Number(process.env.BENCH_INVOKE_SECONDS ?? '10');
  const rounds = Number(process.env.BENCH_INVOKE_ROUNDS ?? '6');
  const lead = Number(process.env.BENCH_INVOKE_LEAD_SECONDS ?? '2');
  const fortio = await ensureFortio((m) => process.stderr.write(`${m}\n`));
  const dir = await makeTempDir('bench-invoke-grpc');
  const sentry = await startSentryFixture();
  const stops: (() => Promise<unknown>)[] = [];
  try {
    const appPort = await freePort();
    const app = await ManagedProcess.start({
      name: 'fortio server',
      command: fortio,
      args: [
        'server',
        '-grpc-port',
        `127.0.0.1:${appPort}`,
        '-http-port',
        `127.0.0.1:${await freePort()}`,
        '-redirect-port',
        'disabled',
      ],
      logFile: join(dir, 'app.log'),
    });
    stops.push(() => app.stop());
    await waitUntil('fortio gRPC server', async () => /grpc/i.test(app.tail(200)), 10_000, {
      process: app,
    });
    const mtls = mtlsArgs(sentry.address);
    const env = { DAPR_TRUST_ANCHORS: await readFile(sentry.trustFile, 'utf8') };
    const grpcApp = ['--app-protocol', 'grpc'];
    const pair = async (home: string, extra: string[], e: Record<string, string>) => {
      const grpcPort = await freePort();
      const b = await startSidecar(home, 'bench-b', appPort, [...grpcApp, ...extra], e);
      stops.push(() => b.proc.stop());
      const a = await startSidecar(
        home,
        'bench-a',
        undefined,
        [...extra, '--dapr-grpc-port', String(grpcPort)],
        e,
      );
      stops.push(() => a.proc.stop());
      return { a, b, grpcPort };
    };
    const secure = await pair(dir, mtls, env);
    await mkdir(join(dir, 'plain'), { recursive: true });
    const plain = await pair(join(dir, 'plain'), [], {});
    const proxied = ['-H', 'dapr-app-id:bench-b'];
    const targets = [
      { label: '(a) direct gRPC server', target: `127.0.0.1:${appPort}`, args: [], pids: [] as number[] },
      {
        label: '(c) proxied via outriggerd → outriggerd, mTLS',
        target: `127.0.0.1:${secure.grpcPort}`,
        args: proxied,
        pids: [secure.a.proc.pid, secure.b.proc.pid],
      },
      {
        label: '(d) proxied, plaintext',
        target: `127.0.0.1:${plain.grpcPort}`,
        args: proxied,
        pids: [plain.a.proc.pid, plain.b.proc.pid],
      },
    ];
    const check = await load(fortio, targets[1]?.target ?? '', 1, 10, [], proxied);
    if (check.errors > 0 || check.requests === 0) throw new Error('gRPC pings through the sidecars failed');
    const stats = await interleave(
      fortio,
      targets.map((t) => ({ target: t.target, pids: t.pids, grpc: t.args })),
      { rounds, seconds, lead, warm: Math.min(5, seconds) },
    );
    const direct = stats[0] as PathStats;
    const rows = targets.map((t, i) =>
      pathRow(t.label, stats[i] as PathStats, i === 0 ? undefined : direct, false),
    );
    return {
      title: 'gRPC proxying: added latency at 1000 req/s (1 KB ping)',
      columns: pathColumns(false),
      rows,
      notes: [
        `fortio ${VERSIONS.fortio} gRPC ping (-grpc -ping, ${BODY_BYTES} B payload): ${CONNECTIONS} connections, -qps 1000 -uniform, histogram resolution 100 µs; ${rounds} rounds of ${seconds} s slices per path, order rotated, ${lead} s lead-in per slice: ${fmt(direct.requests / 1000, 0)}k requests per path.`,
        'The callee app is the fortio server itself (its PingServer), behind `--app-protocol grpc`; the caller adds `dapr-app-id: bench-b`. No Resiliency resource: calls are relayed as they come.',
      ],
    };
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    await sentry.close();
    await removeTempDir(dir);
  }
}
