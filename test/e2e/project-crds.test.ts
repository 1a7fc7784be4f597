import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { type ControlPlane, startControlPlane } from '../env/control-plane.js';
import { repoRoot } from './support/repo-root.js';

const crdDir = join(repoRoot(), 'crds');

describe("the project's CRDs on a real kube-apiserver", () => {
  let cp: ControlPlane;

  before(async () => {
    cp = await startControlPlane({ log: (m) => console.log(m) });
  });
  after(async () => {
    await cp?.stop();
  });

  it('accepts every CRD in crds/ and serves each kind', async () => {
    assert.ok(existsSync(crdDir), `expected the CRD manifests in ${crdDir}`);
    const files = readdirSync(crdDir).filter((f) => f.endsWith('.yaml'));
    assert.ok(files.length > 0, `no *.yaml in ${crdDir}`);
    const applied = await cp.kubectl(['apply', '--server-side', '-f', crdDir]);
    for (const f of files) {
      for (const doc of parseAllDocuments(readFileSync(join(crdDir, f), 'utf8'))) {
        const name = (doc.toJS() as { metadata?: { name?: string } } | null)?.metadata?.name;
        if (name === undefined) continue;
        assert.ok(
          applied.stdout.includes(`customresourcedefinition.apiextensions.k8s.io/${name} serverside-applied`),
          `${f}: ${name} applied`,
        );
      }
    }
    await cp.kubectl(['wait', '--for=condition=Established', '--timeout=60s', 'crd', '--all']);
    const { stdout } = await cp.kubectl(['api-resources', '--api-group=dapr.io', '-o', 'name']);
    assert.match(stdout, /^components\.dapr\.io$/m);
  });

  it('stores a Dapr Component manifest unchanged through the CRD', async () => {
    const manifest = [
      'apiVersion: dapr.io/v1alpha1',
      'kind: Component',
      'metadata:',
      '  name: statestore',
      '  namespace: default',
      'spec:',
      '  type: state.redis',
      '  version: v1',
      '  metadata:',
      '  - name: redisHost',
      '    value: localhost:6379',
      '  - name: redisPassword',
      '    secretKeyRef: { name: redis, key: password }',
      'auth:',
      '  secretStore: kubernetes',
      'scopes: [orders]',
      '',
    ].join('\n');
    await cp.kubectl(['apply', '-f', '-'], { input: manifest });
    const { stdout } = await cp.kubectl([
      'get',
      'components.dapr.io',
      'statestore',
      '-n',
      'default',
      '-o',
      'json',
    ]);
    const stored = JSON.parse(stdout) as {
      spec: {
        type: string;
        metadata: Array<{ name: string; value?: unknown; secretKeyRef?: { key: string } }>;
      };
      auth?: { secretStore?: string };
      scopes?: string[];
    };
    assert.equal(stored.spec.type, 'state.redis');
    assert.equal(stored.spec.metadata[0]?.value, 'localhost:6379');
    assert.equal(stored.spec.metadata[1]?.secretKeyRef?.key, 'password');
    assert.equal(stored.auth?.secretStore, 'kubernetes');
    assert.deepEqual(stored.scopes, ['orders']);
  });
});
