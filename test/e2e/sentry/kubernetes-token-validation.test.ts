import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import type { V1Pod } from '@kubernetes/client-node';
import { CoreV1Api } from '@kubernetes/client-node';
import { generateP256 } from '../../../operator/sentry/ca-bundle.js';
import { parseCertificates, uriSans } from '../../../sidecar/pki/x509/certificate.js';
import { createCsr } from '../../../sidecar/pki/x509/csr.js';
import type { IssuedCertificate } from '../../../sidecar/security/sentry-client.js';
import { requestCertificate, SentryRequestError } from '../../../sidecar/security/sentry-client.js';
import type { ControlPlane } from '../../env/control-plane.js';
import { startControlPlane } from '../../env/control-plane.js';
import {
  freePort,
  ManagedProcess,
  makeTempDir,
  removeTempDir,
  runCommand,
  waitForPort,
  waitUntil,
} from '../../env/process.js';

const MAIN = fileURLToPath(new URL('../../../operator/sentry/main.js', import.meta.url));
const SENTRY_ID = 'spiffe://cluster.local/ns/dapr-system/dapr-sentry';

describe('sentry against a real kube-apiserver (TokenRequest + TokenReview)', () => {
  let cp: ControlPlane;
  let core: CoreV1Api;
  let dir: string;
  let sentry: ManagedProcess;
  let port: number;
  let anchors: string;
  const pods = new Map<string, V1Pod>();

  const createPod = async (
    namespace: string,
    name: string,
    serviceAccount: string,
    appId: string,
  ): Promise<void> => {
    const pod = await core.createNamespacedPod({
      namespace,
      body: {
        metadata: { name, annotations: { 'dapr.io/enabled': 'true', 'dapr.io/app-id': appId } },
        spec: {
          serviceAccountName: serviceAccount,
          automountServiceAccountToken: false,
          containers: [{ name: 'app', image: 'example.invalid/app:1' }],
        },
      },
    });
    pods.set(`${namespace}/${name}`, pod);
  };

  /** A projected-style token from the TokenRequest API, bound to a pod (so it carries the pod-name claim). */
  const tokenFor = async (
    namespace: string,
    serviceAccount: string,
    podName: string | undefined,
    audiences: string[],
  ): Promise<string> => {
    const pod = podName === undefined ? undefined : pods.get(`${namespace}/${podName}`);
    const res = await core.createNamespacedServiceAccountToken({
      namespace,
      name: serviceAccount,
      body: {
        spec: {
          audiences,
          expirationSeconds: 3600,
          ...(pod === undefined
            ? {}
            : {
                boundObjectRef: {
                  apiVersion: 'v1',
                  kind: 'Pod',
                  name: pod.metadata?.name ?? '',
                  uid: pod.metadata?.uid ?? '',
                },
              }),
        },
      },
    });
    const token = res.status?.token;
    assert.ok(token, 'TokenRequest returned a token');
    return token;
  };

  const sign = (token: string, id: string, namespace: string): Promise<IssuedCertificate> => {
    const keys = generateP256();
    return requestCertificate(
      { address: `127.0.0.1:${port}`, spiffeId: SENTRY_ID, timeoutMs: 10_000 },
      anchors,
      {
        csrPem: createCsr(keys.privateKey, keys.publicKey),
        token,
        id,
        namespace,
        trustDomain: '',
        tokenValidator: 'KUBERNETES',
      },
    );
  };

  const refused = async (p: Promise<unknown>, message: RegExp): Promise<void> => {
    await assert.rejects(p, (err: unknown) => {
      assert.ok(err instanceof SentryRequestError, String(err));
      assert.equal(err.grpcCode, grpc.status.PERMISSION_DENIED, err.message);
      assert.match(err.message, message);
      return true;
    });
  };

  before(async () => {
    cp = await startControlPlane({ log: (m: string) => process.stderr.write(`# ${m}\n`) });
    core = cp.kubeConfig.makeApiClient(CoreV1Api);
    for (const ns of ['dapr-system', 'team-a', 'team-b'])
      await core.createNamespace({ body: { metadata: { name: ns } } });
    for (const [ns, sa] of [
      ['team-a', 'orders'],
      ['team-a', 'payments'],
      ['team-b', 'orders'],
    ] as const) {
      await core.createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name: sa } } });
    }
    await createPod('team-a', 'orders-7d9f', 'orders', 'orders');
    await createPod('team-a', 'payments-5c2b', 'payments', 'payments');
    await createPod('team-b', 'orders-88aa', 'orders', 'orders');

    dir = await makeTempDir('sentry-k8s');
    port = await freePort();
    sentry = await ManagedProcess.start({
      name: 'sentry',
      command: process.execPath,
      args: [
        MAIN,
        '--mode',
        'kubernetes',
        '--kubeconfig',
        cp.kubeconfigPath,
        '--namespace',
        'dapr-system',
        '--listen-address',
        '127.0.0.1',
        '--port',
        String(port),
        '--metrics-port',
        String(await freePort()),
        '--reload-interval',
        '500ms',
      ],
      logFile: join(dir, 'sentry.log'),
    });
    await waitForPort('127.0.0.1', port, 30_000, { process: sentry });
    const cm = await core.readNamespacedConfigMap({ name: 'dapr-trust-bundle', namespace: 'dapr-system' });
    anchors = cm.data?.['ca.crt'] ?? '';
  });

  after(async () => {
    await sentry?.stop();
    await cp?.stop();
    if (dir !== undefined) await removeTempDir(dir);
  });

  it('bootstraps into Secret dapr-trust-bundle and publishes ca.crt in the ConfigMap', async () => {
    const secret = await core.readNamespacedSecret({ name: 'dapr-trust-bundle', namespace: 'dapr-system' });
    const data = secret.data ?? {};
    const caCrt = Buffer.from(data['ca.crt'] ?? '', 'base64').toString('utf8');
    assert.equal(parseCertificates(caCrt).length, 1);
    assert.match(Buffer.from(data['issuer.key'] ?? '', 'base64').toString('utf8'), /PRIVATE KEY/);
    assert.equal(
      parseCertificates(Buffer.from(data['issuer.crt'] ?? '', 'base64').toString('utf8'))[0]?.subject,
      'O=spiffe://cluster.local/ns/dapr-system/dapr-sentry',
    );
    assert.equal(anchors, caCrt);
  });

  it('accepts a real pod-bound service-account token with the sentry SPIFFE ID audience', async () => {
    const issued = await sign(
      await tokenFor('team-a', 'orders', 'orders-7d9f', [SENTRY_ID]),
      'orders',
      'team-a',
    );
    const leaf = parseCertificates(issued.certChainPem)[0];
    assert.ok(leaf);
    assert.deepEqual(uriSans(leaf), ['spiffe://public/ns/team-a/orders']);
  });

  it('accepts the legacy dapr.io/sentry audience', async () => {
    const issued = await sign(
      await tokenFor('team-a', 'orders', 'orders-7d9f', ['dapr.io/sentry']),
      'orders',
      'team-a',
    );
    assert.ok(issued.certChainPem.includes('BEGIN CERTIFICATE'));
  });

  it('refuses a token for another service account (its pod is another app)', async () => {
    await refused(
      sign(await tokenFor('team-a', 'payments', 'payments-5c2b', [SENTRY_ID]), 'orders', 'team-a'),
      /requested id "orders" does not match the pod's app id "payments"/,
    );
  });

  it('refuses a token from another namespace', async () => {
    await refused(
      sign(await tokenFor('team-b', 'orders', 'orders-88aa', [SENTRY_ID]), 'orders', 'team-a'),
      /token namespace "team-b" does not match requested namespace "team-a"/,
    );
  });

  it('refuses a token with the wrong audience', async () => {
    await refused(
      sign(
        await tokenFor('team-a', 'orders', 'orders-7d9f', ['https://kubernetes.default.svc']),
        'orders',
        'team-a',
      ),
      /token not authenticated/,
    );
  });

  it('refuses a mismatched app id', async () => {
    await refused(
      sign(await tokenFor('team-a', 'orders', 'orders-7d9f', [SENTRY_ID]), 'payments', 'team-a'),
      /requested id "payments" does not match the pod's app id "orders"/,
    );
  });

  it('refuses a token not bound to a pod', async () => {
    await refused(
      sign(await tokenFor('team-a', 'orders', undefined, [SENTRY_ID]), 'orders', 'team-a'),
      /not bound to a pod/,
    );
  });

  it('refuses a garbage token', async () => {
    await refused(sign('not-a-jwt', 'orders', 'team-a'), /token not authenticated/);
  });

  it('rotate-root add updates the Secret and the ConfigMap, and sentry keeps signing', async () => {
    const args = [
      MAIN,
      'rotate-root',
      'add',
      '--mode',
      'kubernetes',
      '--kubeconfig',
      cp.kubeconfigPath,
      '--namespace',
      'dapr-system',
      '--root-key',
      join(dir, 'new-root.key'),
    ];
    const out = JSON.parse((await runCommand(process.execPath, args)).stdout) as { roots: number };
    assert.equal(out.roots, 2);
    const cm = await core.readNamespacedConfigMap({ name: 'dapr-trust-bundle', namespace: 'dapr-system' });
    assert.equal(parseCertificates(cm.data?.['ca.crt'] ?? '').length, 2);
    await waitUntil(
      'sentry reloads the bundle',
      async () => {
        const issued = await sign(
          await tokenFor('team-a', 'orders', 'orders-7d9f', [SENTRY_ID]),
          'orders',
          'team-a',
        );
        return parseCertificates(issued.trustAnchorsPem).length === 2;
      },
      30_000,
      { process: sentry, intervalMs: 500 },
    );
  });
});
