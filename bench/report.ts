/** Benchmark results as markdown tables, the format the issue notes quote. */

/** One benchmark's table. */
export interface BenchTable {
  readonly title: string;
  readonly columns: readonly string[];
  readonly rows: readonly (readonly string[])[];
  /** Lines printed under the table (setup, caveats). */
  readonly notes: readonly string[];
}

/** Settings every benchmark reads from the environment, with small defaults (bounded runs). */
export interface BenchSettings {
  /** Concurrent clients of the closed loop (`BENCH_CONCURRENCY`, default 16). */
  readonly concurrency: number;
  /** Measured seconds per load run (`BENCH_DURATION_SECONDS`, default 5). */
  readonly durationMs: number;
  /** Warm-up seconds per load run, not measured (`BENCH_WARMUP_SECONDS`, default 1). */
  readonly warmupMs: number;
  /** Cold starts to time (`BENCH_COLD_RUNS`, default 10). */
  readonly coldRuns: number;
}

function positive(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number, got "${raw}"`);
  return n;
}

/** Reads `BenchSettings` from `env`. */
export function readSettings(env: NodeJS.ProcessEnv): BenchSettings {
  return {
    concurrency: Math.floor(positive(env, 'BENCH_CONCURRENCY', 16)),
    durationMs: positive(env, 'BENCH_DURATION_SECONDS', 5) * 1000,
    warmupMs: positive(env, 'BENCH_WARMUP_SECONDS', 1) * 1000,
    coldRuns: Math.floor(positive(env, 'BENCH_COLD_RUNS', 10)),
  };
}

/** Formats a number with `digits` decimals. */
export function fmt(n: number, digits = 2): string {
  return Number.isFinite(n) ? n.toFixed(digits) : 'n/a';
}

/** Renders one table as markdown. */
export function renderTable(table: BenchTable): string {
  const line = (cells: readonly string[]): string => `| ${cells.join(' | ')} |`;
  return [
    `### ${table.title}`,
    '',
    line(table.columns),
    line(table.columns.map(() => '---')),
    ...table.rows.map(line),
    '',
    ...table.notes.map((n) => `- ${n}`),
    '',
  ].join('\n');
}
