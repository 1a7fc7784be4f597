/**
 * Latency histograms as fortio reports them (`DurationHistogram.Data`: buckets with a start and end
 * in seconds and a count), merged across load runs so that percentiles come from every request
 * measured rather than from the median of per-run percentiles.
 */

/** One fortio histogram bucket (seconds). */
export interface Bucket {
  readonly Start: number;
  readonly End: number;
  readonly Count: number;
}

/**
 * The buckets of several runs. A run's first bucket starts at its minimum and its last ends at its
 * maximum, so buckets of different runs may overlap; each is taken as uniformly filled (fortio's
 * own interpolation), and a percentile is where the summed distribution reaches it.
 */
export class LatencyHistogram {
  readonly #buckets: Bucket[] = [];
  #count = 0;

  /** Adds one run's buckets. */
  add(buckets: readonly Bucket[]): void {
    for (const b of buckets) {
      if (b.Count <= 0 || !(b.End >= b.Start)) continue;
      this.#buckets.push({ Start: b.Start, End: b.End, Count: b.Count });
      this.#count += b.Count;
    }
  }

  /** Requests counted. */
  get count(): number {
    return this.#count;
  }

  /** The `q`-th percentile (0–100) in milliseconds. */
  percentile(q: number): number {
    if (this.#count === 0) return Number.NaN;
    const target = (this.#count * Math.min(100, Math.max(0, q))) / 100;
    let lo = Math.min(...this.#buckets.map((b) => b.Start));
    let hi = Math.max(...this.#buckets.map((b) => b.End));
    // Bisection on the (monotone) cumulative count; 50 halvings are far below a microsecond.
    for (let i = 0; i < 50; i++) {
      const mid = (lo + hi) / 2;
      if (this.#countBelow(mid) >= target) hi = mid;
      else lo = mid;
    }
    return hi * 1000;
  }

  #countBelow(x: number): number {
    let n = 0;
    for (const b of this.#buckets) {
      if (x >= b.End) n += b.Count;
      else if (x > b.Start) n += (b.Count * (x - b.Start)) / (b.End - b.Start);
    }
    return n;
  }
}
