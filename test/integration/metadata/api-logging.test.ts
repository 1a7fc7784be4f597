import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { waitUntil } from '../../env/process.js';
import { startSidecar } from '../harness.js';
import { call } from '../state/http-call.js';

/** `--enable-api-logging` writes one structured line per API call (health checks excluded, as daprd). */

describe('API logging', () => {
  it('logs method, path, status and duration with --enable-api-logging', async (t) => {
    const sidecar = await startSidecar({ appId: 'logapp', args: ['--enable-api-logging', '--log-as-json'] });
    t.after(() => sidecar.stop());
    await call(sidecar.url, 'GET', '/v1.0/metadata');
    await call(sidecar.url, 'GET', '/v1.0/state/nostore/key');
    await waitUntil('API log lines', async () => sidecar.logs().includes('/v1.0/state/nostore/key'), 10_000);
    const lines = sidecar
      .logs()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => l.msg === 'HTTP API Called');
    const stateLine = lines.find((l) => l.path === '/v1.0/state/nostore/key');
    assert.ok(stateLine, `no API log line in:\n${sidecar.logs()}`);
    assert.equal(stateLine.method, 'GET');
    assert.equal(stateLine.status, 500);
    assert.equal(stateLine.route, '/v1.0/state/:storeName/:key');
    assert.equal(typeof stateLine.duration, 'number');
    assert.ok(lines.some((l) => l.path === '/v1.0/metadata' && l.status === 200));
    // The harness polls healthz/outbound: health checks are not API-logged.
    assert.ok(!lines.some((l) => String(l.path).startsWith('/v1.0/healthz')));
  });

  it('logs nothing per request without the flag', async (t) => {
    const sidecar = await startSidecar({ appId: 'quietapp' });
    t.after(() => sidecar.stop());
    await call(sidecar.url, 'GET', '/v1.0/metadata');
    assert.ok(!sidecar.logs().includes('HTTP API Called'));
  });
});
