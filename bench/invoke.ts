/**
 * Service invocation overhead (issue 5): fortio, the load generator of Dapr's own performance
 * suite, at a constant 1000 req/s (evenly spaced, 16 connections) for BENCH_INVOKE_SECONDS
 * (default 30) per round, BENCH_INVOKE_ROUNDS (default 3) interleaved rounds, with 1 KB POST
 * bodies against, in the same run, (a) the app directly, (b) the floor:
 * two raw node:http proxy hops (keep-alive, no TLS, no policies), (c) app → outriggerd → outriggerd
 * → app with mTLS on (certificates from a real sentry), (d) the same pair in plaintext. Reports
 * p50/p90/p99 and the latency added over (a), sidecar CPU (from /proc/<pid>/stat deltas) and RSS,
 * then an unthrottled run of (c) for the maximum throughput of the sidecar pair.
 *
 * autocannon is not used: its rate limit sends each second's quota back to back and then idles,
 * so "1000 req/s" there measures latency at 16-way concurrency, not at a steady 1000 req/s.
 */
import { execFile } from 'node:child_process';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ensureFortio } from '../test/env/fortio.js';
import { freePort, ManagedProcess, makeTempDir, removeTempDir, waitUntil } from '../test/env/process.js';
import { VERSIONS } from '../test/env/versions.js';
import { startSentryFixture } from '../test/integration/sentry/sentry-fixture.js';
import { cpuTicks, type HelperProcess, rssMiB, startBenchApp, startProxyHop } from './invoke-processes.js';
import { type BenchSettings, type BenchTable, fmt } from './report.js';
import { sidecarArgs } from './sidecar-spawn.js';

const execFileAsync = promisify(execFile);

/** One load run's numbers (milliseconds, requests per second, percent, MiB). */
interface RunStats {
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly rps: number;
  readonly errors: number;
  readonly cpuPct: readonly number[];
  readonly rssMiB: readonly number[];
}

/** The parts of fortio's `-json` result this benchmark reads (durations in seconds). */
interface FortioResult {
  readonly ActualQPS: number;
  readonly RetCodes: Readonly<Record<string, number>>;
  readonly DurationHistogram: {
    readonly Count: number;
    readonly Percentiles: readonly { readonly Percentile: number; readonly Value: number }[];
  };
}

const BODY_BYTES = 1024;
const CONNECTIONS = 16;

/** Runs fortio against `url`; `qps` 0 means as fast as it goes. */
async function load(
  fortio: string,
  url: string,
  seconds: number,
  qps: number,
  pids: readonly number[],
): Promise<RunStats> {
  const t0 = await Promise.all(pids.map(cpuTicks));
  const started = performance.now();
  const { stdout } = await execFileAsync(
    fortio,
    [
      'load',
      '-quiet',
      '-qps',
      String(qps),
      '-c',
      String(CONNECTIONS),
      '-uniform',
      '-t',
      `${seconds}s`,
      '-payload-size',
      String(BODY_BYTES),
      '-content-type',
      'application/octet-stream',
      '-p',
      '50,90,99',
      '-json',
      '-',
      url,
    ],
    { maxBuffer: 64 * 1024 * 1024 },
  );
  const elapsed = (performance.now() - started) / 1000;
  const t1 = await Promise.all(pids.map(cpuTicks));
  const rss = await Promise.all(pids.map(rssMiB));
  const result = JSON.parse(stdout) as FortioResult;
  const pct = (p: number): number =>
    (result.DurationHistogram.Percentiles.find((x) => x.Percentile === p)?.Value ?? Number.NaN) * 1000;
  const ok = result.RetCodes['200'] ?? 0;
  return {
    p50: pct(50),
    p90: pct(90),
    p99: pct(99),
    rps: result.ActualQPS,
    errors: result.DurationHistogram.Count - ok,
    cpuPct: pids.map((_, i) => (((t1[i] ?? 0) - (t0[i] ?? 0)) / 100 / elapsed) * 100),
    rssMiB: rss,
  };
}

/** The per-field median of several runs (latencies, rate, CPU and RSS each on their own). */
function medianStats(runs: readonly RunStats[]): RunStats {
  const med = (xs: number[]): number => {
    const sorted = xs.sort((x, y) => x - y);
    return sorted[Math.floor((sorted.length - 1) / 2)] ?? Number.NaN;
  };
  const field = (f: (r: RunStats) => number): number => med(runs.map(f));
  const first = runs[0];
  return {
    p50: field((r) => r.p50),
    p90: field((r) => r.p90),
    p99: field((r) => r.p99),
    rps: field((r) => r.rps),
    errors: runs.reduce((n, r) => n + r.errors, 0),
    cpuPct: (first?.cpuPct ?? []).map((_, i) => field((r) => r.cpuPct[i] ?? Number.NaN)),
    rssMiB: runs[runs.length - 1]?.rssMiB ?? [],
  };
}

async function startSidecar(
  dir: string,
  appId: string,
  appPort: number | undefined,
  extraArgs: readonly string[],
  env: Record<string, string>,
): Promise<{ proc: ManagedProcess; port: number }> {
  const port = await freePort();
  const args = [
    // e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" to see where a sidecar's time goes.
    ...(process.env.BENCH_INVOKE_SIDECAR_NODE_ARGS?.split(' ').filter((a) => a !== '') ?? []),
    ...(await sidecarArgs(appId, port)),
    ...(appPort === undefined ? [] : ['--app-port', String(appPort)]),
    ...extraArgs,
  ];
  const proc = await ManagedProcess.start({
    name: `outriggerd(${appId})`,
    command: process.execPath,
    args,
    logFile: join(dir, `${appId}.log`),
    env: {
      ...process.env,
      OUTRIGGER_HOME: dir,
      OUTRIGGER_DATA_DIR: join(dir, 'data'),
      ...env,
    },
  });
  await waitUntil(
    `outriggerd ${appId} ready`,
    async () => (await fetch(`http://127.0.0.1:${port}/v1.0/healthz/outbound`)).status === 204,
    30_000,
    { process: proc },
  );
  return { proc, port };
}

/** Runs the benchmark and returns its table. */
export async function benchInvoke(_settings: BenchSettings): Promise<BenchTable> {
  if (process.platform !== 'linux') throw new Error('the invoke benchmark reads /proc and needs Linux');
  const seconds = Number(process.env.BENCH_INVOKE_SECONDS ?? '30');
  const maxSeconds = Number(process.env.BENCH_INVOKE_MAX_SECONDS ?? '10');
  const rounds = Number(process.env.BENCH_INVOKE_ROUNDS ?? '3');
  const fortio = await ensureFortio((m) => process.stderr.write(`${m}\n`));
  const dir = await makeTempDir('bench-invoke');
  const sentry = await startSentryFixture();
  const stops: (() => Promise<unknown>)[] = [];
  try {
    const app = await startBenchApp(join(dir, 'app.log'));
    stops.push(() => app.proc.stop());
    const hop2: HelperProcess = await startProxyHop(app.port, join(dir, 'hop2.log'));
    stops.push(() => hop2.proc.stop());
    const hop1: HelperProcess = await startProxyHop(hop2.port, join(dir, 'hop1.log'));
    stops.push(() => hop1.proc.stop());
    const mtls = [
      '--enable-mtls',
      '--sentry-address',
      sentry.address,
      '--control-plane-trust-domain',
      'cluster.local',
      '--control-plane-namespace',
      'dapr-system',
    ];
    const env = { DAPR_TRUST_ANCHORS: await readFile(sentry.trustFile, 'utf8') };
    const b = await startSidecar(dir, 'bench-b', app.port, mtls, env);
    stops.push(() => b.proc.stop());
    const a = await startSidecar(dir, 'bench-a', undefined, mtls, env);
    stops.push(() => a.proc.stop());
    // The same pair without mTLS (separate home: plaintext and mTLS sidecars cannot talk).
    const plainDir = join(dir, 'plain');
    await mkdir(plainDir, { recursive: true });
    const pb = await startSidecar(plainDir, 'bench-b', app.port, [], {});
    stops.push(() => pb.proc.stop());
    const pa = await startSidecar(plainDir, 'bench-a', undefined, [], {});
    stops.push(() => pa.proc.stop());
    const sidecarUrl = `http://127.0.0.1:${a.port}/v1.0/invoke/bench-b/method/orders`;
    const check = await fetch(sidecarUrl, { method: 'POST', body: Buffer.alloc(BODY_BYTES, 120) });
    if (check.status !== 200)
      throw new Error(`invocation through the sidecars answered ${check.status}: ${await check.text()}`);
    const warm = Math.min(5, seconds);
    const targets = [
      { label: '(a) direct app', url: `http://127.0.0.1:${app.port}/orders`, pids: [] as number[] },
      {
        label: '(b) floor: two raw node:http hops',
        url: `http://127.0.0.1:${hop1.port}/orders`,
        pids: [hop1.proc.pid, hop2.proc.pid],
      },
      { label: '(c) outriggerd → outriggerd, mTLS', url: sidecarUrl, pids: [a.proc.pid, b.proc.pid] },
      {
        label: '(d) outriggerd → outriggerd, plaintext',
        url: `http://127.0.0.1:${pa.port}/v1.0/invoke/bench-b/method/orders`,
        pids: [pa.proc.pid, pb.proc.pid],
      },
    ];
    // BENCH_INVOKE_PATHS=c,d measures a subset (the direct path always runs: it is the baseline).
    const only = process.env.BENCH_INVOKE_PATHS?.split(',');
    const measured = targets.filter(
      (t, i) => i === 0 || only === undefined || only.includes(t.label[1] ?? ''),
    );
    // Rounds interleave the paths, so a burst of noise from the shared machine hits one round of
    // each rather than all of one path; each figure is the median over the rounds.
    const perPath: RunStats[][] = measured.map(() => []);
    for (let round = 0; round < rounds; round++) {
      for (const [i, t] of measured.entries()) {
        if (round === 0) await load(fortio, t.url, warm, 1000, t.pids);
        perPath[i]?.push(await load(fortio, t.url, seconds, 1000, t.pids));
      }
    }
    const stats = perPath.map(medianStats);
    const max = await load(fortio, sidecarUrl, maxSeconds, 0, [a.proc.pid, b.proc.pid]);
    const direct = stats[0] as RunStats;
    const rows = measured.map((t, i) => {
      const s = stats[i] as RunStats;
      const added = (q: 'p50' | 'p90' | 'p99'): string => (i === 0 ? '—' : `+${fmt(s[q] - direct[q])}`);
      return [
        t.label,
        fmt(s.rps, 0),
        fmt(s.p50),
        fmt(s.p90),
        fmt(s.p99),
        added('p50'),
        added('p90'),
        added('p99'),
        s.cpuPct.length === 0 ? '—' : s.cpuPct.map((c) => fmt(c, 0)).join(' / '),
        s.cpuPct.length === 0 ? '—' : s.cpuPct.map((c) => fmt((c * 10) / s.rps, 3)).join(' / '),
        s.rssMiB.length === 0 ? '—' : s.rssMiB.map((r) => fmt(r, 0)).join(' / '),
        String(s.errors),
      ];
    });
    return {
      title: 'Service invocation: added latency at 1000 req/s (1 KB POST)',
      columns: [
        'path',
        'req/s',
        'p50 ms',
        'p90 ms',
        'p99 ms',
        '+p50',
        '+p90',
        '+p99',
        'CPU % (hop1 / hop2)',
        'CPU ms/req',
        'RSS MiB',
        'errors',
      ],
      rows,
      notes: [
        `fortio ${VERSIONS.fortio} (Dapr's perf-suite load generator, its own process): ${CONNECTIONS} connections, -qps 1000 -uniform (evenly spaced), ${BODY_BYTES} B POST bodies, ${seconds} s measured per path and round after ${warm} s warm-up; ${rounds} interleaved rounds, each figure the median of the rounds.`,
        `p50 per round: ${measured.map((t, i) => `${t.label.slice(0, 3)} ${(perPath[i] ?? []).map((r) => fmt(r.p50)).join('/')}`).join(', ')}; p99 per round: ${measured.map((t, i) => `${t.label.slice(0, 3)} ${(perPath[i] ?? []).map((r) => fmt(r.p99)).join('/')}`).join(', ')}.`,
        'Floor: two node:http proxy child processes (keep-alive, no TLS, no policies). Sidecars: two outriggerd, mTLS with sentry-issued certificates, local name-resolution registry, CallLocalStream over one HTTP/2 connection.',
        `Unthrottled (${CONNECTIONS} connections, ${maxSeconds} s) through both sidecars: ${fmt(max.rps, 0)} req/s, p50 ${fmt(max.p50)} ms, p99 ${fmt(max.p99)} ms; sidecar CPU ${max.cpuPct.map((c) => fmt(c, 0)).join(' / ')} %, RSS ${max.rssMiB.map((r) => fmt(r, 0)).join(' / ')} MiB. All processes share the same 2 cores, so this is the pair's throughput, not one sidecar's.`,
        "Dapr's published figure (v1.17 perf suite, k8s): +1.06 ms p50, +1.48 ms p90, +2.90 ms p99 at 1000 QPS.",
      ],
    };
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    await sentry.close();
    await removeTempDir(dir);
  }
}
