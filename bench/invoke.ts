/**
 * Service invocation overhead (issue 5): fortio, the load generator of Dapr's own performance
 * suite, at a constant 1000 req/s (evenly spaced, 16 connections), 1 KB POST bodies, against, in
 * the same run, (a) the app directly, (b) the floor: two raw node:http proxy hops (keep-alive, no
 * TLS, no policies), (c) app → outriggerd → outriggerd → app with mTLS on (certificates from a real
 * sentry), (d) the same pair in plaintext. Reports p50/p90/p99 and the latency added over (a),
 * sidecar CPU per request (from /proc/<pid>/stat deltas) and RSS, then an unthrottled run of (c)
 * for the maximum throughput of the sidecar pair.
 *
 * The paths take turns in slices of BENCH_INVOKE_SECONDS (default 10) for BENCH_INVOKE_ROUNDS
 * rounds (default 9, so 90 s and 90,000 requests per path), and each path's percentiles come from
 * the histogram of all its requests: on a shared machine a burst of CPU steal then lands on every
 * path alike instead of on whichever path was running. The order of the paths rotates by one each
 * round, so that no path always follows the same one (in interleaved A/B runs of two sidecar
 * variants, whichever ran second in the round came out ahead, in both orders). The steal share
 * while each path ran is reported with it. Each slice follows BENCH_INVOKE_LEAD_SECONDS (default 2) of unmeasured load on
 * the same path, so that it measures the path under sustained load, as the middle of one
 * continuous run would: after the 30 s the other paths take, V8 has shrunk an idle sidecar's heap
 * (the memory reducer), and its first seconds back under load cost ~15 % more CPU per call,
 * which a continuous run pays once and the slices would pay nine times. fortio's histogram
 * resolution is 100 µs (`-r 0.0001`); its default, 1 ms, puts every sub-millisecond request in
 * one bucket and makes p50 an interpolation inside it.
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
import { type Bucket, LatencyHistogram } from './latency-histogram.js';
import { type BenchSettings, type BenchTable, fmt } from './report.js';
import { sidecarArgs } from './sidecar-spawn.js';

const execFileAsync = promisify(execFile);

/** One load run as fortio reports it, with the CPU its processes used meanwhile. */
interface Run {
  readonly buckets: readonly Bucket[];
  readonly rps: number;
  readonly requests: number;
  readonly errors: number;
  readonly seconds: number;
  /** CPU ticks (1/100 s) per measured process. */
  readonly ticks: readonly number[];
  /** Machine-wide CPU time while fortio ran. */
  readonly machine: CpuTimes;
}

/** The parts of fortio's `-json` result this benchmark reads (durations in seconds). */
interface FortioResult {
  readonly ActualQPS: number;
  readonly ActualDuration: number;
  readonly RetCodes: Readonly<Record<string, number>>;
  readonly DurationHistogram: {
    readonly Count: number;
    readonly Data: readonly Bucket[];
    readonly Percentiles: readonly { readonly Percentile: number; readonly Value: number }[];
  };
}

/** Machine-wide CPU time (jiffies): all of it and the part the hypervisor gave to others. */
interface CpuTimes {
  readonly total: number;
  readonly steal: number;
}

/** Request body (or ping payload) size. */
export const BODY_BYTES = 1024;
/** fortio's connections. */
export const CONNECTIONS = 16;

async function cpuTimes(): Promise<CpuTimes> {
  const line = (await readFile('/proc/stat', 'utf8')).split('\n', 1)[0] ?? '';
  const f = line.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal ...
  return { total: f.slice(0, 8).reduce((a, b) => a + b, 0), steal: f[7] ?? 0 };
}

/**
 * Runs fortio against `url` (`host:port` with `grpc`); `qps` 0 means as fast as it goes. `grpc`
 * makes it a gRPC ping load (fortio's own PingServer) with these extra arguments (e.g. `-H`).
 */
export async function load(
  fortio: string,
  url: string,
  seconds: number,
  qps: number,
  pids: readonly number[],
  grpc?: readonly string[],
): Promise<Run> {
  const t0 = await Promise.all(pids.map(cpuTicks));
  const c0 = await cpuTimes();
  const { stdout } = await execFileAsync(
    fortio,
    [
      'load',
      '-quiet',
      ...(grpc === undefined ? [] : ['-grpc', '-ping', ...grpc]),
      '-qps',
      String(qps),
      '-c',
      String(CONNECTIONS),
      '-uniform',
      '-t',
      `${seconds}s`,
      '-r',
      '0.0001',
      '-payload-size',
      String(BODY_BYTES),
      ...(grpc === undefined ? ['-content-type', 'application/octet-stream'] : []),
      '-json',
      '-',
      url,
    ],
    { maxBuffer: 64 * 1024 * 1024 },
  );
  const t1 = await Promise.all(pids.map(cpuTicks));
  const c1 = await cpuTimes();
  const result = JSON.parse(stdout) as FortioResult;
  // fortio counts a gRPC ping that answered as SERVING.
  const ok = result.RetCodes[grpc === undefined ? '200' : 'SERVING'] ?? 0;
  return {
    buckets: result.DurationHistogram.Data,
    rps: result.ActualQPS,
    requests: result.DurationHistogram.Count,
    errors: result.DurationHistogram.Count - ok,
    seconds: result.ActualDuration / 1e9,
    ticks: pids.map((_, i) => (t1[i] ?? 0) - (t0[i] ?? 0)),
    machine: { total: c1.total - c0.total, steal: c1.steal - c0.steal },
  };
}

/** One path's runs added up. */
export class PathStats {
  readonly histogram = new LatencyHistogram();
  readonly perRun: { p50: number; p99: number }[] = [];
  requests = 0;
  errors = 0;
  seconds = 0;
  ticks: number[] = [];
  machine: CpuTimes = { total: 0, steal: 0 };
  rssMiB: number[] = [];

  add(run: Run, rss: number[]): void {
    this.histogram.add(run.buckets);
    const one = new LatencyHistogram();
    one.add(run.buckets);
    this.perRun.push({ p50: one.percentile(50), p99: one.percentile(99) });
    this.requests += run.requests;
    this.errors += run.errors;
    this.seconds += run.seconds;
    this.ticks = run.ticks.map((t, i) => t + (this.ticks[i] ?? 0));
    this.machine = {
      total: this.machine.total + run.machine.total,
      steal: this.machine.steal + run.machine.steal,
    };
    this.rssMiB = rss;
  }

  get rps(): number {
    return this.requests / this.seconds;
  }

  /** Percent of one core per process. */
  get cpuPct(): number[] {
    return this.ticks.map((t) => t / this.seconds);
  }

  /** CPU milliseconds per request per process. */
  get cpuMsPerRequest(): number[] {
    return this.ticks.map((t) => (t * 10) / this.requests);
  }

  get stealPct(): number {
    return this.machine.total === 0 ? 0 : (100 * this.machine.steal) / this.machine.total;
  }
}

/** One path of an interleaved run: fortio's target, the processes whose CPU counts, gRPC arguments. */
export interface BenchPath {
  readonly target: string;
  readonly pids: readonly number[];
  readonly grpc?: readonly string[];
}

/**
 * Runs the paths in turns of `seconds` (see the header): the order rotates each round, the first
 * round starts each path with `warm` s of unmeasured load and later ones with `lead` s. Returns
 * each path's figures over all its slices, at 1000 req/s.
 */
export async function interleave(
  fortio: string,
  paths: readonly BenchPath[],
  o: { rounds: number; seconds: number; lead: number; warm: number },
): Promise<PathStats[]> {
  const stats = paths.map(() => new PathStats());
  for (let round = 0; round < o.rounds; round++) {
    for (let k = 0; k < paths.length; k++) {
      const i = (k + round) % paths.length;
      const t = paths[i] as BenchPath;
      await load(fortio, t.target, round === 0 ? o.warm : o.lead, 1000, t.pids, t.grpc);
      const run = await load(fortio, t.target, o.seconds, 1000, t.pids, t.grpc);
      stats[i]?.add(run, await Promise.all(t.pids.map(rssMiB)));
    }
  }
  return stats;
}

/**
 * A path's table row: rate, p50/p90/p99, latency added over `direct` (none for the baseline
 * itself), CPU (% of a core when `cpuPct`, and ms per call) and RSS per process, steal, errors.
 */
export function pathRow(
  label: string,
  s: PathStats,
  direct: PathStats | undefined,
  cpuPct: boolean,
): string[] {
  const q = (x: PathStats, p: number): number => x.histogram.percentile(p);
  const added = (p: number): string => (direct === undefined ? '—' : `+${fmt(q(s, p) - q(direct, p))}`);
  const perProcess = (xs: number[], digits: number): string =>
    xs.length === 0 ? '—' : xs.map((x) => fmt(x, digits)).join(' / ');
  return [
    label,
    fmt(s.rps, 0),
    fmt(q(s, 50)),
    fmt(q(s, 90)),
    fmt(q(s, 99)),
    added(50),
    added(90),
    added(99),
    ...(cpuPct ? [perProcess(s.cpuPct, 0)] : []),
    perProcess(s.cpuMsPerRequest, 3),
    perProcess(s.rssMiB, 0),
    fmt(s.stealPct, 1),
    String(s.errors),
  ];
}

/** The columns of `pathRow`'s rows. */
export function pathColumns(cpuPct: boolean): string[] {
  return [
    'path',
    'req/s',
    'p50 ms',
    'p90 ms',
    'p99 ms',
    '+p50',
    '+p90',
    '+p99',
    ...(cpuPct ? ['CPU % (hop1 / hop2)'] : []),
    'CPU ms/req',
    'RSS MiB',
    'steal %',
    'errors',
  ];
}

/** The flags that turn mTLS on with certificates from the sentry at `sentryAddress`. */
export function mtlsArgs(sentryAddress: string): string[] {
  return [
    '--enable-mtls',
    '--sentry-address',
    sentryAddress,
    '--control-plane-trust-domain',
    'cluster.local',
    '--control-plane-namespace',
    'dapr-system',
  ];
}

/** Starts one outriggerd for the benchmark and waits until it is ready. */
export async function startSidecar(
  dir: string,
  appId: string,
  appPort: number | undefined,
  extraArgs: readonly string[],
  env: Record<string, string>,
  nodeArgs: string | undefined = process.env.BENCH_INVOKE_SIDECAR_NODE_ARGS,
  main?: string,
): Promise<{ proc: ManagedProcess; port: number }> {
  const port = await freePort();
  const args = [
    // e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" to see where a sidecar's time goes.
    ...(nodeArgs?.split(' ').filter((a) => a !== '') ?? []),
    ...(await sidecarArgs(appId, port, main)),
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
  const seconds = Number(process.env.BENCH_INVOKE_SECONDS ?? '10');
  const maxSeconds = Number(process.env.BENCH_INVOKE_MAX_SECONDS ?? '10');
  const rounds = Number(process.env.BENCH_INVOKE_ROUNDS ?? '9');
  const lead = Number(process.env.BENCH_INVOKE_LEAD_SECONDS ?? '2');
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
    const mtls = mtlsArgs(sentry.address);
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
    // A third mTLS pair measured in the same interleaved rounds, for an A/B against (c): started
    // with other node flags (BENCH_INVOKE_VARIANT_NODE_ARGS) and/or from another build's
    // sidecar/main.js (BENCH_INVOKE_VARIANT_MAIN, e.g. a worktree of the previous commit).
    const variantArgs = process.env.BENCH_INVOKE_VARIANT_NODE_ARGS;
    const variantMain = process.env.BENCH_INVOKE_VARIANT_MAIN;
    const variant =
      variantArgs === undefined && variantMain === undefined
        ? undefined
        : await (async () => {
            const variantDir = join(dir, 'variant');
            await mkdir(variantDir, { recursive: true });
            const start = (appId: string, port: number | undefined) =>
              startSidecar(variantDir, appId, port, mtls, env, variantArgs ?? '', variantMain);
            const vb = await start('bench-b', app.port);
            stops.push(() => vb.proc.stop());
            const va = await start('bench-a', undefined);
            stops.push(() => va.proc.stop());
            const what = [variantArgs === undefined ? '' : `node ${variantArgs}`, variantMain ?? ''];
            return { a: va, b: vb, args: what.filter((w) => w !== '').join(', ') };
          })();
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
      ...(variant === undefined
        ? []
        : [
            {
              label: `(e) outriggerd → outriggerd, mTLS, ${variant.args}`,
              url: `http://127.0.0.1:${variant.a.port}/v1.0/invoke/bench-b/method/orders`,
              pids: [variant.a.proc.pid, variant.b.proc.pid],
            },
          ]),
    ];
    // BENCH_INVOKE_PATHS=c,d measures a subset (the direct path always runs: it is the baseline).
    const only = process.env.BENCH_INVOKE_PATHS?.split(',');
    const measured = targets.filter(
      (t, i) => i === 0 || only === undefined || only.includes(t.label[1] ?? ''),
    );
    const stats = await interleave(
      fortio,
      measured.map((t) => ({ target: t.url, pids: t.pids })),
      { rounds, seconds, lead, warm },
    );
    const maxRun = await load(fortio, sidecarUrl, maxSeconds, 0, [a.proc.pid, b.proc.pid]);
    const max = new PathStats();
    max.add(maxRun, await Promise.all([a.proc.pid, b.proc.pid].map(rssMiB)));
    const direct = stats[0] as PathStats;
    const mtlsIndex = measured.findIndex((t) => t.url === sidecarUrl);
    const mtlsCeiling =
      mtlsIndex < 0
        ? 'not measured'
        : (stats[mtlsIndex] as PathStats).cpuMsPerRequest.map((ms) => fmt(1000 / ms, 0)).join(' / ');
    const q = (s: PathStats, p: number): number => s.histogram.percentile(p);
    // The issue's bar: each sidecar path's added latency within 1.5x of the floor's, per percentile.
    const floorIndex = measured.findIndex((t) => t.label.startsWith('(b)'));
    const againstFloor =
      floorIndex < 0
        ? 'the floor was not measured'
        : measured
            .map((t, i) => {
              if (i <= floorIndex) return '';
              const ratios = [50, 90, 99].map((p) => {
                const floorAdded = q(stats[floorIndex] as PathStats, p) - q(direct, p);
                return `${fmt((q(stats[i] as PathStats, p) - q(direct, p)) / floorAdded)}×`;
              });
              return `${t.label.slice(0, 3)} ${ratios.join(' / ')}`;
            })
            .filter((x) => x !== '')
            .join(', ');
    const rows = measured.map((t, i) =>
      pathRow(t.label, stats[i] as PathStats, i === 0 ? undefined : direct, true),
    );
    return {
      title: 'Service invocation: added latency at 1000 req/s (1 KB POST)',
      columns: pathColumns(true),
      rows,
      notes: [
        `fortio ${VERSIONS.fortio} (Dapr's perf-suite load generator, its own process): ${CONNECTIONS} connections, -qps 1000 -uniform (evenly spaced), histogram resolution 100 µs, ${BODY_BYTES} B POST bodies. The paths take turns in ${seconds} s slices, in an order rotated each round, ${rounds} rounds after ${warm} s of warm-up each, each slice after ${lead} s of unmeasured load on its path: ${fmt(direct.requests / 1000, 0)}k requests per path, and each percentile is over all of them.`,
        `Per slice, p50: ${measured.map((t, i) => `${t.label.slice(0, 3)} ${(stats[i]?.perRun ?? []).map((r) => fmt(r.p50)).join('/')}`).join(', ')}.`,
        `Per slice, p99: ${measured.map((t, i) => `${t.label.slice(0, 3)} ${(stats[i]?.perRun ?? []).map((r) => fmt(r.p99)).join('/')}`).join(', ')}.`,
        'steal %: the share of machine CPU time the hypervisor gave to other guests while the path ran (/proc/stat); it shows how noisy the machine was.',
        'Floor: two node:http proxy child processes (keep-alive, no TLS, no policies). Sidecars: two outriggerd, mTLS with sentry-issued certificates, local name-resolution registry, CallLocalStream over HTTP/2 (a second connection to the peer when the first is still writing).',
        `Unthrottled (${CONNECTIONS} connections, ${maxSeconds} s) through both sidecars: ${fmt(max.rps, 0)} req/s, p50 ${fmt(q(max, 50))} ms, p99 ${fmt(q(max, 99))} ms; sidecar CPU ${max.cpuPct.map((c) => fmt(c, 0)).join(' / ')} %, RSS ${max.rssMiB.map((r) => fmt(r, 0)).join(' / ')} MiB. All processes share the same 2 cores, so this is the pair's throughput, not one sidecar's.`,
        `Throughput per sidecar, CPU-bound (one core ÷ its CPU per call at 1000 req/s, mTLS): ${mtlsCeiling} req/s (caller / callee).`,
        `Added latency against the floor's, p50 / p90 / p99 (the target is 1.5× or less): ${againstFloor}.`,
        "Dapr's published figure (v1.17 perf suite, k8s): +1.06 ms p50, +1.48 ms p90, +2.90 ms p99 at 1000 QPS.",
      ],
    };
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    await sentry.close();
    await removeTempDir(dir);
  }
}
