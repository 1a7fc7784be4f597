import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { makeTempDir, removeTempDir, waitUntil } from '../../env/process.js';
import { component, type Sidecar, startSidecar, writeResources } from '../harness.js';

async function componentNames(sidecar: Sidecar): Promise<string[]> {
  const md = (await (await fetch(`${sidecar.url}/v1.0/metadata`)).json()) as {
    components?: { name: string }[];
  };
  return (md.components ?? []).map((c) => c.name).sort();
}

describe('HotReload feature', () => {
  it('adds, updates and removes components as their files change, without a restart', async (t) => {
    const resources = await makeTempDir('hotreload');
    const configDir = await makeTempDir('hotreload-config');
    t.after(() => removeTempDir(resources));
    t.after(() => removeTempDir(configDir));
    const configPath = await writeResources(configDir, [
      {
        apiVersion: 'dapr.io/v1alpha1',
        kind: 'Configuration',
        metadata: { name: 'cfg' },
        spec: { features: [{ name: 'HotReload', enabled: true }] },
      },
    ]);
    await writeResources(resources, [component('statestore', 'state.in-memory')], 'a.yaml');
    const sidecar = await startSidecar({ appId: 'reloading', resourcesPaths: [resources], configPath });
    t.after(() => sidecar.stop());
    const opts = { process: sidecar.proc };
    assert.deepEqual(await componentNames(sidecar), ['statestore']);

    await writeResources(resources, [component('second', 'state.in-memory')], 'b.yaml');
    await waitUntil(
      'the new component to load',
      async () => (await componentNames(sidecar)).includes('second'),
      20_000,
      opts,
    );
    const save = await fetch(`${sidecar.url}/v1.0/state/second`, {
      method: 'POST',
      body: '[{"key":"k","value":"v"}]',
    });
    assert.equal(save.status, 204);

    await writeResources(
      resources,
      [component('statestore', 'state.in-memory', { keyPrefix: 'none' })],
      'a.yaml',
    );
    await waitUntil(
      'the changed component to be re-created',
      async () => /updated \[statestore\]/.test(sidecar.logs()),
      20_000,
      opts,
    );

    await writeResources(resources, [component('broken', 'state.nosuchdb')], 'c.yaml');
    await waitUntil(
      'the bad component to be reported',
      async () => /component broken \(state\.nosuchdb\) could not be loaded/.test(sidecar.logs()),
      20_000,
      opts,
    );
    assert.deepEqual(await componentNames(sidecar), ['second', 'statestore']);

    await rm(join(resources, 'b.yaml'));
    await rm(join(resources, 'c.yaml'));
    await waitUntil(
      'the removed component to go away',
      async () => !(await componentNames(sidecar)).includes('second'),
      20_000,
      opts,
    );
    const gone = await fetch(`${sidecar.url}/v1.0/state/second/k`);
    assert.equal(gone.status, 400);
    assert.equal(((await gone.json()) as { errorCode: string }).errorCode, 'ERR_STATE_STORE_NOT_FOUND');
    assert.equal((await fetch(`${sidecar.url}/v1.0/healthz`)).status, 204);
  });
});
