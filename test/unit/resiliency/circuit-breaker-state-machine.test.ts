import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CircuitBreaker } from '../../../sidecar/resiliency/circuit-breaker.js';
import { BrokenCircuitError } from '../../../sidecar/resiliency/errors.js';
import type { BreakerState } from '../../../sidecar/resiliency/events.js';
import { TripExpression } from '../../../sidecar/resiliency/trip-expression.js';
import { FakeClock } from './fake-clock.js';

const fail = async (): Promise<never> => {
  throw new Error('boom');
};
const succeed = async (): Promise<string> => 'ok';

function breaker(clock: FakeClock, extra: Partial<ConstructorParameters<typeof CircuitBreaker>[0]> = {}) {
  const transitions: string[] = [];
  const cb = new CircuitBreaker({
    name: 'cb',
    clock,
    onStateChange: (from: BreakerState, to: BreakerState) => transitions.push(`${from}->${to}`),
    ...extra,
  });
  return { cb, transitions };
}

/** Runs `fn` through the breaker and counts how often `fn` itself ran. */
function counted(fn: () => Promise<unknown>) {
  let calls = 0;
  return {
    op: async () => {
      calls++;
      return fn();
    },
    calls: () => calls,
  };
}

describe('circuit breaker state machine', () => {
  it('trips when the trip expression becomes true after a failure', async () => {
    const clock = new FakeClock();
    const { cb } = breaker(clock, { trip: TripExpression.compile('consecutiveFailures >= 3') });
    for (let i = 0; i < 2; i++) await assert.rejects(cb.execute(fail), /boom/);
    assert.equal(cb.state, 'closed');
    await assert.rejects(cb.execute(fail), /boom/);
    assert.equal(cb.state, 'open');
  });

  it('uses the default trip `consecutiveFailures > 5`', async () => {
    const clock = new FakeClock();
    const { cb } = breaker(clock);
    for (let i = 0; i < 5; i++) await assert.rejects(cb.execute(fail));
    assert.equal(cb.state, 'closed');
    await assert.rejects(cb.execute(fail));
    assert.equal(cb.state, 'open');
  });

  it('a success resets consecutive failures but not totals', async () => {
    const clock = new FakeClock();
    const { cb } = breaker(clock, { trip: TripExpression.compile('consecutiveFailures > 1') });
    await assert.rejects(cb.execute(fail));
    await cb.execute(succeed);
    await assert.rejects(cb.execute(fail));
    assert.equal(cb.state, 'closed');
    assert.deepEqual(cb.stats, {
      requests: 3,
      totalSuccesses: 1,
      totalFailures: 2,
      consecutiveSuccesses: 0,
      consecutiveFailures: 1,
    });
  });

  it('when open, rejects with BrokenCircuitError without calling the operation', async () => {
    const clock = new FakeClock();
    const { cb } = breaker(clock, { trip: TripExpression.compile('totalFailures >= 1') });
    await assert.rejects(cb.execute(fail));
    const c = counted(succeed);
    const err = await cb.execute(c.op).catch((e: unknown) => e);
    assert.ok(err instanceof BrokenCircuitError);
    assert.equal(err.reason, 'open');
    assert.equal(err.message, 'circuit breaker is open');
    assert.equal(err.breaker, 'cb');
    assert.equal(c.calls(), 0);
  });

  it('goes half-open after `timeout` and lets maxRequests calls through', async () => {
    const clock = new FakeClock();
    const { cb } = breaker(clock, {
      trip: TripExpression.compile('totalFailures >= 1'),
      timeoutMs: 30_000,
      maxRequests: 2,
    });
    await assert.rejects(cb.execute(fail));
    await clock.advance(30_000);
    assert.equal(cb.state, 'open', 'still open exactly at the timeout (gobreaker: expiry.Before(now))');
    await clock.advance(1);
    assert.equal(cb.state, 'half-open');
    // Two slow trial calls are admitted; a third is rejected as "too many requests".
    const gates: (() => void)[] = [];
    const slow = counted(() => new Promise<void>((r) => gates.push(r)));
    const p1 = cb.execute(slow.op);
    const p2 = cb.execute(slow.op);
    const third = await cb.execute(slow.op).catch((e: unknown) => e);
    assert.ok(third instanceof BrokenCircuitError);
    assert.equal(third.reason, 'too-many-requests');
    assert.equal(slow.calls(), 2);
    for (const g of gates) g();
    await Promise.all([p1, p2]);
    assert.equal(cb.state, 'closed');
  });

  it('closes after maxRequests consecutive successes in half-open', async () => {
    const clock = new FakeClock();
    const { cb, transitions } = breaker(clock, {
      trip: TripExpression.compile('totalFailures >= 1'),
      timeoutMs: 1000,
      maxRequests: 3,
    });
    await assert.rejects(cb.execute(fail));
    await clock.advance(1001);
    await cb.execute(succeed);
    await cb.execute(succeed);
    assert.equal(cb.state, 'half-open');
    await cb.execute(succeed);
    assert.equal(cb.state, 'closed');
    assert.deepEqual(transitions, ['closed->open', 'open->half-open', 'half-open->closed']);
    assert.equal(cb.stats.requests, 0, 'closing starts a new generation with fresh counts');
  });

  it('reopens on a failure in half-open, for another full timeout', async () => {
    const clock = new FakeClock();
    const { cb, transitions } = breaker(clock, {
      trip: TripExpression.compile('totalFailures >= 1'),
      timeoutMs: 1000,
    });
    await assert.rejects(cb.execute(fail));
    await clock.advance(1001);
    await assert.rejects(cb.execute(fail), /boom/);
    assert.equal(cb.state, 'open');
    await clock.advance(999);
    assert.equal(cb.state, 'open');
    await clock.advance(2);
    assert.equal(cb.state, 'half-open');
    assert.deepEqual(transitions, ['closed->open', 'open->half-open', 'half-open->open', 'open->half-open']);
  });

  it('clears its counts every `interval` while closed', async () => {
    const clock = new FakeClock();
    const { cb } = breaker(clock, { trip: TripExpression.compile('totalFailures >= 3'), intervalMs: 10_000 });
    await assert.rejects(cb.execute(fail));
    await assert.rejects(cb.execute(fail));
    assert.equal(cb.stats.totalFailures, 2);
    await clock.advance(10_001);
    assert.equal(cb.stats.totalFailures, 0, 'the interval elapsed: new generation');
    await assert.rejects(cb.execute(fail));
    await assert.rejects(cb.execute(fail));
    assert.equal(cb.state, 'closed', 'failures before the reset no longer count');
    await assert.rejects(cb.execute(fail));
    assert.equal(cb.state, 'open');
  });

  it('never clears counts when interval is 0', async () => {
    const clock = new FakeClock();
    const { cb } = breaker(clock, { trip: TripExpression.compile('totalFailures >= 3') });
    await assert.rejects(cb.execute(fail));
    await clock.advance(365 * 24 * 3_600_000);
    await assert.rejects(cb.execute(fail));
    await assert.rejects(cb.execute(fail));
    assert.equal(cb.state, 'open');
  });

  it('evaluates `requests` counting the failing call itself', async () => {
    const clock = new FakeClock();
    const { cb } = breaker(clock, {
      trip: TripExpression.compile('requests > 3 && totalFailures * 2 > requests'),
    });
    await cb.execute(succeed);
    await assert.rejects(cb.execute(fail));
    await assert.rejects(cb.execute(fail));
    assert.equal(cb.state, 'closed', 'requests = 3');
    await assert.rejects(cb.execute(fail));
    assert.equal(cb.state, 'open', 'requests = 4, failures = 3');
  });

  it('ignores the outcome of a call that started before a state change', async () => {
    const clock = new FakeClock();
    const { cb } = breaker(clock, { trip: TripExpression.compile('totalFailures >= 1'), timeoutMs: 1000 });
    let release: () => void = () => {};
    const slow = cb.execute(() => new Promise<string>((r) => (release = () => r('late'))));
    await assert.rejects(cb.execute(fail));
    assert.equal(cb.state, 'open');
    release();
    assert.equal(await slow, 'late');
    assert.equal(cb.state, 'open', 'a success from the previous generation does not close it');
  });

  it('takes gobreaker defaults for zero settings', () => {
    const cb = new CircuitBreaker({ maxRequests: 0, timeoutMs: 0, intervalMs: 0 });
    assert.equal(cb.maxRequests, 1);
    assert.equal(cb.timeoutMs, 60_000);
    assert.equal(cb.intervalMs, 0);
  });

  it('accepts a trip strategy function', async () => {
    const clock = new FakeClock();
    const { cb } = breaker(clock, { trip: (c) => c.totalFailures === 2 });
    await assert.rejects(cb.execute(fail));
    await assert.rejects(cb.execute(fail));
    assert.equal(cb.state, 'open');
  });
});
