import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConstantBackoff } from '../../../sidecar/resiliency/backoff.js';
import { RetryPolicy } from '../../../sidecar/resiliency/retry-policy.js';
import { FakeClock, flaky } from './fake-clock.js';

describe('retry maxRetries', () => {
  it('maxRetries 0 runs the operation once and rethrows its error', async () => {
    const clock = new FakeClock();
    const policy = new RetryPolicy({ maxRetries: 0, clock });
    const op = flaky(1, 'ok');
    await assert.rejects(clock.drive(policy.execute(op.fn)), /failure 1/);
    assert.equal(op.calls(), 1);
    assert.deepEqual(clock.sleeps, []);
    assert.equal(policy.hasRetries, false);
  });

  it('maxRetries n allows n retries (n + 1 attempts), then throws the last error', async () => {
    const clock = new FakeClock();
    const policy = new RetryPolicy({ backoff: new ConstantBackoff(10), maxRetries: 3, clock });
    const op = flaky(10, 'ok');
    await assert.rejects(clock.drive(policy.execute(op.fn)), /failure 4/);
    assert.equal(op.calls(), 4);
  });

  it('maxRetries n succeeds when the operation recovers within n retries', async () => {
    const clock = new FakeClock();
    const policy = new RetryPolicy({ backoff: new ConstantBackoff(10), maxRetries: 3, clock });
    const op = flaky(3, 'ok');
    assert.equal(await clock.drive(policy.execute(op.fn)), 'ok');
    assert.equal(op.calls(), 4);
  });

  it('maxRetries -1 retries until the operation succeeds', async () => {
    const clock = new FakeClock();
    const policy = new RetryPolicy({ backoff: new ConstantBackoff(1000), maxRetries: -1, clock });
    const op = flaky(250, 'finally');
    assert.equal(await clock.drive(policy.execute(op.fn)), 'finally');
    assert.equal(op.calls(), 251);
    assert.equal(policy.hasRetries, true);
  });

  it('rejects a maxRetries below -1 when constructed', () => {
    assert.throws(() => new RetryPolicy({ maxRetries: -2 }), RangeError);
    assert.throws(() => new RetryPolicy({ maxRetries: 1.5 }), RangeError);
  });

  it('a shouldRetry predicate makes other failures permanent', async () => {
    const clock = new FakeClock();
    const policy = new RetryPolicy({
      backoff: new ConstantBackoff(10),
      maxRetries: 5,
      clock,
      shouldRetry: (e) => (e as Error).message !== 'fatal',
    });
    const op = flaky(3, 'ok', (n) => new Error(n === 2 ? 'fatal' : 'transient'));
    await assert.rejects(clock.drive(policy.execute(op.fn)), /fatal/);
    assert.equal(op.calls(), 2);
  });
});
