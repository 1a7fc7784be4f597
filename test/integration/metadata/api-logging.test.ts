import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { makeTempDir, removeTempDir, waitUntil } from '../../env/process.js';
import { startSidecar, writeResources } from '../harness.js';
import { call } from '../state/http-call.js';

/**
 * `--enable-api-logging` writes one line per API call in daprd's shape: `method` ("VERB /path", or
 * the endpoint's name with `obfuscateURLs`), `code`, `size`, `duration` in whole milliseconds,
 * `useragent`; health checks included unless `omitHealthChecks`, as in daprd.
 */

type Line = Record<string, unknown>;

function apiLines(logs: string): Line[] {
  return logs
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Line)
    .filter((l) => l.msg === 'HTTP API Called');
}

describe('API logging', () => {
  it("logs each call with daprd's fields, health checks included", async (t) => {
    const sidecar = await startSidecar({ appId: 'logapp', args: ['--enable-api-logging', '--log-as-json'] });
    t.after(() => sidecar.stop());
    await call(sidecar.url, 'GET', '/v1.0/metadata');
    await call(sidecar.url, 'GET', '/v1.0/state/nostore/key');
    await waitUntil('API log lines', async () => sidecar.logs().includes('/v1.0/state/nostore/key'), 10_000);
    const lines = apiLines(sidecar.logs());
    const stateLine = lines.find((l) => l.method === 'GET /v1.0/state/nostore/key');
    assert.ok(stateLine, `no API log line in:\n${sidecar.logs()}`);
    assert.equal(stateLine.code, 500);
    assert.equal(stateLine.scope, 'dapr.runtime.http-info');
    assert.ok(Number.isInteger(stateLine.duration));
    assert.ok(typeof stateLine.size === 'number' && stateLine.size > 0);
    assert.ok(lines.some((l) => l.method === 'GET /v1.0/metadata' && l.code === 200));
    // The harness polls healthz/outbound; daprd logs health checks unless told not to.
    assert.ok(lines.some((l) => l.method === 'GET /v1.0/healthz/outbound' && l.code === 204));
  });

  it('names endpoints instead of URLs with obfuscateURLs, and leaves out health checks with omitHealthChecks', async (t) => {
    const dir = await makeTempDir('api-logging-config');
    t.after(() => removeTempDir(dir));
    const configPath = await writeResources(
      dir,
      [
        {
          apiVersion: 'dapr.io/v1alpha1',
          kind: 'Configuration',
          metadata: { name: 'logging' },
          spec: { logging: { apiLogging: { enabled: true, obfuscateURLs: true, omitHealthChecks: true } } },
        },
      ],
      'config.yaml',
    );
    const sidecar = await startSidecar({ appId: 'obfuscated', configPath, args: ['--log-as-json'] });
    t.after(() => sidecar.stop());
    await call(sidecar.url, 'GET', '/v1.0/state/nostore/secret-customer-id');
    await call(sidecar.url, 'POST', '/v1.0/invoke/nobody/method/orders/42');
    await waitUntil('API log lines', async () => apiLines(sidecar.logs()).length >= 2, 10_000);
    const lines = apiLines(sidecar.logs());
    assert.ok(
      lines.some((l) => l.method === 'GetState' && l.code === 500),
      JSON.stringify(lines),
    );
    assert.ok(
      lines.some((l) => l.method === 'InvokeService/nobody'),
      JSON.stringify(lines),
    );
    assert.ok(!sidecar.logs().includes('secret-customer-id'), 'the URL is not logged');
    assert.ok(!lines.some((l) => String(l.method).startsWith('Healthz')), 'health checks are omitted');
  });

  it('logs nothing per request without the flag', async (t) => {
    const sidecar = await startSidecar({ appId: 'quietapp' });
    t.after(() => sidecar.stop());
    await call(sidecar.url, 'GET', '/v1.0/metadata');
    assert.ok(!sidecar.logs().includes('HTTP API Called'));
  });
});
