import assert from 'node:assert/strict';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { InternalClient } from '../../../sidecar/api/internal/internal-client.js';
import { InternalServer } from '../../../sidecar/api/internal/internal-server.js';
import type { AppChannel, AppRequest } from '../../../sidecar/channel/app-channel.js';
import { head, silent } from './internal-api-fixture.js';

/**
 * How the internal client spreads calls over connections to one peer: it keeps using one while
 * that one is free to write, and dials a second only when a call finds the first still writing an
 * earlier batch (here: frames queued while the socket is still connecting). Never more than two.
 * A counting TCP relay in front of a real internal server sees the connections.
 */

/** Echoes the request path. */
const echoApp: AppChannel = {
  async invoke(req: AppRequest) {
    const body = Buffer.from(req.path);
    return {
      status: 200,
      headers: { 'content-type': 'text/plain', 'content-length': String(body.length) },
      body: Readable.from([body]),
    };
  },
  probeHealth: async () => true,
  close() {},
};

/** A TCP relay to `port` that counts the connections it accepted. */
async function countingRelay(
  port: number,
): Promise<{ address: string; accepted: () => number; close: () => void }> {
  let accepted = 0;
  const sockets = new Set<Socket>();
  const relay: Server = createServer((inbound) => {
    accepted++;
    const outbound = connect({ host: '127.0.0.1', port });
    for (const s of [inbound, outbound]) {
      sockets.add(s);
      s.on('error', () => {});
      s.on('close', () => sockets.delete(s));
    }
    inbound.pipe(outbound).pipe(inbound);
  });
  await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
  const { port: relayPort } = relay.address() as { port: number };
  return {
    address: `127.0.0.1:${relayPort}`,
    accepted: () => accepted,
    close: () => {
      for (const s of sockets) s.destroy();
      relay.close();
    },
  };
}

async function bodyText(res: Awaited<ReturnType<InternalClient['callStream']>>): Promise<string> {
  if (Buffer.isBuffer(res.body)) return res.body.toString();
  const parts: Buffer[] = [];
  for await (const c of res.body) parts.push(c as Buffer);
  return Buffer.concat(parts).toString();
}

const nextTick = (): Promise<void> => new Promise((r) => process.nextTick(r));

describe('internal client connections per peer', () => {
  let server: InternalServer;
  let port: number;
  // The client's sockets are unref'd (a sidecar has servers keeping it alive): keep this alive.
  let keepAlive: NodeJS.Timeout;
  before(async () => {
    keepAlive = setInterval(() => {}, 1_000);
    server = new InternalServer({
      appId: 'b',
      appChannel: () => echoApp,
      httpProtocol: true,
      logger: silent,
    });
    port = await server.listen(0, '127.0.0.1');
  });
  after(async () => {
    await server.close(100);
    clearInterval(keepAlive);
  });

  it('reuses one connection for calls that find it free', async () => {
    const relay = await countingRelay(port);
    const client = new InternalClient();
    try {
      for (let i = 0; i < 5; i++) {
        const res = await client.callStream(relay.address, head(`m${i}`), Buffer.from('x'));
        assert.equal(await bodyText(res), `/m${i}`);
      }
      // Calls started in one tick share that tick's write, hence the connection.
      const same = await Promise.all(
        [0, 1, 2].map((i) => client.callStream(relay.address, head(`t${i}`), Buffer.from('x'))),
      );
      assert.deepEqual(await Promise.all(same.map(bodyText)), ['/t0', '/t1', '/t2']);
      assert.equal(relay.accepted(), 1);
    } finally {
      client.close();
      relay.close();
    }
  });

  it('dials a second connection while the first is still writing, and no third', async () => {
    const relay = await countingRelay(port);
    const client = new InternalClient();
    try {
      const calls = [client.callStream(relay.address, head('c0'), Buffer.from('x'))];
      // The first call's batch left the tick but waits for the socket to connect: still writing.
      for (let i = 1; i < 4; i++) {
        await nextTick();
        calls.push(client.callStream(relay.address, head(`c${i}`), Buffer.from('x')));
      }
      const bodies = await Promise.all((await Promise.all(calls)).map(bodyText));
      assert.deepEqual(bodies, ['/c0', '/c1', '/c2', '/c3']);
      assert.equal(relay.accepted(), 2);
      // Once the writes are done, calls go to a free connection again without dialing.
      await new Promise((r) => setTimeout(r, 20));
      const res = await client.callStream(relay.address, head('later'), Buffer.from('x'));
      assert.equal(await bodyText(res), '/later');
      assert.equal(relay.accepted(), 2);
    } finally {
      client.close();
      relay.close();
    }
  });
});
