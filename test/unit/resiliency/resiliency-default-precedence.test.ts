import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileResiliency } from '../../../sidecar/resiliency/provider.js';
import { FakeClock, resiliency } from './fake-clock.js';

const retry = (duration: string) => ({ policy: 'constant', duration, maxRetries: 1 });

/** Every default policy name of Dapr's docs, each with a distinct retry duration. */
const ALL_DEFAULTS = resiliency('defaults', {
  policies: {
    timeouts: { DefaultTimeoutPolicy: '9s', DefaultAppTimeoutPolicy: '3s', named: '1s' },
    retries: {
      DefaultRetryPolicy: retry('1ms'),
      DefaultAppRetryPolicy: retry('2ms'),
      DefaultActorRetryPolicy: retry('3ms'),
      DefaultComponentRetryPolicy: retry('4ms'),
      DefaultComponentOutboundRetryPolicy: retry('5ms'),
      DefaultStatestoreComponentOutboundRetryPolicy: retry('6ms'),
      DefaultPubsubComponentInboundRetryPolicy: retry('7ms'),
      fastRetries: retry('10ms'),
    },
    circuitBreakers: { DefaultComponentCircuitBreakerPolicy: { trip: 'consecutiveFailures > 2' } },
  },
  targets: {
    apps: { appA: { retry: 'fastRetries' } },
    actors: { EventActor: { retry: 'fastRetries' } },
    components: { actorstore: { outbound: { retry: 'fastRetries' } } },
  },
});

function retryName(p: { retry?: { name: string } | undefined }): string | undefined {
  return p.retry?.name;
}

describe('resiliency default policy precedence', () => {
  const provider = compileResiliency([ALL_DEFAULTS], { appId: 'me', clock: new FakeClock() });

  it('a named target policy wins over every default', () => {
    assert.equal(retryName(provider.forApp('appA')), 'fastRetries');
    assert.equal(retryName(provider.forActor('EventActor', '1')), 'fastRetries');
    assert.equal(retryName(provider.forComponentOutbound('actorstore', 'state')), 'fastRetries');
  });

  it('a named target uses only the policies it names: defaults do not fill its gaps', () => {
    const p = provider.forApp('appA');
    assert.equal(p.timeout, undefined, 'DefaultAppTimeoutPolicy does not apply to a named app target');
    assert.equal(p.circuitBreaker, undefined);
  });

  it('without a named target the most specific default applies, per kind', () => {
    const app = provider.forApp('appC');
    assert.equal(retryName(app), 'DefaultAppRetryPolicy');
    assert.equal(app.timeout?.name, 'DefaultAppTimeoutPolicy');
    assert.equal(app.timeout?.timeoutMs, 3000);
    const actor = provider.forActor('SummaryActor', '7');
    assert.equal(retryName(actor), 'DefaultActorRetryPolicy');
    assert.equal(
      actor.timeout?.name,
      'DefaultTimeoutPolicy',
      'no actor timeout default: the generic one applies',
    );
  });

  it('component defaults go from type+direction to direction to component to generic', () => {
    assert.equal(
      retryName(provider.forComponentOutbound('statestore', 'state')),
      'DefaultStatestoreComponentOutboundRetryPolicy',
    );
    assert.equal(
      retryName(provider.forComponentOutbound('pubsub', 'pubsub')),
      'DefaultComponentOutboundRetryPolicy',
    );
    assert.equal(
      retryName(provider.forComponentInbound('pubsub', 'pubsub')),
      'DefaultPubsubComponentInboundRetryPolicy',
    );
    assert.equal(
      retryName(provider.forComponentInbound('kafka-binding', 'bindings')),
      'DefaultComponentRetryPolicy',
    );
    assert.equal(
      provider.forComponentInbound('kafka-binding', 'bindings').circuitBreaker?.policyName,
      'DefaultComponentCircuitBreakerPolicy',
    );
  });

  it('the generic default applies when nothing more specific exists', () => {
    const p = compileResiliency(
      [resiliency('generic', { policies: { retries: { DefaultRetryPolicy: retry('1ms') } }, targets: {} })],
      { appId: 'me' },
    );
    assert.equal(retryName(p.forApp('x')), 'DefaultRetryPolicy');
    assert.equal(retryName(p.forActor('T', '1')), 'DefaultRetryPolicy');
    assert.equal(retryName(p.forComponentOutbound('s', 'secretstores')), 'DefaultRetryPolicy');
  });

  it('a named component target with only inbound policies has no outbound policy (as in Dapr)', () => {
    const p = compileResiliency(
      [
        resiliency('in-only', {
          policies: { retries: { DefaultRetryPolicy: retry('1ms'), r: retry('2ms') } },
          targets: { components: { mypubsub: { inbound: { retry: 'r' } } } },
        }),
      ],
      { appId: 'me' },
    );
    assert.equal(retryName(p.forComponentInbound('mypubsub', 'pubsub')), 'r');
    assert.equal(p.forComponentOutbound('mypubsub', 'pubsub').isEmpty, true);
  });

  it('with no resources there is no policy at all for targets', () => {
    const p = compileResiliency([], { appId: 'me' });
    assert.equal(p.forApp('x').isEmpty, true);
    assert.equal(p.forComponentOutbound('s', 'state').isEmpty, true);
    assert.equal(p.loadedCount, 0);
  });

  it('a zero timeout applies no timeout, as in Dapr', () => {
    const p = compileResiliency(
      [resiliency('zero', { policies: { timeouts: { DefaultTimeoutPolicy: '0s' } }, targets: {} })],
      { appId: 'me' },
    );
    assert.equal(p.forApp('x').timeout, undefined);
  });
});
