import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConstantBackoff } from '../../../sidecar/resiliency/backoff.js';
import { wrap } from '../../../sidecar/resiliency/policy.js';
import { compileResiliency } from '../../../sidecar/resiliency/provider.js';
import { RetryPolicy } from '../../../sidecar/resiliency/retry-policy.js';
import { TimeoutPolicy } from '../../../sidecar/resiliency/timeout-policy.js';
import { FakeClock, flush, resiliency } from './fake-clock.js';

describe("the caller's abort signal", () => {
  it('stops a retry loop during its backoff sleep, without another attempt', async () => {
    const clock = new FakeClock();
    const policy = new RetryPolicy({ backoff: new ConstantBackoff(60_000), maxRetries: -1, clock });
    const ac = new AbortController();
    let calls = 0;
    const call = policy.execute(async () => {
      calls++;
      throw new Error('down');
    }, ac.signal);
    await flush();
    assert.equal(calls, 1);
    assert.equal(clock.pending, 1, 'sleeping before the first retry');
    const reason = new Error('client went away');
    ac.abort(reason);
    await assert.rejects(call, (e: unknown) => e === reason);
    assert.equal(clock.pending, 0, 'the sleep timer was cancelled');
    assert.equal(calls, 1);
  });

  it('aborts the running attempt and rejects at once even if the operation ignores its signal', async () => {
    const clock = new FakeClock();
    const policy = new RetryPolicy({ backoff: new ConstantBackoff(10), maxRetries: -1, clock });
    const ac = new AbortController();
    let attemptSignal: AbortSignal | undefined;
    const disposed: string[] = [];
    let finish: (v: string) => void = () => {};
    const call = policy.execute(
      (signal) => {
        attemptSignal = signal;
        return new Promise<string>((r) => (finish = r));
      },
      { signal: ac.signal, dispose: (v) => disposed.push(v) },
    );
    await flush();
    ac.abort();
    await assert.rejects(call, { name: 'AbortError' });
    assert.equal(attemptSignal?.aborted, true);
    finish('too late');
    await flush();
    assert.deepEqual(disposed, ['too late']);
  });

  it('an already aborted signal runs nothing', async () => {
    const policy = compileResiliency([], { appId: 'me' }).forApp('x');
    let called = false;
    const ac = new AbortController();
    ac.abort(new Error('cancelled'));
    await assert.rejects(
      policy.execute(async () => {
        called = true;
      }, ac.signal),
      /cancelled/,
    );
    assert.equal(called, false);
  });

  it('a caller abort inside a timeout is the caller reason, not a TimeoutError', async () => {
    const clock = new FakeClock();
    const policy = wrap(
      new RetryPolicy({ backoff: new ConstantBackoff(10), maxRetries: 3, clock }),
      new TimeoutPolicy(5000, { clock }),
    );
    const ac = new AbortController();
    const call = policy.execute(
      (s) => new Promise((_, reject) => s.addEventListener('abort', () => reject(s.reason))),
      ac.signal,
    );
    await flush();
    const reason = new Error('stop');
    ac.abort(reason);
    await assert.rejects(call, (e: unknown) => e === reason);
  });

  it('stops a provider policy retrying forever', async () => {
    const clock = new FakeClock();
    const p = compileResiliency(
      [
        resiliency('r', {
          policies: { retries: { forever: { policy: 'exponential', maxRetries: -1 } } },
          targets: { apps: { b: { retry: 'forever' } } },
        }),
      ],
      { appId: 'a', clock, random: () => 0.5 },
    ).forApp('b');
    const ac = new AbortController();
    let calls = 0;
    const call = p.execute(async () => {
      calls++;
      throw new Error('down');
    }, ac.signal);
    await clock.advance(500);
    await clock.advance(750);
    assert.equal(calls, 3);
    ac.abort();
    await assert.rejects(call, { name: 'AbortError' });
    await clock.advance(100_000);
    assert.equal(calls, 3);
  });
});
