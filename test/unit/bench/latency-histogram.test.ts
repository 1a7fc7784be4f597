import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LatencyHistogram } from '../../../bench/latency-histogram.js';

// A fortio run with 100 µs resolution: the first bucket starts at the run's minimum, the last ends
// at its maximum (seconds).
const RUN = [
  { Start: 0.00021, End: 0.0003, Count: 10 },
  { Start: 0.0003, End: 0.0004, Count: 60 },
  { Start: 0.0004, End: 0.0005, Count: 20 },
  { Start: 0.0005, End: 0.0006, Count: 9 },
  { Start: 0.005, End: 0.0073, Count: 1 },
];

const near = (actual: number, expected: number): void =>
  assert.ok(Math.abs(actual - expected) < 1e-6, `${actual} is not ${expected}`);

describe('LatencyHistogram', () => {
  it('interpolates inside the bucket, as fortio does', () => {
    const h = new LatencyHistogram();
    h.add(RUN);
    assert.equal(h.count, 100);
    // 50th request: 40 of the 60 in [0.3, 0.4) ms.
    near(h.percentile(50), 0.3 + (0.1 * 40) / 60);
    near(h.percentile(90), 0.5);
    near(h.percentile(100), 7.3);
    near(h.percentile(0), 0.21);
  });

  it('gives the same percentiles for a run added twice', () => {
    const once = new LatencyHistogram();
    once.add(RUN);
    const twice = new LatencyHistogram();
    twice.add(RUN);
    twice.add(RUN);
    assert.equal(twice.count, 200);
    for (const q of [10, 50, 90, 99]) near(twice.percentile(q), once.percentile(q));
  });

  it('merges runs whose edge buckets overlap', () => {
    const h = new LatencyHistogram();
    h.add([{ Start: 0.0002, End: 0.0003, Count: 50 }]);
    h.add([
      { Start: 0.00025, End: 0.0003, Count: 25 },
      { Start: 0.0003, End: 0.0004, Count: 25 },
    ]);
    assert.equal(h.count, 100);
    // Below 0.3 ms: all 75 of the first bucket of each run.
    near(h.percentile(75), 0.3);
    near(h.percentile(100), 0.4);
  });

  it('is NaN when empty and skips buckets that count nothing or end before they start', () => {
    const h = new LatencyHistogram();
    assert.ok(Number.isNaN(h.percentile(50)));
    h.add([
      { Start: 0.001, End: 0.0005, Count: 5 },
      { Start: 0.001, End: 0.002, Count: 0 },
    ]);
    assert.equal(h.count, 0);
    assert.ok(Number.isNaN(h.percentile(99)));
  });
});
