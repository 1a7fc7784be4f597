/**
 * A bounded closed-loop load generator: `concurrency` workers each run `op` back to back for
 * `durationMs` (after a `warmupMs` whose samples are dropped), recording every latency. The same
 * loop drives the sidecar and the direct Redis baselines, so their numbers compare like for like.
 */

/** Summary of one measured run. */
export interface LoadStats {
  readonly ops: number;
  readonly errors: number;
  readonly opsPerSecond: number;
  /** Latencies in milliseconds. */
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
}

/** Options for `closedLoop`. */
export interface LoadOptions {
  readonly concurrency: number;
  readonly durationMs: number;
  readonly warmupMs: number;
}

/** The value at quantile `q` (0..1) of ascending `sorted` (nearest rank). */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank] as number;
}

/**
 * Runs the loop. `op(worker, n)` gets its worker index and a per-worker counter (to pick keys);
 * a rejected op counts as an error, and the first error message is kept for the report.
 */
export async function closedLoop(
  op: (worker: number, n: number) => Promise<void>,
  options: LoadOptions,
): Promise<LoadStats & { readonly firstError?: string }> {
  const latencies: number[] = [];
  let errors = 0;
  let firstError: string | undefined;
  const start = performance.now();
  const measureFrom = start + options.warmupMs;
  const end = measureFrom + options.durationMs;
  let measuredOps = 0;
  const worker = async (w: number): Promise<void> => {
    for (let n = 0; ; n++) {
      const t0 = performance.now();
      if (t0 >= end) return;
      try {
        await op(w, n);
      } catch (err) {
        errors++;
        firstError ??= (err as Error).message;
      }
      const t1 = performance.now();
      if (t0 >= measureFrom && t1 <= end) {
        latencies.push(t1 - t0);
        measuredOps++;
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, (_, w) => worker(w)));
  latencies.sort((a, b) => a - b);
  return {
    ops: measuredOps,
    errors,
    opsPerSecond: measuredOps / (options.durationMs / 1000),
    p50: quantile(latencies, 0.5),
    p90: quantile(latencies, 0.9),
    p99: quantile(latencies, 0.99),
    max: latencies.at(-1) ?? Number.NaN,
    ...(firstError === undefined ? {} : { firstError }),
  };
}

/** Numbers from repeated one-shot measurements (cold starts, RSS samples). */
export interface SampleStats {
  readonly n: number;
  readonly min: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
}

/** Summarises samples. */
export function summarize(samples: readonly number[]): SampleStats {
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    n: sorted.length,
    min: sorted[0] ?? Number.NaN,
    p50: quantile(sorted, 0.5),
    p99: quantile(sorted, 0.99),
    max: sorted.at(-1) ?? Number.NaN,
  };
}
