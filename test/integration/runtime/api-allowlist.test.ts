import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as grpcJs from '@grpc/grpc-js';
import { removeTempDir } from '../../env/process.js';
import { dialDapr, grpcCall } from '../grpc-api-client.js';
import { component, makeResourcesDir, type Sidecar, startSidecar, writeResources } from '../harness.js';

/**
 * Configuration `spec.api.allowed` / `denied` on running sidecars: the HTTP routes and gRPC
 * methods left out are not served (HTTP 404, gRPC Unimplemented "Not Implemented"), health checks
 * always are, and an API token is still asked for first.
 */

let dir = '';
let allowing: Sidecar;
let denying: Sidecar;

/** Writes a Configuration whose `spec.api` is `api`; resolves its path. */
const writeConfig = (name: string, api: object): Promise<string> =>
  writeResources(
    dir,
    [{ apiVersion: 'dapr.io/v1alpha1', kind: 'Configuration', metadata: { name }, spec: { api } }],
    `${name}-config.yaml`,
  );

const rule = (name: string, version: string, protocol: string) => ({ name, version, protocol });

before(async () => {
  dir = await makeResourcesDir([component('statestore', 'state.in-memory')]);
  const allowFile = await writeConfig('allow', {
    allowed: [rule('state', 'v1.0', 'http'), rule('state', 'v1', 'grpc')],
  });
  const denyFile = await writeConfig('deny', {
    denied: [rule('invoke', 'v1.0', 'HTTP'), rule('metadata', 'v1', 'grpc')],
  });
  allowing = await startSidecar({
    appId: 'allowing',
    resourcesPaths: [`${dir}/resources.yaml`],
    configPath: allowFile,
    env: { DAPR_API_TOKEN: 'tok' },
  });
  denying = await startSidecar({
    appId: 'denying',
    resourcesPaths: [`${dir}/resources.yaml`],
    configPath: denyFile,
  });
});

after(async () => {
  await allowing?.stop();
  await denying?.stop();
  await removeTempDir(dir);
});

const auth = { 'dapr-api-token': 'tok' };

describe('API allowlist and denylist (spec.api)', () => {
  it('serves only the allowed HTTP APIs, plus health checks', async () => {
    const saved = await fetch(`${allowing.url}/v1.0/state/statestore`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify([{ key: 'k', value: 1 }]),
    });
    assert.equal(saved.status, 204);
    for (const path of ['/v1.0/metadata', '/v1.0/secrets/s/k', '/v1.0/invoke/x/method/y']) {
      const res = await fetch(`${allowing.url}${path}`, { headers: auth });
      assert.equal(res.status, 404, path);
      assert.equal(await res.text(), '404 page not found\n', path);
    }
    const headerForm = await fetch(`${allowing.url}/anything`, { headers: { ...auth, 'dapr-app-id': 'x' } });
    assert.equal(headerForm.status, 404, 'the dapr-app-id header form is invocation too');
    assert.equal((await fetch(`${allowing.url}/v1.0/healthz`)).status, 204);
    const noToken = await fetch(`${allowing.url}/v1.0/metadata`);
    assert.equal(noToken.status, 401, 'the token is asked for before the route is looked up');
  });

  it('serves only the allowed gRPC methods: the others answer Unimplemented', async () => {
    const client = dialDapr(allowing.grpcPort);
    try {
      const md = new grpcJs.Metadata();
      md.set('dapr-api-token', 'tok');
      const got = await grpcCall(client, 'GetState', { store_name: 'statestore', key: 'k' }, md);
      assert.equal(got.err, null);
      const meta = await grpcCall(client, 'GetMetadata', {}, md);
      assert.equal(meta.err?.code, grpcJs.status.UNIMPLEMENTED);
      assert.equal(meta.err?.details, 'Not Implemented');
      const query = await grpcCall(client, 'QueryStateAlpha1', { store_name: 'statestore', query: '{}' }, md);
      assert.equal(query.err?.code, grpcJs.status.UNIMPLEMENTED, 'state v1alpha1 is not state v1');
      const anonymous = await grpcCall(client, 'GetMetadata', {});
      assert.equal(anonymous.err?.code, grpcJs.status.UNAUTHENTICATED);
    } finally {
      client.close();
    }
  });

  it('leaves out what a denylist names (protocol in any case) and serves the rest', async () => {
    const invoke = await fetch(`${denying.url}/v1.0/invoke/x/method/y`);
    assert.equal(invoke.status, 404);
    assert.equal((await fetch(`${denying.url}/v1.0/metadata`)).status, 200);
    const client = dialDapr(denying.grpcPort);
    try {
      const meta = await grpcCall(client, 'GetMetadata', {});
      assert.equal(meta.err?.code, grpcJs.status.UNIMPLEMENTED);
      const invokeGrpc = await grpcCall(client, 'GetState', { store_name: 'statestore', key: 'nope' });
      assert.equal(invokeGrpc.err, null);
    } finally {
      client.close();
    }
  });
});
