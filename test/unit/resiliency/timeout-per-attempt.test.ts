import assert from 'node:assert/strict';
import diagnosticsChannel from 'node:diagnostics_channel';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { ConstantBackoff } from '../../../sidecar/resiliency/backoff.js';
import { TimeoutError } from '../../../sidecar/resiliency/errors.js';
import {
  RESILIENCY_ACTIVATED_CHANNEL,
  type ResiliencyPolicyEvent,
} from '../../../sidecar/resiliency/events.js';
import { wrap } from '../../../sidecar/resiliency/policy.js';
import { RetryPolicy } from '../../../sidecar/resiliency/retry-policy.js';
import { TimeoutPolicy } from '../../../sidecar/resiliency/timeout-policy.js';
import { FakeClock } from './fake-clock.js';

/** Resolves when `signal` aborts, with its reason; the operation never finishes otherwise. */
function hangUntilAborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) =>
    signal.addEventListener('abort', () => reject(signal.reason), { once: true }),
  );
}

describe('timeout per attempt', () => {
  it("aborts the attempt's signal with a TimeoutError and rejects with it", async () => {
    const clock = new FakeClock();
    const policy = new TimeoutPolicy(2000, { clock, name: 'general' });
    let seen: AbortSignal | undefined;
    const err = await clock
      .drive(
        policy.execute((signal) => {
          seen = signal;
          return hangUntilAborted(signal);
        }),
      )
      .catch((e: unknown) => e);
    assert.ok(err instanceof TimeoutError);
    assert.equal(err.timeoutMs, 2000);
    assert.equal(err.code, 'OUTRIGGER_RESILIENCY_TIMEOUT');
    assert.match(err.message, /general/);
    assert.equal(seen?.aborted, true);
    assert.equal(seen?.reason, err);
  });

  it('rejects at the deadline even if the operation ignores its signal; the late result is disposed', async () => {
    const clock = new FakeClock();
    const policy = new TimeoutPolicy(1000, { clock });
    let finish: (v: string) => void = () => {};
    const disposed: string[] = [];
    const call = policy.execute(() => new Promise<string>((r) => (finish = r)), {
      dispose: (v) => disposed.push(v),
    });
    await assert.rejects(clock.drive(call), TimeoutError);
    finish('late');
    await new Promise<void>((r) => setImmediate(r));
    assert.deepEqual(disposed, ['late']);
  });

  it('a fast operation resolves and its timer is cancelled', async () => {
    const clock = new FakeClock();
    const policy = new TimeoutPolicy(1000, { clock });
    assert.equal(await clock.drive(policy.execute(async () => 'fast')), 'fast');
    assert.equal(clock.pending, 0);
  });

  it('inside a retry each attempt gets its own timeout and its own signal', async () => {
    const clock = new FakeClock();
    const policy = wrap(
      new RetryPolicy({ backoff: new ConstantBackoff(100), maxRetries: 3, clock }),
      new TimeoutPolicy(1000, { clock }),
    );
    const signals: AbortSignal[] = [];
    const result = await clock.drive(
      policy.execute(async (signal) => {
        signals.push(signal);
        if (signals.length < 3) return hangUntilAborted(signal);
        return 'third time';
      }),
    );
    assert.equal(result, 'third time');
    assert.equal(signals.length, 3);
    assert.equal(new Set(signals).size, 3);
    assert.deepEqual(
      signals.map((s) => s.aborted),
      [true, true, false],
    );
  });

  it('reports a timeout activation once per call, however many attempts time out', async () => {
    const clock = new FakeClock();
    const events: ResiliencyPolicyEvent[] = [];
    const listener = (m: unknown): void => {
      events.push(m as ResiliencyPolicyEvent);
    };
    diagnosticsChannel.subscribe(RESILIENCY_ACTIVATED_CHANNEL, listener);
    try {
      const telemetry = {
        resiliencyName: 'r',
        namespace: 'ns',
        target: 'app_b',
        direction: 'outbound' as const,
      };
      const policy = wrap(
        new RetryPolicy({
          backoff: new ConstantBackoff(100),
          maxRetries: 2,
          clock,
          name: 'retry3',
          telemetry,
        }),
        new TimeoutPolicy(1000, { clock, name: 'fast', telemetry }),
      );
      await assert.rejects(clock.drive(policy.execute((s) => hangUntilAborted(s))), TimeoutError);
    } finally {
      diagnosticsChannel.unsubscribe(RESILIENCY_ACTIVATED_CHANNEL, listener);
    }
    const mine = events.filter((e) => e.target === 'app_b');
    assert.equal(mine.filter((e) => e.policy === 'timeout').length, 1);
    assert.equal(mine.filter((e) => e.policy === 'retry').length, 2);
    assert.deepEqual(
      mine.find((e) => e.policy === 'timeout'),
      {
        resiliencyName: 'r',
        namespace: 'ns',
        target: 'app_b',
        direction: 'outbound',
        policy: 'timeout',
        name: 'fast',
        status: '',
      },
    );
  });

  it("holds a result's streaming body to the attempt's deadline", async () => {
    const clock = new FakeClock();
    const policy = new TimeoutPolicy(1000, { clock, name: 'stream' });
    const started = policy.mark();
    await clock.advance(300); // the attempt resolved with its head after 300 ms
    const late = new PassThrough();
    const errors: unknown[] = [];
    late.on('error', (e) => errors.push(e));
    policy.cover(late, started);
    await clock.advance(699);
    assert.equal(late.destroyed, false, 'not before the deadline');
    await clock.advance(1);
    assert.equal(late.destroyed, true);
    assert.ok(errors[0] instanceof TimeoutError);

    const inTime = new PassThrough();
    policy.cover(inTime, policy.mark());
    inTime.end('done');
    inTime.resume();
    await new Promise((r) => inTime.once('close', r));
    await clock.advance(5000);
    assert.equal(inTime.errored, null, 'a body that closed in time is left alone');
  });

  it('rejects non-positive timeouts when constructed', () => {
    assert.throws(() => new TimeoutPolicy(0), RangeError);
    assert.throws(() => new TimeoutPolicy(-5), RangeError);
  });
});
