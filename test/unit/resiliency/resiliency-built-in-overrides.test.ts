import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConstantBackoff, ExponentialBackoff } from '../../../sidecar/resiliency/backoff.js';
import { BuiltInPolicies } from '../../../sidecar/resiliency/built-ins.js';
import { compileResiliency } from '../../../sidecar/resiliency/provider.js';
import { recordingLogger } from '../recording-logger.js';
import { FakeClock, flaky, resiliency } from './fake-clock.js';

const grpcError = (code: number) => Object.assign(new Error(`grpc ${code}`), { code });

describe('built-in retries and their overrides', () => {
  it('DaprBuiltInServiceRetries: 3 retries, 1 s apart, on Unavailable and Unauthenticated only', async () => {
    const clock = new FakeClock();
    const p = compileResiliency([], { appId: 'me', clock }).builtIn(BuiltInPolicies.serviceRetries);
    assert.equal(p.maxRetries, 3);
    assert.ok(p.backoff instanceof ConstantBackoff && p.backoff.durationMs === 1000);
    const unavailable = flaky(10, 'ok', () => grpcError(14));
    await assert.rejects(clock.drive(p.execute(unavailable.fn)), /grpc 14/);
    assert.equal(unavailable.calls(), 4);
    assert.deepEqual(clock.sleeps, [1000, 1000, 1000]);
    const unauthenticated = flaky(2, 'ok', () => grpcError(16));
    assert.equal(await clock.drive(p.execute(unauthenticated.fn)), 'ok');
    const denied = flaky(2, 'ok', () => grpcError(7));
    await assert.rejects(clock.drive(p.execute(denied.fn)), /grpc 7/);
    assert.equal(denied.calls(), 1);
  });

  it('DaprBuiltInActorRetries behaves like the service retries', () => {
    const p = compileResiliency([], { appId: 'me' }).builtIn(BuiltInPolicies.actorRetries);
    assert.equal(p.maxRetries, 3);
    assert.equal(p.isRetryable(grpcError(14)), true);
    assert.equal(p.isRetryable(grpcError(2)), false);
  });

  it('the predicate is a hook: callers may pass their own', () => {
    const p = compileResiliency([], { appId: 'me' }).builtIn(BuiltInPolicies.serviceRetries, {
      shouldRetry: () => true,
    });
    assert.equal(p.isRetryable(grpcError(2)), true);
  });

  it('reminder and initialization retries are exponential from 500 ms', () => {
    const provider = compileResiliency([], { appId: 'me' });
    const reminder = provider.builtIn(BuiltInPolicies.actorReminderRetries);
    assert.ok(reminder.backoff instanceof ExponentialBackoff);
    assert.equal(reminder.backoff.initialIntervalMs, 500);
    assert.equal(reminder.backoff.maxIntervalMs, 60_000);
    assert.equal(reminder.backoff.maxElapsedMs, 15 * 60_000);
    const init = provider.builtIn(BuiltInPolicies.initializationRetries);
    assert.ok(init.backoff instanceof ExponentialBackoff);
    assert.equal(init.maxRetries, 3);
    assert.equal(init.backoff.maxElapsedMs, 10_000);
    assert.equal(init.isRetryable(new Error('anything')), true);
  });

  it('a policy with the reserved name overrides the built-in', async () => {
    const clock = new FakeClock();
    const provider = compileResiliency(
      [
        resiliency('override', {
          policies: {
            retries: { DaprBuiltInServiceRetries: { policy: 'constant', duration: '5s', maxRetries: 10 } },
          },
          targets: {},
        }),
      ],
      { appId: 'me', clock },
    );
    const p = provider.builtIn(BuiltInPolicies.serviceRetries);
    assert.equal(p.maxRetries, 10);
    const op = flaky(10, 'ok', () => grpcError(14));
    assert.equal(await clock.drive(p.execute(op.fn)), 'ok');
    assert.deepEqual(clock.sleeps, Array(10).fill(5000));
  });

  it('an override with fewer than 3 retries is raised to 3 (with a warning)', () => {
    const { logger, warnings } = recordingLogger();
    const provider = compileResiliency(
      [
        resiliency('weak', {
          policies: { retries: { DaprBuiltInActorRetries: { duration: '1s', maxRetries: 1 } } },
          targets: {},
        }),
      ],
      { appId: 'me', logger },
    );
    assert.equal(provider.builtIn(BuiltInPolicies.actorRetries).maxRetries, 3);
    assert.ok(warnings.some((w) => /DaprBuiltInActorRetries.*minimum retry count/.test(w)));
  });

  it('DaprBuiltInActorNotFoundRetries is protected: an override is ignored', () => {
    const provider = compileResiliency(
      [
        resiliency('p', {
          policies: { retries: { DaprBuiltInActorNotFoundRetries: { maxRetries: 50 } } },
          targets: {},
        }),
      ],
      { appId: 'me' },
    );
    assert.equal(provider.builtIn(BuiltInPolicies.actorNotFoundRetries).maxRetries, 5);
  });

  it('targets may refer to built-in policies by name', () => {
    const provider = compileResiliency(
      [resiliency('ref', { policies: {}, targets: { apps: { b: { retry: 'DaprBuiltInServiceRetries' } } } })],
      { appId: 'me' },
    );
    assert.equal(provider.forApp('b').retry?.maxRetries, 3);
    assert.equal(provider.hasAppTarget('b'), true);
    assert.equal(provider.hasAppTarget('c'), false);
  });
});
