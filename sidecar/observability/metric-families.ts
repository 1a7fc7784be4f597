import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** Makers of prom-client families registered on one registry (names and help as daprd's). */
export function familyMakers(registry: Registry) {
  const registers = [registry];
  return {
    counter: <L extends string>(name: string, help: string, labelNames: readonly L[]) =>
      new Counter<L>({ name, help, labelNames, registers }),
    gauge: <L extends string>(name: string, help: string, labelNames: readonly L[]) =>
      new Gauge<L>({ name, help, labelNames, registers }),
    histogram: <L extends string>(
      name: string,
      help: string,
      labelNames: readonly L[],
      buckets: readonly number[],
    ) => new Histogram<L>({ name, help, labelNames, buckets: [...buckets], registers }),
  };
}
