import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { freePort } from '../../env/process.js';
import { startSidecar } from '../harness.js';

/**
 * The injector passes daprd's argument list (dapr/dapr pkg/injector/patcher/sidecar_container.go).
 * outriggerd must accept it unchanged. Kubernetes mode itself needs Sentry (mTLS between sidecars),
 * so this runs the same list with `--mode standalone`, which the injector also emits.
 */
describe('daprd injector arguments', () => {
  it('starts with the injected flag set', async (t) => {
    const profilePort = await freePort();
    const sidecar = await startSidecar({
      appId: 'injected',
      publicPort: true,
      env: { NAMESPACE: 'shop', POD_NAME: 'injected-7d9f' },
      args: [
        '--app-protocol',
        'http',
        '--log-level',
        'info',
        '--dapr-graceful-shutdown-seconds',
        '5',
        '--mode',
        'standalone',
        '--enable-metrics',
        '--enable-api-logging=false',
        '--disable-builtin-k8s-secret-store',
        '--log-as-json',
        '--app-max-concurrency',
        '10',
        '--dapr-http-max-request-size',
        '8',
        '--dapr-http-read-buffer-size',
        '4',
        '--enable-profiling',
        '--profile-port',
        String(profilePort),
      ],
    });
    t.after(() => sidecar.stop());
    const health = await fetch(`http://127.0.0.1:${sidecar.publicPort}/v1.0/healthz`);
    assert.equal(health.status, 204);
    const metadata = (await (await fetch(`${sidecar.url}/v1.0/metadata`)).json()) as {
      id: string;
      appConnectionProperties: { maxConcurrency?: number };
    };
    assert.equal(metadata.id, 'injected');
    assert.equal(metadata.appConnectionProperties.maxConcurrency, 10);
    const logs = sidecar
      .logs()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { level: string; msg: string });
    // dapr.io/enable-profiling: the pprof index answers on --profile-port.
    assert.equal((await fetch(`http://127.0.0.1:${profilePort}/debug/pprof/`)).status, 200);
    assert.ok(
      logs.some((l) => l.msg.includes('Running in standalone mode; app id injected, namespace shop')),
    );
  });
});
