import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { text } from 'node:stream/consumers';
import { describe, it } from 'node:test';
import { AppHealthProber } from '../../../sidecar/channel/app-readiness.js';
import { HttpAppChannel } from '../../../sidecar/channel/http-channel.js';
import { Semaphore } from '../../../sidecar/channel/semaphore.js';
import type { Logger } from '../../../sidecar/components/component.js';
import { channels } from '../../../sidecar/observability/events.js';

const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {}, child: () => quiet };

async function listen(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<{ server: Server; port: number }> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port };
}

async function close(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

describe('HTTP app channel', () => {
  it('queues calls beyond --app-max-concurrency instead of rejecting them', async (t) => {
    let active = 0;
    let peak = 0;
    const waiting: ServerResponse[] = [];
    const { server, port } = await listen((_req, res) => {
      active++;
      peak = Math.max(peak, active);
      waiting.push(res);
      res.on('finish', () => active--);
    });
    t.after(() => close(server));
    const channel = new HttpAppChannel({ address: '127.0.0.1', port, maxConcurrency: 2 });
    t.after(() => channel.close());
    const calls = Array.from({ length: 5 }, (_, i) =>
      channel
        .invoke({ method: 'POST', path: `/work/${i}`, body: Buffer.from(`job ${i}`) })
        .then(async (r) => ({ status: r.status, body: await text(r.body) })),
    );
    // Each round: wait until as many requests as allowed are open at the app, then answer one.
    let answered = 0;
    while (answered < 5) {
      const expected = Math.min(2, 5 - answered);
      while (waiting.length < expected) await new Promise((resolve) => setImmediate(resolve));
      assert.equal(channel.queuedCalls, 5 - answered - expected);
      waiting.shift()?.end(`done ${answered++}`);
    }
    const results = await Promise.all(calls);
    assert.equal(peak, 2);
    assert.deepEqual(
      results.map((r) => r.status),
      [200, 200, 200, 200, 200],
    );
    assert.equal(channel.activeCalls, 0);
  });

  it('sends APP_API_TOKEN as dapr-api-token and passes query, headers and status through', async (t) => {
    const seen: IncomingMessage[] = [];
    const { server, port } = await listen((req, res) => {
      seen.push(req);
      res.writeHead(418, { 'x-app': 'yes', 'content-length': 6 }).end('teapot');
    });
    t.after(() => close(server));
    const events: unknown[] = [];
    const listener = (e: unknown): void => void events.push(e);
    channels.appCall.subscribe(listener);
    t.after(() => channels.appCall.unsubscribe(listener));
    const channel = new HttpAppChannel({
      address: '127.0.0.1',
      port,
      maxConcurrency: -1,
      appApiToken: 's3cret',
    });
    t.after(() => channel.close());
    const res = await channel.invoke({
      method: 'GET',
      path: '/orders',
      query: 'id=7',
      headers: { 'x-caller': 'test' },
    });
    assert.equal(res.status, 418);
    assert.equal(res.headers['x-app'], 'yes');
    assert.equal(await text(res.body), 'teapot');
    assert.equal(seen[0]?.headers['dapr-api-token'], 's3cret');
    assert.equal(seen[0]?.headers['x-caller'], 'test');
    assert.equal(seen[0]?.url, '/orders?id=7');
    assert.deepEqual(
      events.map((e) => ({ ...(e as object), durationMs: 0 })),
      [{ method: 'GET', path: '/orders', status: 418, durationMs: 0, sentBytes: 0, receivedBytes: 6 }],
    );
  });
});

describe('app health probes', () => {
  it('turn unhealthy after the threshold of failures and healthy on the next success', async (t) => {
    let healthy = true;
    const { server, port } = await listen((req, res) => {
      assert.equal(req.url, '/healthz');
      res.writeHead(healthy ? 204 : 503).end();
    });
    t.after(() => close(server));
    const channel = new HttpAppChannel({ address: '127.0.0.1', port, maxConcurrency: -1 });
    t.after(() => channel.close());
    const prober = new AppHealthProber(
      { enabled: true, path: '/healthz', probeIntervalMs: 20, probeTimeoutMs: 500, threshold: 2 },
      (path, timeoutMs) => channel.probeHealth(path, timeoutMs),
      quiet,
    );
    t.after(() => prober.stop());
    const changes: boolean[] = [];
    let notify: (() => void) | undefined;
    prober.start((h) => {
      changes.push(h);
      notify?.();
    });
    const next = (): Promise<void> => new Promise((resolve) => (notify = resolve));
    await next();
    assert.equal(prober.healthy, true);
    healthy = false;
    await next();
    assert.equal(prober.healthy, false);
    healthy = true;
    await next();
    assert.deepEqual(changes, [true, false, true]);
  });
});

describe('app call queue', () => {
  it('drops a queued call whose signal aborts, without losing a permit', async () => {
    const limit = new Semaphore(1);
    const first = await limit.acquire();
    const abort = new AbortController();
    const queued = limit.acquire(abort.signal);
    const third = limit.acquire();
    assert.equal(limit.queued, 2);
    abort.abort(new Error('caller went away'));
    await assert.rejects(queued, /caller went away/);
    assert.equal(limit.queued, 1);
    first();
    const release = await third;
    assert.equal(limit.active, 1);
    release();
    release();
    assert.equal(limit.active, 0);
  });
});
