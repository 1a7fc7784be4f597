import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createLogger } from '../../../sidecar/observability/logger.js';

describe('sidecar logger', () => {
  it('writes daprd-like JSON lines with the child scope and extra fields', () => {
    const lines: string[] = [];
    const log = createLogger({
      level: 'info',
      json: true,
      appId: 'orders',
      instance: 'pod-1',
      write: (l) => lines.push(l),
    });
    log.child({ scope: 'dapr.contrib', component: 'statestore' }).info('Component loaded', { attempt: 2 });
    log.debug('hidden at info level');
    assert.equal(lines.length, 1);
    const rec = JSON.parse(lines[0] ?? '') as Record<string, unknown>;
    assert.deepEqual(Object.keys(rec).slice(0, 8), [
      'time',
      'level',
      'msg',
      'scope',
      'app_id',
      'instance',
      'type',
      'ver',
    ]);
    assert.equal(rec.msg, 'Component loaded');
    assert.equal(rec.scope, 'dapr.contrib');
    assert.equal(rec.app_id, 'orders');
    assert.equal(rec.instance, 'pod-1');
    assert.equal(rec.type, 'log');
    assert.equal(rec.component, 'statestore');
    assert.equal(rec.attempt, 2);
    assert.ok(!Number.isNaN(Date.parse(String(rec.time))));
  });

  it('writes logfmt-style text lines and filters below the level', () => {
    const lines: string[] = [];
    const log = createLogger({
      level: 'warn',
      json: false,
      appId: 'orders',
      instance: 'pod-1',
      write: (l) => lines.push(l),
    });
    log.info('not shown');
    log.warn('disk "almost" full', { error: new Error('ENOSPC') });
    assert.equal(lines.length, 1);
    assert.match(
      lines[0] ?? '',
      /^time="[^"]+" level=warn msg="disk \\"almost\\" full" app_id=orders instance=pod-1 scope=dapr\.runtime type=log ver=\S+ error=ENOSPC$/,
    );
  });
});
