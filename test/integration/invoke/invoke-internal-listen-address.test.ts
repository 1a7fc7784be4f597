import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { networkInterfaces } from 'node:os';
import { after, before, describe, it } from 'node:test';
import type { Sidecar } from '../harness.js';
import { type InvokePair, startInvokePair } from './invoke-fixture.js';

/**
 * `--dapr-internal-grpc-listen-address`: the sidecar-to-sidecar API binds only there (daprd's
 * default, no flag, is every interface), and sidecars on the machine still find and call it.
 */

let pair: InvokePair;
let a: Sidecar;
let b: Sidecar;

/** A non-loopback IPv4 address of this machine, where a loopback-only listener must not answer. */
function externalAddress(): string {
  const found = Object.values(networkInterfaces())
    .flat()
    .find((i) => i !== undefined && i.family === 'IPv4' && !i.internal);
  assert.ok(found, 'this test needs a non-loopback IPv4 address on the machine');
  return found.address;
}

/** Resolves 'connected' or the connection error's code. */
function tryConnect(host: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host, port }, () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
  });
}

before(async () => {
  pair = await startInvokePair('invoke-listen-home', ['--dapr-internal-grpc-listen-address', '127.0.0.1']);
  ({ a, b } = pair);
});

after(async () => {
  await pair?.close();
});

describe('--dapr-internal-grpc-listen-address', () => {
  it('binds the internal API to that address only', async () => {
    const external = externalAddress();
    assert.equal(await tryConnect('127.0.0.1', b.internalPort), 'connected');
    assert.equal(await tryConnect(external, b.internalPort), 'ECONNREFUSED');
    // Without the flag the internal API listens on every interface, as daprd's does.
    assert.equal(await tryConnect(external, a.internalPort), 'connected');
  });

  it('is still found and called by the other sidecars of the machine', async () => {
    const res = await fetch(`${a.url}/v1.0/invoke/b/method/echo`, { method: 'POST', body: 'hi' });
    assert.equal(res.status, 200);
    assert.equal(await res.text(), 'hi');
  });
});
