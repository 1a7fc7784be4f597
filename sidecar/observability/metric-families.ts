/**
 * The sidecar's metric families: prom-client's recording calls (`inc(labels, value)`,
 * `set(labels, value)`, `observe(labels, value)`) and prom-client's Registry contract (`name`,
 * `help`, `type`, `aggregator`, `get()`), so that the Registry renders them next to the process
 * metrics and `getSingleMetric` finds them, with recording that does not allocate.
 *
 * prom-client turns every call's label object into a sorted `key:value` string to find the series,
 * which was a tenth of the bytes a sidecar allocated per invocation (the young-generation
 * collections that allocation causes are most of the latency tail). Here a family keeps its series
 * in a tree of Maps, one level per label in `labelNames` order, so that recording on an existing
 * series is a few Map lookups. Label values are compared as given: callers pass strings.
 */
import type { Metric, Registry } from 'prom-client';

type LabelValue = string | number;
type Labels<L extends string> = Partial<Record<L, LabelValue>>;

/** One exported sample, as prom-client's Registry reads it. */
interface Sample {
  readonly value: number;
  readonly labels: Record<string, LabelValue>;
  readonly metricName?: string;
}

/** What `get()` resolves to, as prom-client's Registry reads it. */
interface FamilyData {
  readonly name: string;
  readonly help: string;
  readonly type: 'counter' | 'gauge' | 'histogram';
  readonly values: Sample[];
  readonly aggregator: 'sum';
}

/** A series tree: label value → subtree, and at the last label, value → series. */
type SeriesTree = Map<LabelValue | undefined, unknown>;

abstract class Family<L extends string, S extends { readonly labels: Record<string, LabelValue> }> {
  abstract readonly type: FamilyData['type'];
  readonly aggregator = 'sum' as const;
  readonly #root: SeriesTree = new Map();
  /** Every series, in the order of their first recording (the export order). */
  protected readonly all: S[] = [];

  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly L[],
    registry: Registry,
  ) {
    // The Registry's parameter type is prom-client's own class; it reads only the members above.
    registry.registerMetric(this as unknown as Metric);
  }

  /** The series for `labels`, created on first use. */
  protected series(labels: Labels<L> | undefined): S {
    const names = this.labelNames;
    let node = this.#root;
    for (let i = 0; i < names.length - 1; i++) {
      const value = labels?.[names[i] as L];
      let next = node.get(value) as SeriesTree | undefined;
      if (next === undefined) {
        next = new Map();
        node.set(value, next);
      }
      node = next;
    }
    const leaf = names.length === 0 ? undefined : labels?.[names[names.length - 1] as L];
    let found = node.get(leaf) as S | undefined;
    if (found === undefined) {
      found = this.create(this.#checkedCopy(labels));
      node.set(leaf, found);
      this.all.push(found);
    }
    return found;
  }

  protected abstract create(labels: Record<string, LabelValue>): S;

  protected abstract samples(): Sample[];

  /** Forgets every series (prom-client's `reset`). */
  reset(): void {
    this.#root.clear();
    this.all.length = 0;
  }

  async get(): Promise<FamilyData> {
    return { name: this.name, help: this.help, type: this.type, values: this.samples(), aggregator: 'sum' };
  }

  /** A copy of `labels` without unset ones; a label the family does not have is refused, as prom-client does. */
  #checkedCopy(labels: Labels<L> | undefined): Record<string, LabelValue> {
    const copy: Record<string, LabelValue> = {};
    if (labels === undefined) return copy;
    for (const [name, value] of Object.entries(labels) as [string, LabelValue | undefined][]) {
      if (!this.labelNames.includes(name as L))
        throw new Error(`Added label "${name}" is not included in initial labelset: [${this.labelNames}]`);
      if (value !== undefined) copy[name] = value;
    }
    return copy;
  }
}

function checkedValue(value: number): number {
  if (!Number.isFinite(value)) throw new TypeError(`Value is not a valid number: ${value}`);
  return value;
}

interface ValueSeries {
  readonly labels: Record<string, LabelValue>;
  value: number;
}

/** A monotonic counter. */
export class CounterFamily<L extends string> extends Family<L, ValueSeries> {
  readonly type = 'counter' as const;

  constructor(name: string, help: string, labelNames: readonly L[], registry: Registry) {
    super(name, help, labelNames, registry);
    // A family without labels has its one series from the start, at 0, as in prom-client.
    if (labelNames.length === 0) this.series(undefined);
  }

  inc(labels?: Labels<L>, value = 1): void {
    if (checkedValue(value) < 0) throw new Error('It is not possible to decrease a counter');
    this.series(labels).value += value;
  }

  protected create(labels: Record<string, LabelValue>): ValueSeries {
    return { labels, value: 0 };
  }

  protected samples(): Sample[] {
    return this.all.map((s) => ({ value: s.value, labels: s.labels }));
  }
}

/** A value that goes up and down. */
export class GaugeFamily<L extends string> extends Family<L, ValueSeries> {
  readonly type = 'gauge' as const;

  constructor(name: string, help: string, labelNames: readonly L[], registry: Registry) {
    super(name, help, labelNames, registry);
    if (labelNames.length === 0) this.series(undefined);
  }

  set(labels: Labels<L>, value: number): void {
    this.series(labels).value = checkedValue(value);
  }

  inc(labels?: Labels<L>, value = 1): void {
    this.series(labels).value += checkedValue(value);
  }

  dec(labels?: Labels<L>, value = 1): void {
    this.series(labels).value -= checkedValue(value);
  }

  protected create(labels: Record<string, LabelValue>): ValueSeries {
    return { labels, value: 0 };
  }

  protected samples(): Sample[] {
    return this.all.map((s) => ({ value: s.value, labels: s.labels }));
  }
}

interface HistogramSeries {
  readonly labels: Record<string, LabelValue>;
  /** Observations per bucket (not cumulative), by upper bound's index. */
  readonly counts: Float64Array;
  sum: number;
  count: number;
}

/** A distribution over fixed upper bounds, exported as Prometheus' `_bucket`/`_sum`/`_count`. */
export class HistogramFamily<L extends string> extends Family<L, HistogramSeries> {
  readonly type = 'histogram' as const;
  readonly #bounds: readonly number[];

  constructor(
    name: string,
    help: string,
    labelNames: readonly L[],
    buckets: readonly number[],
    registry: Registry,
  ) {
    super(name, help, labelNames, registry);
    this.#bounds = [...buckets].sort((a, b) => a - b);
    if (labelNames.length === 0) this.series(undefined);
  }

  observe(labels: Labels<L>, value: number): void {
    checkedValue(value);
    const s = this.series(labels);
    const bounds = this.#bounds;
    let i = 0;
    while (i < bounds.length && value > (bounds[i] as number)) i++;
    if (i < bounds.length) (s.counts[i] as number)++;
    s.sum += value;
    s.count++;
  }

  protected create(labels: Record<string, LabelValue>): HistogramSeries {
    return { labels, counts: new Float64Array(this.#bounds.length), sum: 0, count: 0 };
  }

  /** prom-client's layout: `le` first, then the series' labels. */
  protected samples(): Sample[] {
    const bucket = `${this.name}_bucket`;
    const out: Sample[] = [];
    for (const s of this.all) {
      let cumulative = 0;
      this.#bounds.forEach((le, i) => {
        cumulative += s.counts[i] as number;
        out.push({ value: cumulative, labels: { le, ...s.labels }, metricName: bucket });
      });
      out.push({ value: s.count, labels: { le: '+Inf', ...s.labels }, metricName: bucket });
      out.push({ value: s.sum, labels: { ...s.labels }, metricName: `${this.name}_sum` });
      out.push({ value: s.count, labels: { ...s.labels }, metricName: `${this.name}_count` });
    }
    return out;
  }
}

/** Makers of families registered on one registry (names and help as daprd's). */
export function familyMakers(registry: Registry) {
  return {
    counter: <L extends string>(name: string, help: string, labelNames: readonly L[]) =>
      new CounterFamily<L>(name, help, labelNames, registry),
    gauge: <L extends string>(name: string, help: string, labelNames: readonly L[]) =>
      new GaugeFamily<L>(name, help, labelNames, registry),
    histogram: <L extends string>(
      name: string,
      help: string,
      labelNames: readonly L[],
      buckets: readonly number[],
    ) => new HistogramFamily<L>(name, help, labelNames, buckets, registry),
  };
}
