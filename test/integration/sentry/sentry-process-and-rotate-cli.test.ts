import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseCertificates } from '../../../sidecar/pki/x509/certificate.js';
import { WorkloadIdentity } from '../../../sidecar/security/workload-identity.js';
import {
  freePort,
  ManagedProcess,
  makeTempDir,
  removeTempDir,
  runCommand,
  waitForPort,
  waitUntil,
} from '../../env/process.js';
import { callPeer, startPeerServer } from './mtls-peers.js';

const MAIN = fileURLToPath(new URL('../../../operator/sentry/main.js', import.meta.url));
const quiet = { info: () => {}, warn: () => {}, error: () => {} };

describe('sentry as a process (self-hosted) and the rotate-root CLI', () => {
  let dir: string;
  let sentry: ManagedProcess;
  let port: number;
  let metricsPort: number;
  const identities: WorkloadIdentity[] = [];
  const flags = () => [
    '--mode',
    'standalone',
    '--issuer-credentials',
    join(dir, 'creds'),
    '--trust-anchors-file',
    join(dir, 'ca.crt'),
  ];

  before(async () => {
    dir = await makeTempDir('sentry-proc');
    port = await freePort();
    metricsPort = await freePort();
    sentry = await ManagedProcess.start({
      name: 'sentry',
      command: process.execPath,
      args: [
        MAIN,
        ...flags(),
        '--listen-address',
        '127.0.0.1',
        '--port',
        String(port),
        '--metrics-port',
        String(metricsPort),
        '--enable-insecure-validator',
        '--reload-interval',
        '200ms',
      ],
      logFile: join(dir, 'sentry.log'),
    });
    await waitForPort('127.0.0.1', port, 20_000, { process: sentry });
    await waitForPort('127.0.0.1', metricsPort, 20_000, { process: sentry });
  });
  after(async () => {
    for (const i of identities) i.close();
    await sentry?.stop();
    if (dir !== undefined) await removeTempDir(dir);
  });

  const identity = async (appId: string) => {
    const id = new WorkloadIdentity({
      appId,
      namespace: 'default',
      trustDomain: 'public',
      sentry: {
        address: `127.0.0.1:${port}`,
        spiffeId: 'spiffe://cluster.local/ns/dapr-system/dapr-sentry',
        timeoutMs: 3_000,
      },
      tokenFile: join(dir, 'absent-token'),
      tokenValidator: 'UNKNOWN',
      trustAnchorsPem: await readFile(join(dir, 'ca.crt'), 'utf8'),
      trustAnchorsFile: join(dir, 'ca.crt'),
      trustBundlePollMs: 100,
      retryBaseMs: 50,
      retryMaxMs: 500,
      logger: quiet,
    });
    identities.push(id);
    await id.start();
    return id;
  };

  it('bootstraps root + issuer into --issuer-credentials and publishes ca.crt', async () => {
    const creds = join(dir, 'creds');
    const [ca, issuer, key] = await Promise.all(
      ['ca.crt', 'issuer.crt', 'issuer.key'].map((f) => readFile(join(creds, f), 'utf8')),
    );
    assert.equal(parseCertificates(ca ?? '').length, 1);
    assert.equal(
      parseCertificates(issuer ?? '')[0]?.subject,
      'O=spiffe://cluster.local/ns/dapr-system/dapr-sentry',
    );
    assert.match(key ?? '', /BEGIN PRIVATE KEY/);
    assert.equal(await readFile(join(dir, 'ca.crt'), 'utf8'), ca);
  });

  it('issues certificates and exposes Dapr sentry metrics', async () => {
    const a = await identity('orders');
    assert.equal(a.current()?.spiffeId, 'spiffe://public/ns/default/orders');
    const res = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
    const text = await res.text();
    assert.match(text, /^dapr_sentry_cert_sign_request_received_total 1$/m);
    assert.match(text, /^dapr_sentry_cert_sign_success_total 1$/m);
    assert.match(text, /^dapr_sentry_issuercert_expiry_timestamp \d+$/m);
    assert.match(text, /^dapr_sentry_rootcert_expiry_timestamp \d+$/m);
  });

  it('rotates the root with the CLI while two peers keep talking', async () => {
    const a = await identity('rot-a');
    const b = await identity('rot-b');
    const server = await startPeerServer(a);
    const rootKey = join(dir, 'new-root.key');
    const cli = (step: string, extra: string[] = []) =>
      runCommand(process.execPath, [MAIN, 'rotate-root', step, ...flags(), ...extra]);
    try {
      const add = JSON.parse((await cli('add', ['--root-key', rootKey])).stdout) as { roots: number };
      assert.equal(add.roots, 2);
      await waitUntil(
        'peers trust both roots',
        async () =>
          parseCertificates(a.trustAnchorsPem()).length === 2 &&
          parseCertificates(b.trustAnchorsPem()).length === 2,
        10_000,
        { intervalMs: 50 },
      );
      assert.equal(await callPeer(server.port, b.tlsClientOptions()), 'spiffe://public/ns/default/rot-b');

      await cli('reissue', ['--root-key', rootKey]);
      await waitUntil(
        'sentry reloads',
        async () =>
          (await readFile(sentry.logFile, 'utf8')).includes('Issuer credentials changed; reloading'),
        10_000,
        { process: sentry },
      );
      const newIssuer = parseCertificates(await readFile(join(dir, 'creds', 'issuer.crt'), 'utf8'))[0];
      assert.ok(newIssuer);
      // Sentry may still be mid-reload for a moment; renew until the new issuer signs.
      await waitUntil(
        'renewed from the new issuer',
        async () => {
          await a.renewNow();
          await b.renewNow();
          return (
            a.current()?.leaf.checkIssued(newIssuer) === true &&
            b.current()?.leaf.checkIssued(newIssuer) === true
          );
        },
        10_000,
        { intervalMs: 100 },
      );
      assert.equal(await callPeer(server.port, b.tlsClientOptions()), 'spiffe://public/ns/default/rot-b');

      const finish = JSON.parse((await cli('finish')).stdout) as { roots: number };
      assert.equal(finish.roots, 1);
      await waitUntil(
        'peers drop the old root',
        async () =>
          parseCertificates(a.trustAnchorsPem()).length === 1 &&
          parseCertificates(b.trustAnchorsPem()).length === 1,
        10_000,
        { intervalMs: 50 },
      );
      assert.equal(await callPeer(server.port, b.tlsClientOptions()), 'spiffe://public/ns/default/rot-b');
    } finally {
      await server.close();
    }
  });

  it('rotate-root without a step or key fails with a clear message', async () => {
    await assert.rejects(
      runCommand(process.execPath, [MAIN, 'rotate-root', ...flags()]),
      /needs a step: add, reissue or finish/,
    );
    await assert.rejects(
      runCommand(process.execPath, [MAIN, 'rotate-root', 'add', ...flags()]),
      /needs --root-key/,
    );
  });

  it('refuses bad flags with every problem listed', async () => {
    await assert.rejects(
      runCommand(process.execPath, [MAIN, '--mode', 'weird', '--workload-cert-ttl', 'soon', '--port', 'x']),
      (err: Error) => {
        assert.match(err.message, /--mode: "weird"/);
        assert.match(err.message, /--workload-cert-ttl: "soon" is not a positive duration/);
        assert.match(err.message, /--port: "x" is not a port/);
        return true;
      },
    );
  });
});
