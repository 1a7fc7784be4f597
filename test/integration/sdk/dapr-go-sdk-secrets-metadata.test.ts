import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ensureGoSdkProbe, type GoSdkClient, goSdkClient } from '../../env/go-sdk-probe.js';
import { makeTempDir, removeTempDir } from '../../env/process.js';
import { component, type Sidecar, startSidecar, writeResources } from '../harness.js';
import { writeSecretsFixture } from '../secrets/secrets-fixture.js';

/**
 * The official Dapr Go SDK's secrets and metadata calls (github.com/dapr/go-sdk client,
 * unchanged) against the sidecar's gRPC API: GetSecret and GetBulkSecret from local.file stores
 * (nested keys joined with ':', and multi-valued), secret scopes, GetMetadata (app id and the
 * components with daprd's capabilities), SetMetadata read back, and Wait.
 */

let dir = '';
let sidecar: Sidecar;
let sdk: GoSdkClient;

/** GetMetadata as the SDK returns it (Go field names). */
interface GoMetadata {
  ID: string;
  RegisteredComponents: { Name: string; Type: string; Version: string; Capabilities: string[] | null }[];
  ExtendedMetadata: Record<string, string>;
}

before(async () => {
  const probe = await ensureGoSdkProbe((line) => process.stderr.write(`${line}\n`));
  dir = await makeTempDir('go-sdk-secrets');
  const fixture = await writeSecretsFixture(dir);
  const state = await writeResources(dir, [component('orders-store', 'state.in-memory')], 'state.yaml');
  sidecar = await startSidecar({
    appId: 'gosecrets',
    resourcesPaths: [fixture.resources, state],
    configPath: fixture.config,
  });
  sdk = goSdkClient(probe, { grpcPort: sidecar.grpcPort, httpPort: sidecar.httpPort });
});

after(async () => {
  await sidecar?.stop();
  await removeTempDir(dir);
});

describe('Go SDK secrets calls', () => {
  it('reads one secret, its nested key joined with the separator (GetSecret)', async () => {
    assert.deepEqual(await sdk.ok({ op: 'getSecret', store: 'files', key: 'db:password' }), {
      'db:password': 's3cret',
    });
    assert.deepEqual(await sdk.ok({ op: 'getSecret', store: 'files', key: 'apiKey' }), { apiKey: 'k-123' });
  });

  it('reads a multi-valued secret as all its keys', async () => {
    assert.deepEqual(await sdk.ok({ op: 'getSecret', store: 'multi', key: 'db' }), {
      user: 'admin',
      password: 's3cret',
    });
  });

  it('reads every secret the scope allows (GetBulkSecret)', async () => {
    assert.deepEqual(await sdk.ok({ op: 'getBulkSecret', store: 'files' }), {
      'db:user': { 'db:user': 'admin' },
      'db:password': { 'db:password': 's3cret' },
      apiKey: { apiKey: 'k-123' },
    });
    const multi = await sdk.ok<Record<string, Record<string, string>>>({
      op: 'getBulkSecret',
      store: 'multi',
    });
    assert.deepEqual(multi.db, { user: 'admin', password: 's3cret' });
    assert.deepEqual(multi.hidden, { hidden: 'no' }, 'no scope on multi: every secret');
  });

  it("surfaces daprd's errors: missing secret, denied secret, unknown store", async () => {
    const missing = await sdk.fails({ op: 'getSecret', store: 'files', key: 'nope' });
    assert.equal(missing.code, 'Internal');
    assert.equal(
      missing.statusMessage,
      'failed getting secret with key nope from secret store files: secret nope not found',
    );
    assert.equal(
      missing.message,
      `error invoking service: rpc error: code = Internal desc = ${missing.statusMessage}`,
    );
    const denied = await sdk.fails({ op: 'getSecret', store: 'files', key: 'hidden' });
    assert.equal(denied.code, 'PermissionDenied');
    assert.equal(denied.statusMessage, 'access denied by policy to get "hidden" from "files"');
    const unknown = await sdk.fails({ op: 'getSecret', store: 'vault', key: 'x' });
    assert.equal(unknown.code, 'InvalidArgument');
    assert.equal(unknown.statusMessage, 'failed finding secret store with key vault');
  });
});

describe('Go SDK metadata calls', () => {
  it('waits for the sidecar (Wait)', async () => {
    assert.deepEqual(await sdk.call({ op: 'wait', timeoutMs: 10_000 }), { ok: true });
  });

  it('reads the app id and the components with their capabilities (GetMetadata)', async () => {
    const md = await sdk.ok<GoMetadata>({ op: 'getMetadata' });
    assert.equal(md.ID, 'gosecrets');
    const byName = new Map(md.RegisteredComponents.map((c) => [c.Name, c]));
    assert.deepEqual([...byName.keys()].sort(), ['files', 'multi', 'orders-store']);
    assert.equal(byName.get('files')?.Type, 'secretstores.local.file');
    assert.equal(byName.get('files')?.Version, 'v1');
    assert.deepEqual(byName.get('files')?.Capabilities ?? [], []);
    assert.deepEqual(byName.get('multi')?.Capabilities, ['MULTIPLE_KEY_VALUES_PER_SECRET']);
    const store = byName.get('orders-store');
    assert.equal(store?.Type, 'state.in-memory');
    // daprd lists ACTOR for every state store with ETags and transactions (getComponentsCapabilitesMap).
    for (const cap of ['ETAG', 'TRANSACTIONAL', 'TTL', 'ACTOR'])
      assert.ok(store?.Capabilities?.includes(cap), `${cap} in ${store?.Capabilities}`);
  });

  it('sets an extended attribute and reads it back (SetMetadata)', async () => {
    await sdk.ok({ op: 'setMetadata', key: 'team', value: 'payments' });
    await sdk.ok({ op: 'setMetadata', key: 'team', value: 'billing' });
    const md = await sdk.ok<GoMetadata>({ op: 'getMetadata' });
    assert.equal(md.ExtendedMetadata.team, 'billing');
    assert.ok('daprRuntimeVersion' in md.ExtendedMetadata);
  });

  it('refuses SetMetadata without a key in the SDK itself', async () => {
    assert.equal((await sdk.fails({ op: 'setMetadata', key: '', value: 'x' })).message, 'a key is required');
  });
});
