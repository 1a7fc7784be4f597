import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BrokenCircuitError, TimeoutError } from '../../../sidecar/resiliency/errors.js';
import { compileResiliency } from '../../../sidecar/resiliency/provider.js';
import { FakeClock, resiliency } from './fake-clock.js';

/** Dapr's composition: retry outermost, then the target's breaker, then the per-attempt timeout. */
function provider(clock: FakeClock, trip = 'consecutiveFailures >= 3') {
  return compileResiliency(
    [
      resiliency('r', {
        policies: {
          timeouts: { fast: '1s' },
          retries: { five: { policy: 'constant', duration: '100ms', maxRetries: 5 } },
          circuitBreakers: { cb: { maxRequests: 1, timeout: '30s', trip } },
        },
        targets: { apps: { b: { timeout: 'fast', retry: 'five', circuitBreaker: 'cb' } } },
      }),
    ],
    { appId: 'a', clock },
  );
}

describe('policy composition order', () => {
  it('timeouts count as breaker failures, and the open breaker ends the retry loop', async () => {
    const clock = new FakeClock();
    const b = provider(clock).forApp('b');
    let calls = 0;
    const err = await clock
      .drive(
        b.execute(
          (signal) =>
            new Promise((_, reject) => {
              calls++;
              signal.addEventListener('abort', () => reject(signal.reason));
            }),
        ),
      )
      .catch((e: unknown) => e);
    // Attempts 1–3 time out (the third trips the breaker); attempt 4 is rejected by the open breaker,
    // which is a permanent error for the retry loop, so retries 4 and 5 never happen.
    assert.ok(err instanceof BrokenCircuitError, String(err));
    assert.equal(calls, 3);
    assert.deepEqual(clock.sleeps, [1000, 100, 1000, 100, 1000, 100]);
    assert.equal(b.circuitBreaker?.state, 'open');
  });

  it('the retry loop recovers when a later attempt succeeds before the breaker trips', async () => {
    const clock = new FakeClock();
    const b = provider(clock).forApp('b');
    let calls = 0;
    const result = await clock.drive(
      b.execute(async () => {
        calls++;
        if (calls < 3) throw new Error('transient');
        return 'ok';
      }),
    );
    assert.equal(result, 'ok');
    assert.equal(b.circuitBreaker?.state, 'closed');
    assert.equal(b.circuitBreaker?.stats.consecutiveFailures, 0);
  });

  it('a failed result counts against the breaker; the last failed result is returned when it stays closed', async () => {
    const clock = new FakeClock();
    const b = provider(clock, 'consecutiveFailures >= 10').forApp('b');
    let calls = 0;
    const result = await clock.drive(
      b.execute(async () => ({ status: 503, n: ++calls }), { failureOf: (r) => r.status }),
    );
    assert.deepEqual(result, { status: 503, n: 6 });
    assert.equal(b.circuitBreaker?.stats.totalFailures, 6);
  });

  it('with the breaker open, calls fail fast until it half-opens after its timeout', async () => {
    const clock = new FakeClock();
    const p = provider(clock, 'consecutiveFailures >= 1');
    await assert.rejects(
      clock.drive(
        p.forApp('b').execute(async () => {
          throw new Error('down');
        }),
      ),
      BrokenCircuitError,
    );
    let hits = 0;
    const ok = async () => {
      hits++;
      return 'up';
    };
    await assert.rejects(clock.drive(p.forApp('b').execute(ok)), BrokenCircuitError);
    assert.equal(hits, 0);
    await clock.advance(30_001);
    assert.equal(await clock.drive(p.forApp('b').execute(ok)), 'up');
    assert.equal(hits, 1);
    assert.equal(p.forApp('b').circuitBreaker?.state, 'closed');
  });

  it('a TimeoutError surfaces when retries run out before the breaker trips', async () => {
    const clock = new FakeClock();
    const b = provider(clock, 'consecutiveFailures >= 100').forApp('b');
    const err = await clock
      .drive(b.execute((s) => new Promise((_, r) => s.addEventListener('abort', () => r(s.reason)))))
      .catch((e: unknown) => e);
    assert.ok(err instanceof TimeoutError);
    assert.equal(b.hasRetries, true);
  });
});
