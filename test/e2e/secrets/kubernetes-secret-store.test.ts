import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CoreV1Api } from '@kubernetes/client-node';
import { type ControlPlane, startControlPlane } from '../../env/control-plane.js';
import { removeTempDir } from '../../env/process.js';
import { dialDapr, grpcCall } from '../../integration/grpc-api-client.js';
import { component, makeResourcesDir, type Sidecar, startSidecar } from '../../integration/harness.js';

/**
 * `secretstores.kubernetes` against a real kube-apiserver: Secrets read through the sidecar's HTTP
 * and gRPC secrets APIs, decoded from base64, with the namespace from the request, from
 * `defaultNamespace` or from NAMESPACE, and the API server's own message in daprd's error.
 */

let cp: ControlPlane;
let dir = '';
let sidecar: Sidecar;
let noNamespace: Sidecar;
let flagDir = '';
let fromFlag: Sidecar;

const secret = (name: string, data: Record<string, string>) => ({
  metadata: { name },
  type: 'Opaque',
  data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
});

before(async () => {
  cp = await startControlPlane({ log: (m: string) => process.stderr.write(`# ${m}\n`) });
  const core = cp.kubeConfig.makeApiClient(CoreV1Api);
  for (const ns of ['shop', 'billing']) await core.createNamespace({ body: { metadata: { name: ns } } });
  await core.createNamespacedSecret({
    namespace: 'shop',
    body: secret('db-creds', { username: 'orders', password: 'p@ss wörd' }),
  });
  await core.createNamespacedSecret({ namespace: 'shop', body: secret('api-key', { key: 'k-123' }) });
  await core.createNamespacedSecret({
    namespace: 'billing',
    body: secret('db-creds', { username: 'billing' }),
  });
  dir = await makeResourcesDir([
    component('k8s', 'secretstores.kubernetes', {
      kubeconfigPath: cp.kubeconfigPath,
      defaultNamespace: 'shop',
    }),
    component('k8s-env', 'secretstores.kubernetes', { kubeconfigPath: cp.kubeconfigPath }),
  ]);
  sidecar = await startSidecar({
    appId: 'k8s-secrets',
    resourcesPaths: [dir],
    env: { NAMESPACE: 'billing' },
  });
  // No kubeconfigPath: the client comes from the sidecar's --kubeconfig, which wins over
  // KUBECONFIG (here a file that does not exist), as contrib's Kubernetes client reads them.
  flagDir = await makeResourcesDir([
    component('k8s-flag', 'secretstores.kubernetes', { defaultNamespace: 'shop' }),
  ]);
  fromFlag = await startSidecar({
    appId: 'k8s-secrets-flag',
    resourcesPaths: [flagDir],
    args: ['--kubeconfig', cp.kubeconfigPath],
    env: { KUBECONFIG: '/nonexistent/kubeconfig' },
  });
  noNamespace = await startSidecar({
    appId: 'k8s-secrets-nons',
    resourcesPaths: [dir],
    env: { NAMESPACE: '' },
  });
});

after(async () => {
  await sidecar?.stop();
  await noNamespace?.stop();
  await fromFlag?.stop();
  await cp?.stop();
  await removeTempDir(dir);
  await removeTempDir(flagDir);
});

describe('secretstores.kubernetes', () => {
  it('reads a Secret of defaultNamespace, its data decoded', async () => {
    const res = await fetch(`${sidecar.url}/v1.0/secrets/k8s/db-creds`);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { username: 'orders', password: 'p@ss wörd' });
  });

  it('takes the namespace from metadata.namespace, then defaultNamespace, then NAMESPACE', async () => {
    const other = await fetch(`${sidecar.url}/v1.0/secrets/k8s/db-creds?metadata.namespace=billing`);
    assert.deepEqual(await other.json(), { username: 'billing' });
    const fromEnv = await fetch(`${sidecar.url}/v1.0/secrets/k8s-env/db-creds`);
    assert.deepEqual(await fromEnv.json(), { username: 'billing' });
  });

  it('answers ERR_SECRET_GET with the API server’s message for a missing Secret', async () => {
    const res = await fetch(`${sidecar.url}/v1.0/secrets/k8s/nope`);
    assert.equal(res.status, 500);
    const body = (await res.json()) as { errorCode: string; message: string };
    assert.equal(body.errorCode, 'ERR_SECRET_GET');
    assert.equal(
      body.message,
      'failed getting secret with key nope from secret store k8s: secrets "nope" not found',
    );
  });

  it('fails as contrib does when no namespace is known', async () => {
    const res = await fetch(`${noNamespace.url}/v1.0/secrets/k8s-env/db-creds`);
    assert.equal(res.status, 500);
    assert.match(
      ((await res.json()) as { message: string }).message,
      /namespace is missing on metadata and NAMESPACE env variable$/,
    );
  });

  it('returns every Secret of the namespace in bulk', async () => {
    const res = await fetch(`${sidecar.url}/v1.0/secrets/k8s/bulk`);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), {
      'api-key': { key: 'k-123' },
      'db-creds': { username: 'orders', password: 'p@ss wörd' },
    });
  });

  it('reaches the API server through --kubeconfig when the component names no kubeconfigPath', async () => {
    const res = await fetch(`${fromFlag.url}/v1.0/secrets/k8s-flag/api-key`);
    assert.equal(res.status, 200, await res.clone().text());
    assert.deepEqual(await res.json(), { key: 'k-123' });
    assert.doesNotMatch(fromFlag.logs(), /kubeconfig.*no effect/);
  });

  it('serves the gRPC GetSecret too', async () => {
    const client = dialDapr(sidecar.grpcPort);
    try {
      const got = await grpcCall(client, 'GetSecret', { store_name: 'k8s', key: 'api-key' });
      assert.equal(got.err, null);
      assert.deepEqual(got.res?.data, { key: 'k-123' });
    } finally {
      client.close();
    }
  });
});
