import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { makeTempDir, removeTempDir } from '../../env/process.js';
import { dialDapr, grpcCall } from '../grpc-api-client.js';
import { component, makeResourcesDir, requestOverSocket, type Sidecar, startSidecar } from '../harness.js';

/**
 * `--unix-domain-socket <dir>`: as daprd, the HTTP API listens on `<dir>/dapr-<app id>-http.socket`
 * and the gRPC API on `<dir>/dapr-<app id>-grpc.socket`, instead of their TCP ports. A socket file
 * left by a killed process is taken over; stopping the sidecar removes both files.
 */

let dir = '';
let resources = '';
let sidecar: Sidecar;
const APP_ID = 'uds';

/** Leaves a socket file at `path` with nothing accepting on it, as a killed process does. */
async function staleSocket(path: string): Promise<void> {
  const child = spawn(process.execPath, [
    '-e',
    "require('net').createServer().listen(process.argv[1], () => process.stdout.write('up'))",
    path,
  ]);
  await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
  child.kill('SIGKILL');
  await new Promise((resolve) => child.once('exit', resolve));
  assert.ok(existsSync(path), 'the killed listener left its socket file');
}

function connects(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port }, () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

before(async () => {
  dir = await makeTempDir('uds');
  resources = await makeResourcesDir([component('statestore', 'state.in-memory')]);
  await staleSocket(join(dir, `dapr-${APP_ID}-http.socket`));
  sidecar = await startSidecar({ appId: APP_ID, resourcesPaths: [resources], unixDomainSocket: dir });
});

after(async () => {
  await sidecar?.stop();
  await removeTempDir(dir);
  await removeTempDir(resources);
});

describe('--unix-domain-socket', () => {
  const http = (): string => join(dir, `dapr-${APP_ID}-http.socket`);

  it('serves the HTTP API on dapr-<app id>-http.socket, over the stale file a killed process left', async () => {
    assert.equal((await requestOverSocket(http(), 'GET', '/v1.0/healthz')).status, 204);
    const saved = await requestOverSocket(
      http(),
      'POST',
      '/v1.0/state/statestore',
      JSON.stringify([{ key: 'k', value: { n: 1 } }]),
      { 'content-type': 'application/json' },
    );
    assert.equal(saved.status, 204);
    const got = await requestOverSocket(http(), 'GET', '/v1.0/state/statestore/k');
    assert.equal(got.status, 200);
    assert.deepEqual(JSON.parse(got.body), { n: 1 });
    const bad = await requestOverSocket(http(), 'POST', '/v1.0/state/statestore', '{not json');
    assert.equal(bad.status, 400);
    assert.equal((JSON.parse(bad.body) as { errorCode: string }).errorCode, 'ERR_MALFORMED_REQUEST');
  });

  it('serves the gRPC API on dapr-<app id>-grpc.socket', async () => {
    const client = dialDapr(`unix:${join(dir, `dapr-${APP_ID}-grpc.socket`)}`);
    try {
      const got = await grpcCall(client, 'GetState', { store_name: 'statestore', key: 'k' });
      assert.equal(got.err, null);
      assert.equal(Buffer.from(got.res?.data as Buffer).toString(), '{"n":1}');
      const meta = await grpcCall(client, 'GetMetadata', {});
      assert.equal(meta.err, null);
      assert.equal(meta.res?.id, APP_ID);
    } finally {
      client.close();
    }
  });

  it('does not listen on the TCP API ports', async () => {
    assert.equal(await connects(sidecar.httpPort), false);
    assert.equal(await connects(sidecar.grpcPort), false);
  });

  it('removes both socket files when it stops', async () => {
    const exit = await sidecar.stop();
    assert.equal(exit.code, 0);
    assert.equal(existsSync(http()), false);
    assert.equal(existsSync(join(dir, `dapr-${APP_ID}-grpc.socket`)), false);
  });
});
