import assert from 'node:assert/strict';
import { createPublicKey, verify } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  ApiextensionsV1Api,
  AuthenticationV1Api,
  CustomObjectsApi,
  VersionApi,
  Watch,
} from '@kubernetes/client-node';
import { type ControlPlane, requestServiceAccountToken, startControlPlane } from '../env/control-plane.js';
import { VERSIONS } from '../env/versions.js';
import { componentCrd } from './support/fixtures.js';
import { eventually } from './support/wait.js';

describe('real kube-apiserver control plane', () => {
  let cp: ControlPlane;

  before(async () => {
    cp = await startControlPlane({ log: (m) => console.log(m) });
  });
  after(async () => {
    await cp?.stop();
  });

  it('reports the pinned Kubernetes version on /version', async () => {
    const info = await cp.kubeConfig.makeApiClient(VersionApi).getCode();
    assert.equal(info.gitVersion, VERSIONS.kubernetes);
    assert.equal(info.major, '1');
    assert.match(info.gitVersion, /^v1\.34\.\d+$/);
    const { stdout } = await cp.kubectl(['version', '-o', 'json']);
    const kubectlView = JSON.parse(stdout) as { serverVersion?: { gitVersion?: string } };
    assert.equal(kubectlView.serverVersion?.gitVersion, VERSIONS.kubernetes);
  });

  it('serves a dapr.io Component CRD, validates its schema and streams ADDED events to a watch', async () => {
    const ext = cp.kubeConfig.makeApiClient(ApiextensionsV1Api);
    await ext.createCustomResourceDefinition({ body: structuredClone(componentCrd) as never });
    await eventually('the CRD to be Established', async () => {
      const crd = await ext.readCustomResourceDefinition({ name: componentCrd.metadata.name });
      const established = crd.status?.conditions?.find((c) => c.type === 'Established');
      return established?.status === 'True' ? true : undefined;
    });

    const custom = cp.kubeConfig.makeApiClient(CustomObjectsApi);
    const target = { group: 'dapr.io', version: 'v1alpha1', namespace: 'default', plural: 'components' };
    // The CRD's discovery and storage can lag Established by a moment: list until it answers.
    await eventually('the components resource to be served', () => custom.listNamespacedCustomObject(target));

    const events: Array<{ phase: string; name: string; type: string }> = [];
    const watch = new Watch(cp.kubeConfig);
    const controller = await watch.watch(
      '/apis/dapr.io/v1alpha1/namespaces/default/components',
      {},
      (phase, obj: { metadata?: { name?: string }; spec?: { type?: string } }) => {
        events.push({ phase, name: obj.metadata?.name ?? '', type: obj.spec?.type ?? '' });
      },
      () => {},
    );
    try {
      await custom.createNamespacedCustomObject({
        ...target,
        body: {
          apiVersion: 'dapr.io/v1alpha1',
          kind: 'Component',
          metadata: { name: 'statestore' },
          spec: {
            type: 'state.redis',
            version: 'v1',
            metadata: [{ name: 'redisHost', value: 'localhost:6379' }],
          },
        },
      });
      const added = await eventually('an ADDED watch event', async () =>
        events.find((e) => e.phase === 'ADDED' && e.name === 'statestore'),
      );
      assert.equal(added.type, 'state.redis');
    } finally {
      controller.abort();
    }

    await assert.rejects(
      custom.createNamespacedCustomObject({
        ...target,
        body: { apiVersion: 'dapr.io/v1alpha1', kind: 'Component', metadata: { name: 'broken' }, spec: {} },
      }),
      (err: { code?: number }) => err.code === 422,
    );
  });

  it('renders a helm chart and accepts it with kubectl apply --dry-run=server', async () => {
    const work = await mkdtemp(join(tmpdir(), 'outrigger-chart-'));
    try {
      const chart = join(work, 'demo');
      await mkdir(join(chart, 'templates'), { recursive: true });
      await writeFile(
        join(chart, 'Chart.yaml'),
        'apiVersion: v2\nname: demo\nversion: 0.1.0\nkubeVersion: ">=1.34.0-0"\n',
      );
      await writeFile(join(chart, 'values.yaml'), 'greeting: hello\nreplicas: 1\n');
      await writeFile(
        join(chart, 'templates', 'configmap.yaml'),
        [
          'apiVersion: v1',
          'kind: ConfigMap',
          'metadata:',
          '  name: {{ .Release.Name }}-config',
          'data:',
          '  greeting: {{ .Values.greeting | quote }}',
          '  kubeVersion: {{ .Capabilities.KubeVersion.Version | quote }}',
          '',
        ].join('\n'),
      );
      await writeFile(
        join(chart, 'templates', 'service-account.yaml'),
        'apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: {{ .Release.Name }}-sa\n',
      );
      const rendered = await cp.helm(['template', 'demo', chart, '--namespace', 'default']);
      assert.match(rendered.stdout, /name: demo-config/);
      const applied = await cp.kubectl(['apply', '--dry-run=server', '-n', 'default', '-f', '-'], {
        input: rendered.stdout,
      });
      assert.match(applied.stdout, /configmap\/demo-config created \(server dry run\)/);
      assert.match(applied.stdout, /serviceaccount\/demo-sa created \(server dry run\)/);
      // Server dry run persists nothing.
      await assert.rejects(
        cp.kubectl(['get', 'configmap', 'demo-config', '-n', 'default']),
        /NotFound|not found/,
      );
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  });

  it('issues service-account tokens through the TokenRequest API that verify against the signing key', async () => {
    const { token, expiresAt } = await requestServiceAccountToken(cp, {
      namespace: 'sentry-e2e',
      serviceAccount: 'app',
      audiences: ['outrigger-sentry'],
      expirationSeconds: 600,
    });
    assert.ok(expiresAt.getTime() > Date.now());
    const [header, payload, signature] = token.split('.');
    assert.ok(header !== undefined && payload !== undefined && signature !== undefined, 'token is a JWT');
    const ok = verify(
      'RSA-SHA256',
      Buffer.from(`${header}.${payload}`),
      createPublicKey(cp.serviceAccountPublicKeyPem),
      Buffer.from(signature, 'base64url'),
    );
    assert.equal(ok, true, 'JWT signature verifies with the service-account public key');
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as {
      iss: string;
      sub: string;
      aud: string[];
    };
    assert.equal(claims.iss, cp.serviceAccountIssuer);
    assert.equal(claims.sub, 'system:serviceaccount:sentry-e2e:app');
    assert.deepEqual(claims.aud, ['outrigger-sentry']);

    const review = await cp.kubeConfig.makeApiClient(AuthenticationV1Api).createTokenReview({
      body: { spec: { token, audiences: ['outrigger-sentry'] } },
    });
    assert.equal(review.status?.authenticated, true);
    assert.equal(review.status?.user?.username, 'system:serviceaccount:sentry-e2e:app');
  });
});
