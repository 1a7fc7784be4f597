/** Sidecar cold start: spawn until `/v1.0/healthz/outbound` answers 204, N runs per variant. */
import { makeTempDir, removeTempDir } from '../test/env/process.js';
import { summarize } from './load.js';
import { type BenchSettings, type BenchTable, fmt } from './report.js';
import { type SpawnVariant, spawnTimed, VARIANT_LABEL } from './sidecar-spawn.js';

const VARIANTS: readonly SpawnVariant[] = ['node-baseline', 'outriggerd-empty', 'outriggerd-sqlite'];

/** Runs the benchmark and returns its table. */
export async function benchColdStart(settings: BenchSettings): Promise<BenchTable> {
  const rows: string[][] = [];
  for (const variant of VARIANTS) {
    const samples: number[] = [];
    for (let i = 0; i < settings.coldRuns; i++) {
      const dir = await makeTempDir('bench-cold');
      try {
        const proc = await spawnTimed(variant, dir);
        samples.push(proc.readyMs);
        await proc.stop();
      } finally {
        await removeTempDir(dir);
      }
    }
    const s = summarize(samples);
    rows.push([
      VARIANT_LABEL[variant],
      String(s.n),
      fmt(s.min, 0),
      fmt(s.p50, 0),
      fmt(s.p99, 0),
      fmt(s.max, 0),
    ]);
  }
  return {
    title: 'Cold start: spawn until /v1.0/healthz/outbound answers 204',
    columns: ['process', 'runs', 'min ms', 'p50 ms', 'p99 ms', 'max ms'],
    rows,
    notes: [
      `${settings.coldRuns} sequential runs per row, each in a fresh temp dir (a new SQLite file for the sqlite row); polled every 5 ms`,
      'the bare Node row is the floor every Node process pays (runtime boot + one HTTP listener); with few runs, p99 is the slowest run',
    ],
  };
}
