import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConstantBackoff, ExponentialBackoff } from '../../../sidecar/resiliency/backoff.js';
import { RetryPolicy } from '../../../sidecar/resiliency/retry-policy.js';
import { FakeClock, flaky } from './fake-clock.js';

function delays(
  backoff: ExponentialBackoff | ConstantBackoff,
  clock: FakeClock,
  n: number,
): (number | undefined)[] {
  const session = backoff.start(clock);
  return Array.from({ length: n }, () => session.next());
}

describe('retry backoff sequences', () => {
  it('constant backoff sleeps `duration` between attempts', async () => {
    const clock = new FakeClock();
    const policy = new RetryPolicy({ backoff: new ConstantBackoff(1500), maxRetries: 4, clock });
    const op = flaky(4, 'ok');
    assert.equal(await clock.drive(policy.execute(op.fn)), 'ok');
    assert.deepEqual(clock.sleeps, [1500, 1500, 1500, 1500]);
    assert.equal(op.calls(), 5);
  });

  it('the default retry policy is constant 5 s (Dapr default duration)', async () => {
    const clock = new FakeClock();
    const policy = new RetryPolicy({ clock });
    const op = flaky(2, 'ok');
    await clock.drive(policy.execute(op.fn));
    assert.deepEqual(clock.sleeps, [5000, 5000]);
  });

  it('exponential backoff grows by 1.5 from 500 ms with random factor 1 (random = 0.5)', () => {
    const clock = new FakeClock();
    const b = new ExponentialBackoff({ random: () => 0.5 });
    assert.deepEqual(delays(b, clock, 5), [500, 750, 1125, 1687.5, 2531.25]);
  });

  it('exponential randomization spans [0.5, 1.5] of the current interval', () => {
    const clock = new FakeClock();
    assert.deepEqual(delays(new ExponentialBackoff({ random: () => 0 }), clock, 3), [250, 375, 562.5]);
    assert.deepEqual(delays(new ExponentialBackoff({ random: () => 1 }), clock, 3), [750, 1125, 1687.5]);
  });

  it('the interval is capped at maxInterval before randomization', () => {
    const clock = new FakeClock();
    const mid = delays(new ExponentialBackoff({ maxIntervalMs: 2000, random: () => 0.5 }), clock, 7);
    assert.deepEqual(mid, [500, 750, 1125, 1687.5, 2000, 2000, 2000]);
    // Randomization applies after the cap, so a delay may exceed maxInterval by half (cenkalti/backoff).
    const high = delays(new ExponentialBackoff({ maxIntervalMs: 2000, random: () => 1 }), clock, 6);
    assert.deepEqual(high.slice(4), [3000, 3000]);
  });

  it('exponential backoff stops once the elapsed time would pass maxElapsed', async () => {
    const clock = new FakeClock();
    const policy = new RetryPolicy({
      backoff: new ExponentialBackoff({ maxIntervalMs: 1000, maxElapsedMs: 3000, random: () => 0.5 }),
      maxRetries: -1,
      clock,
    });
    const op = flaky(1000, 'never');
    await assert.rejects(clock.drive(policy.execute(op.fn)), /failure/);
    // 500 + 750 + 1000 = 2250 elapsed; the next 1000 would reach 3250 > 3000.
    assert.deepEqual(clock.sleeps, [500, 750, 1000]);
    assert.equal(op.calls(), 4);
  });

  it('each execute starts a fresh backoff sequence', async () => {
    const clock = new FakeClock();
    const policy = new RetryPolicy({
      backoff: new ExponentialBackoff({ random: () => 0.5 }),
      maxRetries: 2,
      clock,
    });
    await clock.drive(policy.execute(flaky(2, 1).fn));
    await clock.drive(policy.execute(flaky(2, 1).fn));
    assert.deepEqual(clock.sleeps, [500, 750, 500, 750]);
  });
});
