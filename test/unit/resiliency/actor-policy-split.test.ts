import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileResiliency } from '../../../sidecar/resiliency/provider.js';
import { resiliency } from './fake-clock.js';

const resources = [
  resiliency('actors', {
    policies: {
      timeouts: { t: '2s' },
      retries: { r: { duration: '1s', maxRetries: 2 } },
      circuitBreakers: { cb: { trip: 'consecutiveFailures > 1' } },
    },
    targets: {
      actors: {
        Cart: {
          timeout: 't',
          retry: 'r',
          circuitBreaker: 'cb',
          circuitBreakerScope: 'id',
          circuitBreakerCacheSize: 2,
        },
        Both: { circuitBreaker: 'cb', circuitBreakerScope: 'both' },
      },
    },
  }),
];

describe('actor policies around the actor lock', () => {
  const p = compileResiliency(resources, { appId: 'me' });

  it('before the lock: retry and breaker, no timeout (the lock wait is unbounded)', () => {
    const pre = p.forActorPreLock('Cart', '1');
    assert.equal(pre.retry?.name, 'r');
    assert.ok(pre.circuitBreaker);
    assert.equal(pre.timeout, undefined);
  });

  it('after the lock: the timeout only', () => {
    const post = p.forActorPostLock('Cart', '1');
    assert.equal(post.timeout?.timeoutMs, 2000);
    assert.equal(post.retry, undefined);
    assert.equal(post.circuitBreaker, undefined);
  });

  it('forActor composes all three, sharing the pre-lock breaker', () => {
    const all = p.forActor('Cart', '1');
    assert.equal(all.timeout?.timeoutMs, 2000);
    assert.equal(all.retry?.name, 'r');
    assert.equal(all.circuitBreaker, p.forActorPreLock('Cart', '1').circuitBreaker);
  });

  it('id-scoped breakers are kept in an LRU of circuitBreakerCacheSize', () => {
    const first = p.forActor('Cart', 'a').circuitBreaker;
    p.forActor('Cart', 'b');
    p.forActor('Cart', 'c');
    assert.notEqual(p.forActor('Cart', 'a').circuitBreaker, first, 'evicted after two newer ids');
  });

  it('scope "both" keys breakers by id, as daprd does', () => {
    assert.notEqual(p.forActor('Both', '1').circuitBreaker, p.forActor('Both', '2').circuitBreaker);
    assert.equal(p.hasActorTarget('Both'), true);
  });
});
