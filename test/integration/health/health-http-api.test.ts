import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startSidecar } from '../harness.js';
import { assertDaprError, call } from '../state/http-call.js';

/** Health, public health port and shutdown routes through outriggerd. */

describe('health routes', () => {
  it('checks ?appid= against the app id (ERR_HEALTH_APPID_NOT_MATCH) and serves the public port', async (t) => {
    const sidecar = await startSidecar({ appId: 'healthapp', publicPort: true });
    t.after(() => sidecar.stop());
    assert.equal((await call(sidecar.url, 'GET', '/v1.0/healthz')).status, 204);
    assert.equal((await call(sidecar.url, 'GET', '/v1.0/healthz?appid=healthapp')).status, 204);
    assertDaprError(
      await call(sidecar.url, 'GET', '/v1.0/healthz?appid=someone-else'),
      500,
      'ERR_HEALTH_APPID_NOT_MATCH',
      /app-id does not match/,
    );
    assert.equal((await call(sidecar.url, 'GET', '/v1.0/healthz/outbound/')).status, 204);
    const pub = `http://127.0.0.1:${sidecar.publicPort}`;
    assert.equal((await call(pub, 'GET', '/v1.0/healthz')).status, 204);
    assert.equal((await call(pub, 'GET', '/v1.0/healthz/outbound')).status, 204);
    assert.equal((await call(pub, 'POST', '/v1.0/shutdown')).status, 404);
    // Shutdown is POST only: another verb is 405 and the sidecar keeps running.
    assert.equal((await call(sidecar.url, 'GET', '/v1.0/shutdown')).status, 405);
    assert.equal((await call(sidecar.url, 'GET', '/v1.0/healthz')).status, 204);
  });

  it('POST /v1.0/shutdown answers 204 and the sidecar exits cleanly', async (t) => {
    const sidecar = await startSidecar({ appId: 'shutdownapp' });
    t.after(() => sidecar.stop());
    const res = await call(sidecar.url, 'POST', '/v1.0/shutdown');
    assert.equal(res.status, 204);
    const exit = await sidecar.proc.exited;
    assert.equal(exit.code, 0, sidecar.logs());
  });
});
