import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { makeTempDir, removeTempDir } from '../../env/process.js';
import { type Sidecar, startSidecar, writeResources } from '../harness.js';

/**
 * A resources folder made for daprd, as `dapr init` writes `~/.dapr/components` and the
 * quickstarts ship theirs: a state store next to a `pubsub.redis` component. Outrigger has no
 * pub/sub yet, so that component is skipped with a warning and the sidecar still starts and serves
 * state (here in memory, so that no Redis is needed).
 */

/** `dapr init`'s pubsub.yaml, unchanged. */
const PUBSUB_YAML = `apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: pubsub
spec:
  type: pubsub.redis
  version: v1
  metadata:
  - name: redisHost
    value: localhost:6379
  - name: redisPassword
    value: ""
`;

const STATESTORE_YAML = `apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: statestore
spec:
  type: state.in-memory
  version: v1
  metadata:
  - name: actorStateStore
    value: "true"
`;

/** A Configuration with an HTTP middleware pipeline, as daprd's docs show it. */
const PIPELINE_CONFIG = `apiVersion: dapr.io/v1alpha1
kind: Configuration
metadata:
  name: pipeline
spec:
  httpPipeline:
    handlers:
    - name: uppercase
      type: middleware.http.uppercase
`;

let dir = '';
let sidecar: Sidecar;

before(async () => {
  dir = await makeTempDir('dapr-init-components');
  await writeResources(dir, [PUBSUB_YAML], 'pubsub.yaml');
  await writeResources(dir, [STATESTORE_YAML], 'statestore.yaml');
  const configPath = await writeResources(dir, [PIPELINE_CONFIG], 'config.yaml');
  sidecar = await startSidecar({ appId: 'quickstart', resourcesPaths: [dir], configPath });
});

after(async () => {
  await sidecar?.stop();
  await removeTempDir(dir);
});

describe('a daprd resources folder with a pub/sub component', () => {
  it('starts, says the pub/sub component is not loaded, and serves state', async () => {
    assert.match(
      sidecar.logs(),
      /Component pubsub \(pubsub\.redis\/v1\) is not loaded: Outrigger does not implement pub\/sub yet/,
    );
    const saved = await fetch(`${sidecar.url}/v1.0/state/statestore`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify([{ key: 'order', value: { id: 1 } }]),
    });
    assert.equal(saved.status, 204);
    const got = await fetch(`${sidecar.url}/v1.0/state/statestore/order`);
    assert.deepEqual(await got.json(), { id: 1 });
    const metadata = (await (await fetch(`${sidecar.url}/v1.0/metadata`)).json()) as {
      components: { name: string; type: string }[];
    };
    assert.deepEqual(
      metadata.components.map((c) => `${c.name}:${c.type}`),
      ['statestore:state.in-memory'],
    );
  });

  it('says plainly that a Configuration middleware pipeline is not applied', () => {
    assert.match(
      sidecar.logs(),
      /level=warn msg="Configuration spec\.httpPipeline has 1 handler\(s\) that are NOT applied: Outrigger does not implement middleware pipelines yet"/,
    );
  });
});
