import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { TLSSocket } from 'node:tls';
import { type CertificateKeyPair, createTestCertificateAuthority } from '../../env/pki.js';
import { makeTempDir, removeTempDir } from '../../env/process.js';
import { component, type Sidecar, writeResources } from '../harness.js';
import { startAppSidecar } from './invoke-fixture.js';

/**
 * HTTPEndpoint resources with secrets and client TLS: header values and the clientTLS documents
 * (rootCA, certificate, privateKey) come inline or from a secret store through `auth.secretStore`.
 * The endpoint is a real HTTPS server that requires a client certificate from a test CA. An
 * endpoint whose secrets or TLS material do not resolve stays known and every call to it fails
 * with ERR_DIRECT_INVOKE and the reason.
 */

let home = '';
let server: Server;
let port = 0;
let a: Sidecar;
let client: CertificateKeyPair;

const ref = (name: string) => ({ secretKeyRef: { name, key: name } });

before(async () => {
  home = await makeTempDir('invoke-endpoint-tls');
  const ca = createTestCertificateAuthority('endpoint test CA');
  const serverCert = ca.issue({ commonName: 'endpoint', ipAddresses: ['127.0.0.1'], usage: 'server' });
  client = ca.issue({ commonName: 'outrigger-client', usage: 'client' });
  server = createServer(
    {
      cert: serverCert.certPem,
      key: serverCert.keyPem,
      ca: ca.certPem,
      requestCert: true,
      rejectUnauthorized: true,
    },
    (req, res) => {
      const peer = (req.socket as TLSSocket).getPeerCertificate();
      res.setHeader('content-type', 'application/json');
      res.end(
        JSON.stringify({ url: req.url, method: req.method, cn: peer.subject?.CN, headers: req.headers }),
      );
    },
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as { port: number }).port;

  const secretsFile = join(home, 'secrets.json');
  await writeFile(
    secretsFile,
    JSON.stringify({ ca: ca.certPem, cert: client.certPem, key: client.keyPem, token: 'Bearer s3cret' }),
  );
  const endpoint = (name: string, spec: object, secretStore = 'vault') => ({
    apiVersion: 'dapr.io/v1alpha1',
    kind: 'HTTPEndpoint',
    metadata: { name },
    spec: { baseUrl: `https://127.0.0.1:${port}`, ...spec },
    auth: { secretStore },
  });
  const resources = await writeResources(home, [
    component('vault', 'secretstores.local.file', { secretsFile }),
    endpoint('secure', {
      headers: [
        { name: 'Authorization', ...ref('token') },
        { name: 'x-plain', value: 'p' },
      ],
      clientTLS: {
        rootCA: ref('ca'),
        certificate: ref('cert'),
        privateKey: { value: client.keyPem },
        renegotiation: 'Never',
      },
    }),
    endpoint('no-client-cert', { clientTLS: { rootCA: ref('ca') } }),
    endpoint('untrusted', { headers: [{ name: 'x-plain', value: 'p' }] }),
    endpoint('missing-secret', {
      headers: [{ name: 'Authorization', secretKeyRef: { name: 'nope', key: 'nope' } }],
    }),
    endpoint('no-store', { headers: [{ name: 'Authorization', ...ref('token') }] }, 'ghost'),
    endpoint('bad-ca', { clientTLS: { rootCA: { value: 'not a certificate' } } }),
    endpoint('half-pair', { clientTLS: { rootCA: ref('ca'), certificate: ref('cert') } }),
    endpoint('wrong-key', {
      clientTLS: { rootCA: ref('ca'), certificate: ref('cert'), privateKey: { value: ca.keyPem } },
    }),
  ]);
  a = await startAppSidecar(home, { appId: 'a', resourcesPaths: [resources] });
});

after(async () => {
  await a?.stop();
  server?.closeAllConnections();
  await new Promise<void>((resolve) => (server === undefined ? resolve() : server.close(() => resolve())));
  await removeTempDir(home);
});

async function invokeError(name: string): Promise<{ status: number; errorCode: string; message: string }> {
  const res = await fetch(`${a.url}/v1.0/invoke/${name}/method/hello`);
  const body = (await res.json()) as { errorCode: string; message: string };
  return { status: res.status, ...body };
}

describe('HTTPEndpoint secrets and client TLS', () => {
  it('sends secret and literal headers over TLS with the client certificate', async () => {
    const res = await fetch(`${a.url}/v1.0/invoke/secure/method/hello?x=1`, { method: 'POST', body: 'hi' });
    assert.equal(res.status, 200);
    const got = (await res.json()) as {
      url: string;
      method: string;
      cn: string;
      headers: Record<string, string>;
    };
    assert.equal(got.url, '/hello?x=1');
    assert.equal(got.method, 'POST');
    assert.equal(got.cn, 'outrigger-client', 'the server saw the client certificate');
    assert.equal(got.headers.authorization, 'Bearer s3cret');
    assert.equal(got.headers['x-plain'], 'p');
  });

  it('fails without a client certificate, and against a server its roots do not trust', async () => {
    for (const name of ['no-client-cert', 'untrusted']) {
      const e = await invokeError(name);
      assert.equal(e.status, 500, name);
      assert.equal(e.errorCode, 'ERR_DIRECT_INVOKE', name);
      assert.doesNotMatch(e.message, /\s$/, `${name}: no trailing newline from OpenSSL`);
    }
  });

  it('keeps an endpoint whose secrets or TLS material do not resolve, and fails its calls with the reason', async () => {
    const cases: [string, RegExp][] = [
      [
        'missing-secret',
        /HTTPEndpoint missing-secret: header Authorization: secret "nope" key "nope" not found/,
      ],
      ['no-store', /secret store "ghost" did not load/],
      ['bad-ca', /rootCA is not a PEM certificate/],
      ['half-pair', /certificate and clientTLS.privateKey must be given together/],
      ['wrong-key', /failed to load client certificate/],
    ];
    for (const [name, message] of cases) {
      const e = await invokeError(name);
      assert.equal(e.status, 500, name);
      assert.equal(e.errorCode, 'ERR_DIRECT_INVOKE', name);
      assert.match(e.message, message);
    }
    assert.match(a.logs(), /HTTPEndpoint bad-ca: .*calls to it will fail/);
  });
});
