import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { decodeInvokeResponse, encodeInvokeRequest } from '../../../sidecar/api/internal/invoke-messages.js';
import { CALL_LOCAL_PATH } from '../../../sidecar/api/internal/service-definition.js';
import { ensureGrpcGoProbe, type ProbeTls, runGrpcGoProbe } from '../../env/grpc-go-probe.js';
import { makeTempDir, removeTempDir } from '../../env/process.js';
import { type Sidecar, writeResources } from '../harness.js';
import { type SentryFixture, startSentryFixture } from '../sentry/sentry-fixture.js';
import { startAppSidecar, startTestApp, type TestApp } from './invoke-fixture.js';

/**
 * mTLS between sidecars with certificates from a real sentry (insecure/dev validator, as in
 * self-hosted mode): B's sidecar reads A's SPIFFE identity from the TLS handshake and applies
 * Configuration `spec.accessControl`. A denial reaches A's app as daprd's 403 ERR_DIRECT_INVOKE.
 */

let home = '';
let sentry: SentryFixture;
let app: TestApp;
let a: Sidecar;
let b: Sidecar;
let z: Sidecar;
let plain: Sidecar;

const CONFIG = {
  apiVersion: 'dapr.io/v1alpha1',
  kind: 'Configuration',
  metadata: { name: 'b-acl' },
  spec: {
    accessControl: {
      defaultAction: 'deny',
      trustDomain: 'public',
      policies: [
        {
          appId: 'a',
          defaultAction: 'deny',
          trustDomain: 'public',
          namespace: 'default',
          operations: [
            { name: '/allowed/*', httpVerb: ['GET'], action: 'allow' },
            { name: '/open/**', httpVerb: ['*'], action: 'allow' },
          ],
        },
      ],
    },
  },
};

before(async () => {
  home = await makeTempDir('invoke-mtls-home');
  sentry = await startSentryFixture();
  const anchors = await readFile(sentry.trustFile, 'utf8');
  const mtls = {
    args: [
      '--enable-mtls',
      '--sentry-address',
      sentry.address,
      '--control-plane-trust-domain',
      'cluster.local',
      '--control-plane-namespace',
      'dapr-system',
    ],
    env: { DAPR_TRUST_ANCHORS: anchors },
  };
  app = await startTestApp();
  const configPath = await writeResources(home, [CONFIG], 'b-config.yaml');
  b = await startAppSidecar(home, { appId: 'b', appPort: app.port, configPath, ...mtls });
  a = await startAppSidecar(home, { appId: 'a', ...mtls });
  // z takes its anchors from --trust-anchors-file, which wins over a literal DAPR_TRUST_ANCHORS
  // (here garbage: mTLS would fail if z used it), as in daprd.
  z = await startAppSidecar(home, {
    appId: 'z',
    args: [...mtls.args, '--trust-anchors-file', sentry.trustFile],
    env: { DAPR_TRUST_ANCHORS: 'not-a-pem' },
  });
  plain = await startAppSidecar(home, { appId: 'plain' });
});

after(async () => {
  await a?.stop();
  await b?.stop();
  await z?.stop();
  await plain?.stop();
  await app?.close();
  await sentry?.close();
  await removeTempDir(home);
});

describe('invocation over mTLS with access control', () => {
  it('lets an allowed operation through and B sees A as the caller', async () => {
    const res = await fetch(`${a.url}/v1.0/invoke/b/method/allowed/item`);
    assert.equal(res.status, 200, await res.clone().text());
    const got = (await res.json()) as { headers: Record<string, string> };
    assert.equal(got.headers['dapr-caller-app-id'], 'a');
    const all = await fetch(`${a.url}/v1.0/invoke/b/method/open/deep/path`, { method: 'DELETE' });
    assert.equal(all.status, 200);
    assert.match(b.logs(), /mTLS/);
  });

  it('denies a verb the policy does not allow with 403 ERR_DIRECT_INVOKE', async () => {
    const before = app.hits.length;
    const res = await fetch(`${a.url}/v1.0/invoke/b/method/allowed/item`, { method: 'POST', body: 'x' });
    assert.equal(res.status, 403);
    const body = (await res.json()) as { errorCode: string; message: string };
    assert.equal(body.errorCode, 'ERR_DIRECT_INVOKE');
    assert.equal(
      body.message,
      'failed to invoke, id: b, err: rpc error: code = PermissionDenied desc = access control policy has denied access to appid: a operation: allowed/item verb: POST',
    );
    assert.equal(app.hits.length, before, 'the app never saw the denied call');
  });

  it("applies the app policy's default action to other operations", async () => {
    const res = await fetch(`${a.url}/v1.0/invoke/b/method/private`);
    assert.equal(res.status, 403);
  });

  it('applies the global default action to callers without a policy, by their SPIFFE ID', async () => {
    const res = await fetch(`${z.url}/v1.0/invoke/b/method/allowed/item`);
    assert.equal(res.status, 403);
    const body = (await res.json()) as { message: string };
    assert.match(body.message, /denied access to appid: z /);
  });

  it('counts access-control decisions with Dapr metric names', async () => {
    const text = await (await fetch(`http://127.0.0.1:${b.metricsPort}/`)).text();
    const value = (name: string, ...labels: string[]): number => {
      const line = text
        .split('\n')
        .find((l) => l.startsWith(`${name}{`) && labels.every((x) => l.includes(x)));
      return line === undefined ? 0 : Number(line.split(' ').at(-1));
    };
    assert.ok(
      value('dapr_runtime_acl_app_policy_action_allowed_total', 'app_id="a"', 'trustDomain="public"') >= 2,
    );
    assert.ok(value('dapr_runtime_acl_app_policy_action_blocked_total', 'app_id="a"') >= 2);
    assert.ok(value('dapr_runtime_acl_global_policy_action_blocked_total', 'app_id="z"') >= 1);
  });

  it('serves a grpc-go caller over mTLS and applies the ACL to its SPIFFE identity', async () => {
    // grpc-go with Go's TLS stack, as daprd would call: a sentry certificate, ALPN h2, and the
    // server checked by chain and SPIFFE ID (no host name).
    const probe = await ensureGrpcGoProbe((m) => process.stderr.write(`${m}\n`));
    const material = async (appId: string): Promise<ProbeTls> => {
      const identity = await sentry.identity(appId);
      await identity.start();
      const cur = identity.current();
      assert.ok(cur !== undefined);
      const cert = join(home, `${appId}-cert.pem`);
      const key = join(home, `${appId}-key.pem`);
      await writeFile(cert, cur.certChainPem);
      await writeFile(key, cur.keyPem);
      return { ca: sentry.trustFile, cert, key };
    };
    const call = (tls: ProbeTls, verb: string) =>
      runGrpcGoProbe(
        probe,
        `127.0.0.1:${b.internalPort}`,
        CALL_LOCAL_PATH,
        [
          encodeInvokeRequest({
            method: 'allowed/item',
            verb,
            query: '',
            contentType: '',
            metadata: { 'dapr-caller-app-id': ['a'] },
          }),
        ],
        false,
        tls,
      );
    const asA = await material('a');
    const allowed = await call(asA, 'GET');
    assert.equal(allowed.code, 0, allowed.message);
    assert.equal(allowed.peer, 'spiffe://public/ns/default/b');
    assert.equal(decodeInvokeResponse(allowed.messages[0] as Buffer).head.status, 200);
    const denied = await call(asA, 'POST');
    assert.equal(denied.code, 7, 'PERMISSION_DENIED');
    assert.equal(
      denied.message,
      'access control policy has denied access to appid: a operation: allowed/item verb: POST',
    );
    // The identity comes from the certificate, not from the caller id the request claims.
    const asZ = await call(await material('z'), 'GET');
    assert.equal(asZ.code, 7);
    assert.match(asZ.message, /appid: z /);
    const before = app.hits.length;
    const noCert = await call({ ca: sentry.trustFile }, 'GET');
    assert.equal(noCert.code, 14, 'UNAVAILABLE: the handshake fails without a client certificate');
    assert.equal(app.hits.length, before);
  });

  it('refuses a caller without a certificate', async () => {
    const before = app.hits.length;
    const res = await fetch(`${plain.url}/v1.0/invoke/b/method/allowed/item`);
    assert.equal(res.status, 500);
    assert.equal(((await res.json()) as { errorCode: string }).errorCode, 'ERR_DIRECT_INVOKE');
    assert.equal(app.hits.length, before);
  });
});
