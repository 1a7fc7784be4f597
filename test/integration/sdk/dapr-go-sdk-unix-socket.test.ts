import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ensureGoSdkProbe, type GoSdkClient, type GoStateItem, goSdkClient } from '../../env/go-sdk-probe.js';
import { makeTempDir, removeTempDir } from '../../env/process.js';
import { component, type Sidecar, startSidecar, writeResources } from '../harness.js';

/**
 * The official Go SDK's `dapr.NewClientWithSocket`, unchanged, against a sidecar started with
 * `--unix-domain-socket`: the client dials `<dir>/dapr-<app id>-grpc.socket`, as it would daprd's.
 */

let dir = '';
let sockets = '';
let sidecar: Sidecar;
let sdk: GoSdkClient;

before(async () => {
  const probe = await ensureGoSdkProbe((line) => process.stderr.write(`${line}\n`));
  dir = await makeTempDir('go-sdk-uds');
  sockets = await makeTempDir('go-sdk-uds-sockets');
  const state = await writeResources(dir, [component('orders', 'state.in-memory')], 'state.yaml');
  sidecar = await startSidecar({ appId: 'gouds', resourcesPaths: [state], unixDomainSocket: sockets });
  sdk = goSdkClient(probe, {
    grpcPort: sidecar.grpcPort,
    unixSocket: join(sockets, 'dapr-gouds-grpc.socket'),
  });
});

after(async () => {
  await sidecar?.stop();
  await removeTempDir(dir);
  await removeTempDir(sockets);
});

describe('Go SDK over a unix domain socket (NewClientWithSocket)', () => {
  it('saves and reads state, and reads the metadata, over the socket', async () => {
    assert.deepEqual(await sdk.call({ op: 'saveState', store: 'orders', key: 'o1', value: 'shipped' }), {
      ok: true,
    });
    const item = await sdk.ok<GoStateItem>({ op: 'getState', store: 'orders', key: 'o1' });
    assert.equal(item.value, 'shipped');
    const md = await sdk.ok<{ ID: string }>({ op: 'getMetadata' });
    assert.equal(md.ID, 'gouds');
  });

  it("surfaces daprd's errors over the socket too", async () => {
    const err = await sdk.fails({ op: 'getState', store: 'nostore', key: 'k' });
    assert.equal(err.code, 'InvalidArgument');
    assert.match(err.statusMessage, /state store nostore is not found/);
  });
});
