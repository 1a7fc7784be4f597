import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { familyMakers } from '../../../sidecar/observability/metric-families.js';

/** A seeded pseudo-random sequence, so that a failure can be replayed. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const BUCKETS = [1, 2, 5, 10, 50, 100, 1000];

describe('metric families', () => {
  it('render exactly what prom-client renders for the same recordings', async () => {
    const ours = new Registry();
    const theirs = new Registry();
    const make = familyMakers(ours);
    const labelNames = ['app_id', 'method', 'status'] as const;
    const families = {
      counter: [
        make.counter('t_requests', 'Requests.', labelNames),
        new Counter({ name: 't_requests', help: 'Requests.', labelNames, registers: [theirs] }),
      ],
      gauge: [
        make.gauge('t_state', 'State.', labelNames),
        new Gauge({ name: 't_state', help: 'State.', labelNames, registers: [theirs] }),
      ],
      histogram: [
        make.histogram('t_latency', 'Latency "ms".\nSecond line.', labelNames, BUCKETS),
        new Histogram({
          name: 't_latency',
          help: 'Latency "ms".\nSecond line.',
          labelNames,
          buckets: BUCKETS,
          registers: [theirs],
        }),
      ],
      unlabelled: [
        make.counter('t_unlabelled', 'No labels.', []),
        new Counter({ name: 't_unlabelled', help: 'No labels.', labelNames: [], registers: [theirs] }),
      ],
    } as const;
    const random = lcg(7);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)] as T;
    for (let i = 0; i < 2000; i++) {
      const labels = {
        app_id: pick(['a', 'b']),
        method: pick(['GET', 'POST', 'we"ird\\path\n']),
        status: pick(['200', '500']),
      };
      const value = pick([0, 0.5, 1, 2, 3.25, 50, 99.9, 100, 1000, 1e6]);
      for (const c of families.counter) c.inc(labels, value);
      const set = random() < 0.5;
      for (const g of families.gauge) set ? g.set(labels, value) : g.dec(labels, value);
      for (const h of families.histogram) h.observe(labels, value);
    }
    for (const c of families.unlabelled) c.inc();
    assert.equal(await ours.metrics(), await theirs.metrics());
    // prom-client's JSON also carries its (unused) exemplar slots.
    const json = async (r: Registry): Promise<unknown> =>
      JSON.parse(JSON.stringify(await r.getMetricsAsJSON(), (k, v) => (k === 'exemplar' ? undefined : v)));
    assert.deepEqual(await json(ours), await json(theirs));
  });

  it('start a family without labels at 0, as prom-client does', async () => {
    const registry = new Registry();
    familyMakers(registry).gauge('t_zero', 'Zero.', []);
    assert.match(await registry.metrics(), /^t_zero 0$/m);
  });

  it('refuse labels the family does not have, negative counts and values that are not numbers', () => {
    const { counter, histogram } = familyMakers(new Registry());
    const c = counter('t_c', 'C.', ['app_id']);
    assert.throws(
      () => c.inc({ app_id: 'a', path: '/x' } as never),
      /"path" is not included in initial labelset/,
    );
    assert.throws(() => c.inc({ app_id: 'a' }, -1), /not possible to decrease a counter/);
    assert.throws(() => c.inc({ app_id: 'a' }, Number.NaN), /not a valid number/);
    const h = histogram('t_h', 'H.', ['app_id'], BUCKETS);
    assert.throws(() => h.observe({ app_id: 'a' }, Number.POSITIVE_INFINITY), /not a valid number/);
  });

  it('refuse a second family of the same name on one registry', () => {
    const registry = new Registry();
    familyMakers(registry).counter('t_dup', 'One.', ['app_id']);
    assert.throws(
      () => familyMakers(registry).counter('t_dup', 'Two.', ['app_id']),
      /already been registered/,
    );
  });

  it('forget every series on reset', async () => {
    const registry = new Registry();
    const c = familyMakers(registry).counter('t_reset', 'R.', ['app_id']);
    c.inc({ app_id: 'a' });
    c.reset();
    c.inc({ app_id: 'b' }, 2);
    const text = await registry.metrics();
    assert.doesNotMatch(text, /app_id="a"/);
    assert.match(text, /^t_reset\{app_id="b"\} 2$/m);
  });
});
