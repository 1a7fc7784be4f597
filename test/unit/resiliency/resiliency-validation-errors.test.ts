import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseResiliencyDuration } from '../../../sidecar/resiliency/durations.js';
import { ResiliencyValidationError } from '../../../sidecar/resiliency/errors.js';
import { compileResiliency } from '../../../sidecar/resiliency/provider.js';
import { recordingLogger } from '../recording-logger.js';
import { resiliency } from './fake-clock.js';

function problemsOf(resources: unknown[]): { resource: string; path: string; rule: string }[] {
  try {
    compileResiliency(resources, { appId: 'me' });
  } catch (err) {
    assert.ok(err instanceof ResiliencyValidationError);
    return [...err.problems];
  }
  assert.fail('expected a ResiliencyValidationError');
}

describe('resiliency validation errors', () => {
  it('parses durations the way Dapr does: bare integers are milliseconds', () => {
    assert.equal(parseResiliencyDuration('1500'), 1500);
    assert.equal(parseResiliencyDuration(250), 250);
    assert.equal(parseResiliencyDuration('1m30s'), 90_000);
    assert.equal(parseResiliencyDuration('1.5s'), 1500);
    assert.equal(parseResiliencyDuration('1h2m3.5s'), 3_723_500);
    assert.equal(parseResiliencyDuration('100us'), 0.1);
    assert.equal(parseResiliencyDuration('5 seconds'), undefined);
    assert.equal(parseResiliencyDuration('5'), 5);
  });

  it('names the resource, the policy and the rule for a bad duration', () => {
    const problems = problemsOf([
      resiliency('bad-durations', {
        policies: {
          timeouts: { general: 'five seconds' },
          retries: { r: { duration: '-1s', maxInterval: 'x' } },
          circuitBreakers: { cb: { timeout: '10 min' } },
        },
        targets: {},
      }),
    ]);
    const paths = problems.map((p) => p.path).sort();
    assert.deepEqual(paths, [
      'spec.policies.circuitBreakers.cb.timeout',
      'spec.policies.retries.r.duration',
      'spec.policies.retries.r.maxInterval',
      'spec.policies.timeouts.general',
    ]);
    assert.ok(problems.every((p) => p.resource === 'bad-durations'));
    assert.match(problems.find((p) => p.path.endsWith('duration'))?.rule ?? '', /negative/);
  });

  it('reports a target that refers to an unknown policy', () => {
    const problems = problemsOf([
      resiliency('dangling', {
        policies: { timeouts: { general: '5s' } },
        targets: {
          apps: { b: { timeout: 'general', retry: 'missing' } },
          actors: { A: { circuitBreaker: 'nocb', circuitBreakerScope: 'type' } },
          components: { store: { outbound: { timeout: 'gone' } } },
        },
      }),
    ]);
    assert.deepEqual(problems, [
      {
        resource: 'dangling',
        path: 'spec.targets.apps.b.retry',
        rule: 'refers to unknown retry policy "missing"',
      },
      {
        resource: 'dangling',
        path: 'spec.targets.actors.A.circuitBreaker',
        rule: 'refers to unknown circuit breaker policy "nocb"',
      },
      {
        resource: 'dangling',
        path: 'spec.targets.components.store.outbound.timeout',
        rule: 'refers to unknown timeout policy "gone"',
      },
    ]);
  });

  it('reports a bad trip expression with its column', () => {
    const [problem, ...rest] = problemsOf([
      resiliency('trip', {
        policies: { circuitBreakers: { cb: { trip: 'consecutiveFailures >> 5' } } },
        targets: {},
      }),
    ]);
    assert.equal(rest.length, 0);
    assert.equal(problem?.path, 'spec.policies.circuitBreakers.cb.trip');
    assert.match(problem?.rule ?? '', /"consecutiveFailures >> 5" at column 22/);
  });

  it('reports bad matching ranges, bad policy kinds and bad counts', () => {
    const problems = problemsOf([
      resiliency('retries', {
        policies: {
          retries: {
            r1: { matching: { httpStatusCodes: '500-599-600', gRPCStatusCodes: '20' } },
            r2: { policy: 'linear', maxRetries: -2 },
            r3: { maxRetries: 'many' },
          },
          circuitBreakers: { cb: { maxRequests: -1 } },
        },
        targets: {},
      }),
    ]);
    const byPath = new Map(problems.map((p) => [p.path, p.rule]));
    assert.match(byPath.get('spec.policies.retries.r1.matching.httpStatusCodes') ?? '', /more than one '-'/);
    assert.match(byPath.get('spec.policies.retries.r1.matching.gRPCStatusCodes') ?? '', /outside 0-16/);
    assert.match(byPath.get('spec.policies.retries.r2.policy') ?? '', /"constant" or "exponential"/);
    assert.match(byPath.get('spec.policies.retries.r2.maxRetries') ?? '', />= -1/);
    assert.match(byPath.get('spec.policies.retries.r3.maxRetries') ?? '', /integer/);
    assert.match(byPath.get('spec.policies.circuitBreakers.cb.maxRequests') ?? '', />= 0/);
  });

  it('requires circuitBreakerScope on actor targets with a breaker (as Dapr does)', () => {
    const problems = problemsOf([
      resiliency('actors', {
        policies: { circuitBreakers: { cb: {} } },
        targets: {
          actors: { A: { circuitBreaker: 'cb' }, B: { circuitBreaker: 'cb', circuitBreakerScope: 'pod' } },
        },
      }),
    ]);
    assert.deepEqual(
      problems.map((p) => p.path),
      ['spec.targets.actors.A.circuitBreakerScope', 'spec.targets.actors.B.circuitBreakerScope'],
    );
  });

  it('checks the resource envelope', () => {
    const problems = problemsOf([
      { apiVersion: 'dapr.io/v2', kind: 'Component', metadata: {}, spec: {} },
      'not a map',
    ]);
    assert.deepEqual(
      problems.map((p) => `${p.resource} ${p.path}`),
      ['#0 apiVersion', '#0 kind', '#0 metadata.name', '#0 spec.policies', '#1 '],
    );
  });

  it('lists every problem of every resource in one error message', () => {
    try {
      compileResiliency(
        [
          resiliency('one', { policies: { timeouts: { t: 'x' } }, targets: {} }),
          resiliency('two', { policies: { retries: { r: { duration: 'y' } } }, targets: {} }),
        ],
        { appId: 'me' },
      );
      assert.fail('expected an error');
    } catch (err) {
      assert.ok(err instanceof ResiliencyValidationError);
      assert.match(
        err.message,
        /Resiliency "one" spec\.policies\.timeouts\.t: .*; Resiliency "two" spec\.policies\.retries\.r\.duration/,
      );
    }
  });

  it('lists dangling references together with the other problems', () => {
    const problems = problemsOf([
      resiliency('broken', { policies: { timeouts: { t: 'x' } }, targets: {} }),
      resiliency('refs', { policies: {}, targets: { apps: { b: { retry: 'nope' } } } }),
    ]);
    assert.deepEqual(
      problems.map((p) => `${p.resource} ${p.path}`),
      ['broken spec.policies.timeouts.t', 'refs spec.targets.apps.b.retry'],
    );
  });

  it('with skipInvalid, invalid resources are dropped (as daprd does) and the rest apply', () => {
    const { logger, errors } = recordingLogger();
    const p = compileResiliency(
      [
        resiliency('good', {
          policies: { timeouts: { t: '1s' } },
          targets: { apps: { a: { timeout: 't' } } },
        }),
        resiliency('bad', {
          policies: { timeouts: { u: 'nope' } },
          targets: { apps: { b: { timeout: 'u' } } },
        }),
      ],
      { appId: 'me', skipInvalid: true, logger },
    );
    assert.deepEqual(
      p.loaded.map((l) => l.name),
      ['good'],
    );
    assert.equal(p.forApp('a').timeout?.timeoutMs, 1000);
    assert.equal(p.hasAppTarget('b'), false);
    assert.deepEqual(
      p.problems.map((x) => x.resource),
      ['bad'],
    );
    assert.equal(errors.length, 1);
  });

  it('with skipInvalid, a target naming a missing policy is kept and gets none of that kind, as in daprd', () => {
    const { logger, errors, warnings } = recordingLogger();
    const p = compileResiliency(
      [
        resiliency('dangling', {
          policies: { timeouts: { t: '2s' }, retries: { DefaultAppRetryPolicy: { maxRetries: 7 } } },
          targets: {
            apps: { c: { timeout: 't', retry: 'missing' } },
            components: { store: { outbound: { circuitBreaker: 'nocb', timeout: 't' } } },
          },
        }),
      ],
      { appId: 'me', skipInvalid: true, logger },
    );
    assert.deepEqual(
      p.loaded.map((l) => l.name),
      ['dangling'],
    );
    assert.deepEqual(p.problems, []);
    assert.equal(errors.length, 0);
    assert.ok(
      warnings.some((w) => w.includes('spec.targets.apps.c.retry: refers to unknown retry policy "missing"')),
    );
    assert.ok(
      warnings.some((w) =>
        w.includes('spec.targets.components.store.outbound.circuitBreaker: refers to unknown'),
      ),
    );
    // The named target stands: its timeout applies, and no retry, default or built-in, replaces the missing one.
    assert.equal(p.hasAppTarget('c'), true);
    const app = p.forApp('c');
    assert.equal(app.timeout?.timeoutMs, 2000);
    assert.equal(app.retry, undefined);
    const store = p.forComponentOutbound('store', 'state');
    assert.equal(store.circuitBreaker, undefined);
    assert.equal(store.timeout?.timeoutMs, 2000);
    // Apps without a target still take the default.
    assert.equal(p.forApp('other').retry?.maxRetries, 7);
  });

  it('unknown fields are ignored with a warning, as Dapr ignores them', () => {
    const { logger, warnings } = recordingLogger();
    compileResiliency([resiliency('typo', { policies: { retries: { r: { maxRetry: 3 } } }, targets: {} })], {
      appId: 'me',
      logger,
    });
    assert.ok(warnings.some((w) => w.includes('spec.policies.retries.r: unknown field "maxRetry"')));
  });
});
