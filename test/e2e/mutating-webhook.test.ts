import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { AdmissionregistrationV1Api, CoreV1Api, type V1Pod } from '@kubernetes/client-node';
import { type ControlPlane, startControlPlane } from '../env/control-plane.js';
import { createTestCertificateAuthority } from '../env/pki.js';
import { eventually } from './support/wait.js';

interface AdmissionReviewRequest {
  request: { uid: string; kind: { kind: string }; namespace?: string; object: V1Pod };
}

const MUTATED_LABEL = 'outrigger.test/mutated';

/** A tiny HTTPS admission webhook that adds one label and records what the apiserver sent it. */
async function startWebhook(): Promise<{
  server: Server;
  port: number;
  caPem: string;
  seen: AdmissionReviewRequest[];
}> {
  const ca = createTestCertificateAuthority('outrigger-webhook-ca');
  // CN-only certificates are rejected by Go clients: the apiserver needs the IP and DNS SANs.
  const serving = ca.issue({ commonName: 'webhook', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
  const seen: AdmissionReviewRequest[] = [];
  const server = createServer({ cert: serving.certPem, key: serving.keyPem }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url?.split('?')[0] !== '/mutate') {
        res.writeHead(404).end();
        return;
      }
      const review = JSON.parse(Buffer.concat(chunks).toString('utf8')) as AdmissionReviewRequest;
      seen.push(review);
      const patch = [
        { op: 'add', path: `/metadata/labels/${MUTATED_LABEL.replace('/', '~1')}`, value: 'true' },
      ];
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          apiVersion: 'admission.k8s.io/v1',
          kind: 'AdmissionReview',
          response: {
            uid: review.request.uid,
            allowed: true,
            patchType: 'JSONPatch',
            patch: Buffer.from(JSON.stringify(patch)).toString('base64'),
          },
        }),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port, caPem: ca.certPem, seen };
}

function pod(name: string, labels: Record<string, string>): V1Pod {
  return {
    metadata: { name, labels },
    spec: { containers: [{ name: 'app', image: 'registry.example/app:1' }] },
  };
}

describe('MutatingWebhookConfiguration called by the real apiserver', () => {
  let cp: ControlPlane;
  let webhook: Awaited<ReturnType<typeof startWebhook>>;
  const namespace = 'webhook-e2e';

  before(async () => {
    webhook = await startWebhook();
    cp = await startControlPlane({ log: (m) => console.log(m) });
    const core = cp.kubeConfig.makeApiClient(CoreV1Api);
    await core.createNamespace({
      body: { metadata: { name: namespace, labels: { 'outrigger.test/webhook': 'enabled' } } },
    });
    await core.createNamespace({ body: { metadata: { name: 'not-selected' } } });
    await cp.kubeConfig.makeApiClient(AdmissionregistrationV1Api).createMutatingWebhookConfiguration({
      body: {
        metadata: { name: 'outrigger-e2e' },
        webhooks: [
          {
            name: 'inject.outrigger.test',
            admissionReviewVersions: ['v1'],
            sideEffects: 'None',
            failurePolicy: 'Fail',
            timeoutSeconds: 10,
            clientConfig: {
              url: `https://127.0.0.1:${webhook.port}/mutate`,
              caBundle: Buffer.from(webhook.caPem).toString('base64'),
            },
            rules: [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'] }],
            namespaceSelector: { matchLabels: { 'outrigger.test/webhook': 'enabled' } },
            objectSelector: { matchLabels: { 'outrigger.test/inject': 'true' } },
          },
        ],
      },
    });
    // The apiserver picks up webhook configurations asynchronously: dry-run creates (which still
    // call webhooks with sideEffects None) until the patch shows up.
    await eventually('the webhook configuration to take effect', async () => {
      const probe = await core.createNamespacedPod({
        namespace,
        dryRun: 'All',
        body: pod('probe', { 'outrigger.test/inject': 'true' }),
      });
      return probe.metadata?.labels?.[MUTATED_LABEL] === 'true' ? true : undefined;
    });
  });
  after(async () => {
    await cp?.stop();
    await new Promise<void>((resolve) => (webhook ? webhook.server.close(() => resolve()) : resolve()));
  });

  it('stores the pod with the patch the webhook returned', async () => {
    const core = cp.kubeConfig.makeApiClient(CoreV1Api);
    await core.createNamespacedPod({ namespace, body: pod('selected', { 'outrigger.test/inject': 'true' }) });
    const stored = await core.readNamespacedPod({ name: 'selected', namespace });
    assert.equal(stored.metadata?.labels?.[MUTATED_LABEL], 'true');
    const call = webhook.seen.find((r) => r.request.object.metadata?.name === 'selected');
    assert.ok(call, 'the apiserver sent an AdmissionReview for the pod');
    assert.equal(call.request.kind.kind, 'Pod');
    assert.equal(call.request.namespace, namespace);
  });

  it('does not call the webhook for pods outside its object selector', async () => {
    const core = cp.kubeConfig.makeApiClient(CoreV1Api);
    await core.createNamespacedPod({ namespace, body: pod('unlabelled', { app: 'plain' }) });
    const stored = await core.readNamespacedPod({ name: 'unlabelled', namespace });
    assert.equal(stored.metadata?.labels?.[MUTATED_LABEL], undefined);
    assert.equal(
      webhook.seen.some((r) => r.request.object.metadata?.name === 'unlabelled'),
      false,
    );
  });

  it('does not call the webhook for namespaces outside its namespace selector', async () => {
    const core = cp.kubeConfig.makeApiClient(CoreV1Api);
    await core.createNamespacedPod({
      namespace: 'not-selected',
      body: pod('elsewhere', { 'outrigger.test/inject': 'true' }),
    });
    const stored = await core.readNamespacedPod({ name: 'elsewhere', namespace: 'not-selected' });
    assert.equal(stored.metadata?.labels?.[MUTATED_LABEL], undefined);
    assert.equal(
      webhook.seen.some((r) => r.request.object.metadata?.name === 'elsewhere'),
      false,
    );
  });
});
