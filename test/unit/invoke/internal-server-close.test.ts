import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { InternalClient } from '../../../sidecar/api/internal/internal-client.js';
import { InternalServer } from '../../../sidecar/api/internal/internal-server.js';
import type { AppChannel, AppRequest } from '../../../sidecar/channel/app-channel.js';
import { onCancel } from '../../../sidecar/channel/cancellation.js';
import { head, silent } from './internal-api-fixture.js';

/**
 * Shutdown of the internal server: calls in flight get the grace period to finish, and the ones
 * still running after it are reset (the caller sees UNAVAILABLE, the app request is cancelled).
 * The app is an in-process stub that answers after a set delay, or never.
 */

/** Answers `/slow` after 80 ms and never answers `/stuck`; records cancelled requests. */
function stubApp(cancelled: string[]): AppChannel {
  return {
    invoke(req: AppRequest) {
      return new Promise((resolve, reject) => {
        onCancel(req.signal, () => {
          cancelled.push(req.path);
          reject(new Error('cancelled'));
        });
        if (req.path === '/slow')
          setTimeout(
            () =>
              resolve({
                status: 200,
                headers: { 'content-type': 'text/plain', 'content-length': '4' },
                body: Readable.from([Buffer.from('done')]),
              }),
            80,
          );
      });
    },
    probeHealth: async () => true,
    close() {},
  };
}

async function started(cancelled: string[]): Promise<{ server: InternalServer; address: string }> {
  const server = new InternalServer({
    appId: 'b',
    appChannel: () => stubApp(cancelled),
    httpProtocol: true,
    logger: silent,
  });
  const port = await server.listen(0, '127.0.0.1');
  return { server, address: `127.0.0.1:${port}` };
}

describe('internal server close', () => {
  // The client's sockets and the server's grace timers are unref'd (a sidecar has its own servers
  // keeping it alive); this keeps the test process alive while it awaits them.
  let keepAlive: NodeJS.Timeout;
  before(() => {
    keepAlive = setInterval(() => {}, 1_000);
  });
  after(() => clearInterval(keepAlive));

  it('lets a call in flight finish within the grace period', async () => {
    const cancelled: string[] = [];
    const { server, address } = await started(cancelled);
    const client = new InternalClient();
    try {
      const call = client.callStream(address, head('slow'), Buffer.from('x'));
      await new Promise((r) => setTimeout(r, 20));
      const closing = server.close(2_000);
      const res = await call;
      assert.equal(res.head.status, 200);
      assert.equal(Buffer.isBuffer(res.body) ? res.body.toString() : '', 'done');
      await closing;
      assert.deepEqual(cancelled, []);
    } finally {
      client.close();
    }
  });

  it('resets the calls still running after the grace period and cancels their app requests', async () => {
    const cancelled: string[] = [];
    const { server, address } = await started(cancelled);
    const client = new InternalClient();
    try {
      const calls = [client.callStream(address, head('stuck'), Buffer.from('x'))];
      calls.push(client.callStream(address, head('stuck'), Buffer.from('y')));
      const outcomes = Promise.allSettled(calls);
      await new Promise((r) => setTimeout(r, 20));
      const t0 = performance.now();
      await server.close(100);
      assert.ok(performance.now() - t0 >= 90, 'close waited for the grace period');
      for (const o of await outcomes) {
        assert.equal(o.status, 'rejected');
        assert.equal((o.reason as { code?: unknown }).code, 14, String(o.reason));
      }
      assert.deepEqual(cancelled, ['/stuck', '/stuck']);
    } finally {
      client.close();
    }
  });
});
