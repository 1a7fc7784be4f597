import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { createTestCertificateAuthority } from '../../env/pki.js';
import { waitUntil } from '../../env/process.js';
import { startSidecar } from '../harness.js';

describe('--app-protocol https', () => {
  it('dials, probes and calls the app over TLS without verifying its certificate', async (t) => {
    const ca = createTestCertificateAuthority('outrigger-test-app-ca');
    const leaf = ca.issue({ commonName: 'app', ipAddresses: ['127.0.0.1'] });
    const probes: string[] = [];
    const app: Server = createServer({ cert: leaf.certPem, key: leaf.keyPem }, (req, res) => {
      if (req.url === '/healthz') {
        probes.push(req.url);
        res.writeHead(204).end();
      } else res.end(`secure ${req.method} ${req.url}`);
    });
    await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve));
    t.after(
      () =>
        new Promise<void>((resolve) => {
          app.closeAllConnections();
          app.close(() => resolve());
        }),
    );
    const appPort = (app.address() as AddressInfo).port;
    const sidecar = await startSidecar({
      appId: 'secure',
      appPort,
      args: ['--app-protocol', 'https', '--enable-app-health-check', '--app-health-probe-interval', '1'],
    });
    t.after(() => sidecar.stop());
    await waitUntil(
      'healthz 204 after a TLS health probe',
      async () => (await fetch(`${sidecar.url}/v1.0/healthz`)).status === 204,
      20_000,
      { process: sidecar.proc },
    );
    assert.ok(probes.length > 0);
    const res = await fetch(`${sidecar.url}/v1.0/invoke/secure/method/hello`);
    assert.equal(res.status, 200);
    assert.equal(await res.text(), 'secure GET /hello');
  });
});
