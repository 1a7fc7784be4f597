import assert from 'node:assert/strict';
import { request } from 'node:http';
import { describe, it } from 'node:test';
import { removeTempDir, waitUntil } from '../../env/process.js';
import { component, makeResourcesDir, startSidecar } from '../harness.js';

describe('graceful shutdown', () => {
  it('SIGTERM drains a request that is still uploading, then exits 0 after closing components', async (t) => {
    const dir = await makeResourcesDir([component('statestore', 'state.in-memory')]);
    t.after(() => removeTempDir(dir));
    const sidecar = await startSidecar({
      appId: 'drain',
      resourcesPaths: [dir],
      args: ['--log-level', 'debug', '--dapr-graceful-shutdown-seconds', '20'],
    });
    t.after(() => sidecar.stop());

    const body = Buffer.from(JSON.stringify([{ key: 'k', value: { saved: 'during shutdown' } }]));
    const half = Math.floor(body.length / 2);
    const responded = new Promise<number>((resolve, reject) => {
      // `Expect: 100-continue` makes the server acknowledge the request before the body is sent,
      // so SIGTERM provably arrives while the request is in flight.
      const req = request(`${sidecar.url}/v1.0/state/statestore`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'content-length': body.length,
          expect: '100-continue',
        },
      });
      req.on('response', (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.on('continue', () => {
        req.write(body.subarray(0, half));
        process.kill(sidecar.proc.pid, 'SIGTERM');
        waitUntil(
          'shutdown to start',
          async () => /Dapr shutting down: received SIGTERM/.test(sidecar.logs()),
          10_000,
        ).then(() => req.end(body.subarray(half)), reject);
      });
      req.flushHeaders();
    });
    assert.equal(await responded, 204);
    const exit = await sidecar.proc.exited;
    assert.equal(exit.code, 0, sidecar.logs());
    const logs = sidecar.logs();
    assert.match(logs, /Component closed: statestore/);
    assert.ok(
      logs.indexOf('API servers closed') < logs.indexOf('Component closed: statestore'),
      'components close after the servers drained',
    );
  });

  it('POST /v1.0/shutdown answers 204 and the process exits 0', async (t) => {
    const sidecar = await startSidecar({ appId: 'shutdownapi' });
    t.after(() => sidecar.stop());
    const res = await fetch(`${sidecar.url}/v1.0/shutdown`, { method: 'POST' });
    assert.equal(res.status, 204);
    const exit = await sidecar.proc.exited;
    assert.equal(exit.code, 0, sidecar.logs());
    assert.match(sidecar.logs(), /Dapr shutting down: shutdown API called/);
  });
});
