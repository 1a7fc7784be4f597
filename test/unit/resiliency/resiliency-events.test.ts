import assert from 'node:assert/strict';
import diagnosticsChannel from 'node:diagnostics_channel';
import { after, before, describe, it } from 'node:test';
import {
  RESILIENCY_ACTIVATED_CHANNEL,
  RESILIENCY_EXECUTED_CHANNEL,
  type ResiliencyPolicyEvent,
} from '../../../sidecar/resiliency/events.js';
import { compileResiliency } from '../../../sidecar/resiliency/provider.js';
import { FakeClock, resiliency } from './fake-clock.js';

describe('resiliency events on diagnostics channels', () => {
  const activated: ResiliencyPolicyEvent[] = [];
  const executed: ResiliencyPolicyEvent[] = [];
  const onActivated = (m: unknown): void => {
    activated.push(m as ResiliencyPolicyEvent);
  };
  const onExecuted = (m: unknown): void => {
    executed.push(m as ResiliencyPolicyEvent);
  };
  before(() => {
    diagnosticsChannel.subscribe(RESILIENCY_ACTIVATED_CHANNEL, onActivated);
    diagnosticsChannel.subscribe(RESILIENCY_EXECUTED_CHANNEL, onExecuted);
  });
  after(() => {
    diagnosticsChannel.unsubscribe(RESILIENCY_ACTIVATED_CHANNEL, onActivated);
    diagnosticsChannel.unsubscribe(RESILIENCY_EXECUTED_CHANNEL, onExecuted);
  });

  it('reports executions per policy kind and activations for retries and breaker state changes', async () => {
    const clock = new FakeClock();
    const r = resiliency('events', {
      policies: {
        timeouts: { t: '10s' },
        retries: { two: { duration: '1s', maxRetries: 2 } },
        circuitBreakers: { cb: { trip: 'consecutiveFailures >= 2', timeout: '5s' } },
      },
      targets: { components: { orders: { outbound: { timeout: 't', retry: 'two', circuitBreaker: 'cb' } } } },
    }) as { metadata: Record<string, string> };
    r.metadata.namespace = 'shop';
    const policy = compileResiliency([r], { appId: 'a', clock }).forComponentOutbound('orders', 'state');
    await assert.rejects(
      clock.drive(
        policy.execute(async () => {
          throw new Error('down');
        }),
      ),
    );
    const base = {
      resiliencyName: 'events',
      namespace: 'shop',
      target: 'Statestore_orders',
      direction: 'outbound',
    };
    const mineExecuted = executed.filter((e) => e.target === 'Statestore_orders');
    assert.deepEqual(mineExecuted, [
      { ...base, policy: 'timeout', name: 't', status: '' },
      { ...base, policy: 'retry', name: 'two', status: '' },
      { ...base, policy: 'circuitbreaker', name: 'cb', status: 'closed' },
    ]);
    const mineActivated = activated.filter((e) => e.target === 'Statestore_orders');
    // Failure 1 → retry; failure 2 trips the breaker → retry; attempt 3 is rejected by the open breaker.
    assert.deepEqual(mineActivated, [
      { ...base, policy: 'retry', name: 'two', status: '' },
      { ...base, policy: 'circuitbreaker', name: 'cb', status: 'open' },
      { ...base, policy: 'retry', name: 'two', status: '' },
    ]);
  });

  it('labels inbound component policies and app and actor targets like Dapr', () => {
    const p = compileResiliency(
      [
        resiliency('labels', {
          policies: { retries: { DefaultRetryPolicy: { maxRetries: 1 } } },
          targets: {},
        }),
      ],
      { appId: 'a' },
    );
    assert.deepEqual(p.forComponentInbound('orders', 'pubsub').telemetry, {
      resiliencyName: 'labels',
      namespace: '',
      target: 'Pubsub_orders',
      direction: 'inbound',
    });
    assert.equal(p.forApp('b').telemetry.target, 'app_b');
    assert.equal(p.forActor('Cart', '1').telemetry.target, 'actor_Cart');
    assert.equal(p.forComponentOutbound('b1', 'bindings').telemetry.target, 'Binding_b1');
  });
});
