import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileResiliency } from '../../../sidecar/resiliency/provider.js';
import { resiliencyDocument } from '../../../sidecar/resiliency/spec-document.js';
import { resiliency } from './fake-clock.js';

const policies = (d: string) => ({ retries: { r: { duration: d, maxRetries: 1 } } });

describe('resiliency scopes and merging of several resources', () => {
  it('a resource scoped to other apps is ignored; unscoped and matching ones apply', () => {
    const resources = [
      resiliency('everyone', { policies: policies('1s'), targets: { apps: { a: { retry: 'r' } } } }),
      resiliency(
        'only-b',
        { policies: { timeouts: { t: '1s' } }, targets: { apps: { b: { timeout: 't' } } } },
        { scopes: ['b'] },
      ),
      resiliency(
        'only-me',
        { policies: { timeouts: { t2: '2s' } }, targets: { apps: { c: { timeout: 't2' } } } },
        { scopes: ['x', 'me'] },
      ),
    ];
    const p = compileResiliency(resources, { appId: 'me' });
    assert.deepEqual(
      p.loaded.map((l) => l.name),
      ['everyone', 'only-me'],
    );
    assert.equal(p.loadedCount, 2);
    assert.equal(p.hasAppTarget('a'), true);
    assert.equal(p.hasAppTarget('b'), false);
    assert.equal(p.forApp('c').timeout?.timeoutMs, 2000);
  });

  it('an empty scopes list applies to every app', () => {
    const p = compileResiliency(
      [resiliency('all', { policies: policies('1s'), targets: {} }, { scopes: [] })],
      { appId: 'me' },
    );
    assert.equal(p.loadedCount, 1);
  });

  it('later resources replace policies and targets of the same name', () => {
    const p = compileResiliency(
      [
        resiliency('first', { policies: policies('1s'), targets: { apps: { a: { retry: 'r' } } } }),
        resiliency('second', {
          policies: { ...policies('7s'), timeouts: { t: '3s' } },
          targets: { apps: { a: { timeout: 't' } } },
        }),
      ],
      { appId: 'me' },
    );
    const a = p.forApp('a');
    assert.equal(a.retry, undefined, 'the second definition of target a replaced the first');
    assert.equal(a.timeout?.timeoutMs, 3000);
    assert.equal(a.telemetry.resiliencyName, 'second');
  });

  it('targets may use policies defined in another resource', () => {
    const p = compileResiliency(
      [
        resiliency('policies', { policies: { timeouts: { general: '5s' } }, targets: {} }),
        resiliency('targets', {
          policies: {},
          targets: { components: { store: { outbound: { timeout: 'general' } } } },
        }),
      ],
      { appId: 'me' },
    );
    assert.equal(p.forComponentOutbound('store', 'state').timeout?.timeoutMs, 5000);
    assert.equal(p.forComponentOutbound('store', 'state').telemetry.target, 'Statestore_store');
  });

  it('metadata.namespace is kept for telemetry and the loaded list', () => {
    const r = resiliency('n', { policies: policies('1s'), targets: { apps: { a: { retry: 'r' } } } }) as {
      metadata: Record<string, string>;
    };
    r.metadata.namespace = 'prod';
    const p = compileResiliency([r], { appId: 'me' });
    assert.deepEqual(p.loaded, [{ name: 'n', namespace: 'prod' }]);
    assert.equal(p.forApp('a').telemetry.namespace, 'prod');
  });
});

describe('resources read by the runtime (sidecar/spec)', () => {
  it('compile through resiliencyDocument', () => {
    const read = {
      kind: 'Resiliency' as const,
      name: 'from-file',
      scopes: ['me'],
      spec: { policies: { timeouts: { t: '4s' } }, targets: { apps: { b: { timeout: 't' } } } },
      source: '/tmp/resiliency.yaml',
    };
    const p = compileResiliency([resiliencyDocument(read, 'default')], { appId: 'me' });
    assert.deepEqual(p.loaded, [{ name: 'from-file', namespace: 'default' }]);
    assert.equal(p.forApp('b').timeout?.timeoutMs, 4000);
  });
});
