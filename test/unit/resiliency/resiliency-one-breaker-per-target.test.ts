import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BrokenCircuitError } from '../../../sidecar/resiliency/errors.js';
import { compileResiliency } from '../../../sidecar/resiliency/provider.js';
import { FakeClock, resiliency } from './fake-clock.js';

const cb = { cb: { maxRequests: 1, timeout: '30s', trip: 'consecutiveFailures >= 2' } };
const fail = async (): Promise<never> => {
  throw new Error('down');
};

describe('one circuit breaker per target', () => {
  it('every lookup of an app returns the same breaker, shared across calls', async () => {
    const clock = new FakeClock();
    const p = compileResiliency(
      [
        resiliency('r', {
          policies: { circuitBreakers: cb },
          targets: { apps: { b: { circuitBreaker: 'cb' } } },
        }),
      ],
      {
        appId: 'a',
        clock,
      },
    );
    assert.equal(p.forApp('b').circuitBreaker, p.forApp('b').circuitBreaker);
    await assert.rejects(p.forApp('b').execute(fail), /down/);
    await assert.rejects(p.forApp('b').execute(fail), /down/);
    let called = false;
    await assert.rejects(
      p.forApp('b').execute(async () => {
        called = true;
      }),
      BrokenCircuitError,
    );
    assert.equal(called, false);
  });

  it('apps get a breaker per endpoint key (Dapr passes `<appId>:<method>`)', () => {
    const p = compileResiliency(
      [
        resiliency('r', {
          policies: { circuitBreakers: cb },
          targets: { apps: { b: { circuitBreaker: 'cb' } } },
        }),
      ],
      {
        appId: 'a',
      },
    );
    assert.notEqual(p.forApp('b', 'b:orders').circuitBreaker, p.forApp('b', 'b:users').circuitBreaker);
    assert.equal(p.forApp('b', 'b:orders').circuitBreaker, p.forApp('b', 'b:orders').circuitBreaker);
  });

  it('app breakers live in a bounded LRU of circuitBreakerCacheSize', () => {
    const p = compileResiliency(
      [
        resiliency('r', {
          policies: { circuitBreakers: cb },
          targets: { apps: { b: { circuitBreaker: 'cb', circuitBreakerCacheSize: 2 } } },
        }),
      ],
      { appId: 'a' },
    );
    const first = p.forApp('b', 'e1').circuitBreaker;
    p.forApp('b', 'e2');
    assert.equal(p.forApp('b', 'e1').circuitBreaker, first, 'e1 is now the most recently used');
    p.forApp('b', 'e3');
    assert.notEqual(p.forApp('b', 'e2').circuitBreaker, undefined);
    assert.notEqual(p.forApp('b', 'e1').circuitBreaker, first, 'e1 was evicted by e2 and e3');
  });

  it('default breakers are per app too', () => {
    const p = compileResiliency(
      [
        resiliency('r', {
          policies: { circuitBreakers: { DefaultAppCircuitBreakerPolicy: cb.cb } },
          targets: {},
        }),
      ],
      {
        appId: 'a',
      },
    );
    assert.equal(p.forApp('x').circuitBreaker, p.forApp('x').circuitBreaker);
    assert.notEqual(p.forApp('x').circuitBreaker, p.forApp('y').circuitBreaker);
  });

  it('actor breakers follow circuitBreakerScope: type shares one, id has one per actor', () => {
    const p = compileResiliency(
      [
        resiliency('r', {
          policies: { circuitBreakers: cb },
          targets: {
            actors: {
              ByType: { circuitBreaker: 'cb', circuitBreakerScope: 'type' },
              ById: { circuitBreaker: 'cb', circuitBreakerScope: 'id', circuitBreakerCacheSize: 10 },
            },
          },
        }),
      ],
      { appId: 'a' },
    );
    assert.equal(p.forActor('ByType', '1').circuitBreaker, p.forActor('ByType', '2').circuitBreaker);
    assert.notEqual(p.forActor('ById', '1').circuitBreaker, p.forActor('ById', '2').circuitBreaker);
    assert.equal(p.forActor('ById', '1').circuitBreaker, p.forActorPreLock('ById', '1').circuitBreaker);
    assert.equal(p.forActor('ById', '1').circuitBreaker?.name, 'ById-1');
  });

  it('an actor id breaker that trips does not affect other ids', async () => {
    const clock = new FakeClock();
    const p = compileResiliency(
      [
        resiliency('r', {
          policies: { circuitBreakers: cb },
          targets: { actors: { A: { circuitBreaker: 'cb', circuitBreakerScope: 'id' } } },
        }),
      ],
      { appId: 'a', clock },
    );
    await assert.rejects(p.forActor('A', '1').execute(fail));
    await assert.rejects(p.forActor('A', '1').execute(fail));
    await assert.rejects(p.forActor('A', '1').execute(fail), BrokenCircuitError);
    assert.equal(await p.forActor('A', '2').execute(async () => 'fine'), 'fine');
  });

  it('components get one breaker per name and direction', () => {
    const p = compileResiliency(
      [
        resiliency('r', {
          policies: { circuitBreakers: cb },
          targets: {
            components: {
              store: { outbound: { circuitBreaker: 'cb' }, inbound: { circuitBreaker: 'cb' } },
              other: { outbound: { circuitBreaker: 'cb' } },
            },
          },
        }),
      ],
      { appId: 'a' },
    );
    const out = p.forComponentOutbound('store', 'state').circuitBreaker;
    assert.ok(out);
    assert.equal(out, p.forComponentOutbound('store', 'state').circuitBreaker);
    assert.notEqual(out, p.forComponentInbound('store', 'state').circuitBreaker);
    assert.notEqual(out, p.forComponentOutbound('other', 'state').circuitBreaker);
    assert.equal(out.name, 'cb-store');
  });

  it('two compilations have independent breakers (no global state)', () => {
    const resources = [
      resiliency('r', {
        policies: { circuitBreakers: cb },
        targets: { apps: { b: { circuitBreaker: 'cb' } } },
      }),
    ];
    const one = compileResiliency(resources, { appId: 'a' });
    const two = compileResiliency(resources, { appId: 'a' });
    assert.notEqual(one.forApp('b').circuitBreaker, two.forApp('b').circuitBreaker);
  });
});
