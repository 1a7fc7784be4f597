import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { removeTempDir } from '../../env/process.js';
import { component, makeResourcesDir, startSidecar } from '../harness.js';

describe('metrics endpoint', () => {
  it('exposes Dapr metric names after requests, on / and /metrics', async (t) => {
    const dir = await makeResourcesDir([
      component('statestore', 'state.in-memory'),
      component('envsecrets', 'secretstores.local.env'),
    ]);
    t.after(() => removeTempDir(dir));
    const sidecar = await startSidecar({ appId: 'metered', resourcesPaths: [dir] });
    t.after(() => sidecar.stop());
    assert.equal(
      (
        await fetch(`${sidecar.url}/v1.0/state/statestore`, {
          method: 'POST',
          body: '[{"key":"a","value":1}]',
        })
      ).status,
      204,
    );
    assert.equal((await fetch(`${sidecar.url}/v1.0/state/nosuchstore/a`)).status, 400);
    for (const path of ['/', '/metrics']) {
      const res = await fetch(`http://127.0.0.1:${sidecar.metricsPort}${path}`);
      assert.equal(res.status, 200);
      const text = await res.text();
      assert.match(text, /dapr_runtime_component_loaded\{app_id="metered",success="true"\} 2/);
      assert.match(
        text,
        /dapr_http_server_request_count\{app_id="metered",method="POST",path="[^"]*",status="204"\} 1/,
      );
      assert.match(text, /dapr_http_server_latency_bucket\{[^}]*app_id="metered"/);
      assert.match(
        text,
        /dapr_error_code_total\{app_id="metered",category="state",error_code="ERR_STATE_STORE_NOT_FOUND"\} 1/,
      );
      assert.match(text, /process_resident_memory_bytes/);
    }
  });

  it('--enable-metrics=false starts no metrics server', async (t) => {
    const sidecar = await startSidecar({ appId: 'unmetered', args: ['--enable-metrics=false'] });
    t.after(() => sidecar.stop());
    await assert.rejects(fetch(`http://127.0.0.1:${sidecar.metricsPort}/metrics`));
  });
});
