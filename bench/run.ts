/**
 * `npm run bench`: runs each benchmark (bounded, loopback only) and prints markdown tables.
 * `node dist/bench/run.js cold-start idle-rss` runs a subset. Knobs: BENCH_CONCURRENCY,
 * BENCH_DURATION_SECONDS, BENCH_WARMUP_SECONDS, BENCH_COLD_RUNS. A benchmark, not a test: it
 * asserts nothing about speed.
 */
import { cpus, loadavg, totalmem } from 'node:os';
import { benchColdStart } from './cold-start.js';
import { benchIdleRss } from './idle-rss.js';
import { benchInvoke } from './invoke.js';
import { benchInvokeGrpc } from './invoke-grpc.js';
import { type BenchSettings, type BenchTable, readSettings, renderTable } from './report.js';
import { benchSentrySigning } from './sentry-signing.js';
import { benchStateRedis } from './state-redis.js';

/** Every benchmark by name, in the order they run. */
export const BENCHMARKS: Readonly<Record<string, (s: BenchSettings) => Promise<BenchTable>>> = {
  'state-redis': benchStateRedis,
  'cold-start': benchColdStart,
  'idle-rss': benchIdleRss,
  invoke: benchInvoke,
  'invoke-grpc': benchInvokeGrpc,
  'sentry-signing': benchSentrySigning,
};

async function main(argv: readonly string[]): Promise<number> {
  const unknown = argv.filter((a) => !(a in BENCHMARKS));
  if (unknown.length > 0) {
    process.stderr.write(
      `unknown benchmark(s): ${unknown.join(', ')}; known: ${Object.keys(BENCHMARKS).join(', ')}\n`,
    );
    return 1;
  }
  const names = argv.length > 0 ? argv : Object.keys(BENCHMARKS);
  const settings = readSettings(process.env);
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  process.stdout.write(
    `## Outrigger benchmarks\n\nNode ${process.version}, ${cpus().length} × ${cpu}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, ` +
      `load average ${loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')} at start, ${new Date().toISOString()}\n\n`,
  );
  let failed = 0;
  for (const name of names) {
    const bench = BENCHMARKS[name];
    if (bench === undefined) continue;
    process.stderr.write(`running ${name}...\n`);
    try {
      process.stdout.write(`${renderTable(await bench(settings))}\n`);
    } catch (err) {
      failed++;
      process.stdout.write(`### ${name}\n\nFAILED: ${(err as Error).stack ?? String(err)}\n\n`);
    }
  }
  return failed === 0 ? 0 : 1;
}

process.exitCode = await main(process.argv.slice(2));
