import assert from 'node:assert/strict';
import { createServer, get, type IncomingHttpHeaders, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import express from 'express';
import { withTracing } from '../../../sidecar/api/http/tracing.js';
import { Tracer } from '../../../sidecar/observability/tracing/tracer.js';
import { recordingLogger } from '../recording-logger.js';

const TRACE = '0af7651916cd43dd8448eb211c80319c';
const APP_TRACEPARENT = '00-11111111111111111111111111111111-2222222222222222-01';

/** Each path answers its head one way a handler of the API may. */
const handlers: Record<string, RequestListener> = {
  '/object': (_req, res) => res.writeHead(201, { 'content-type': 'text/plain' }).end('x'),
  '/reason-array': (_req, res) => res.writeHead(202, 'Fine', ['content-type', 'text/plain']).end('x'),
  '/implicit': (_req, res) => res.end('x'),
  '/set-then-head': (_req, res) => {
    res.setHeader('x-extra', '1');
    res.writeHead(200, { 'content-type': 'text/plain' }).end('x');
  },
  '/app-object': (_req, res) => res.writeHead(200, { Traceparent: APP_TRACEPARENT }).end('x'),
  '/app-array': (_req, res) => res.writeHead(200, ['TRACEPARENT', APP_TRACEPARENT]).end('x'),
  '/app-set': (_req, res) => {
    res.setHeader('traceparent', APP_TRACEPARENT);
    res.end('x');
  },
  '/healthz': (_req, res) => res.end('x'),
};

function fetchHead(
  port: number,
  path: string,
  traceparent: string,
): Promise<{ status: number; headers: IncomingHttpHeaders; raw: string[] }> {
  return new Promise((resolve, reject) => {
    get({ port, host: '127.0.0.1', path, headers: { traceparent } }, (res) => {
      res.resume();
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, raw: res.rawHeaders }),
      );
    }).on('error', reject);
  });
}

describe('the traceparent of HTTP API responses', () => {
  const tracer = new Tracer({ samplingRate: 1, exporters: [], logger: recordingLogger().logger });
  const servers: Server[] = [];
  let plainPort = 0;
  let expressPort = 0;
  before(async () => {
    const listen = async (listener: RequestListener): Promise<number> => {
      const server = createServer(withTracing(listener, tracer));
      servers.push(server);
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      return (server.address() as AddressInfo).port;
    };
    plainPort = await listen((req, res) => (handlers[req.url ?? ''] ?? handlers['/implicit'])?.(req, res));
    const app = express();
    app.get('/json', (_req, res) => {
      res.status(203).json({ ok: true });
    });
    app.get('/send-own', (_req, res) => {
      res.set('traceparent', APP_TRACEPARENT).send('x');
    });
    expressPort = await listen(app);
  });
  after(() => {
    for (const s of servers) s.close();
  });

  const count = (raw: string[]): number =>
    raw.filter((_, i) => i % 2 === 0 && raw[i]?.toLowerCase() === 'traceparent').length;

  for (const path of ['/object', '/reason-array', '/implicit', '/set-then-head']) {
    it(`carries the span's traceparent, a child of the caller's, once (${path})`, async () => {
      const r = await fetchHead(plainPort, path, `00-${TRACE}-b7ad6b7169203331-01`);
      assert.match(String(r.headers.traceparent), new RegExp(`^00-${TRACE}-[0-9a-f]{16}-01$`));
      assert.notEqual(r.headers.traceparent, `00-${TRACE}-b7ad6b7169203331-01`);
      assert.equal(count(r.raw), 1);
      if (path === '/set-then-head') assert.equal(r.headers['x-extra'], '1');
      if (path === '/reason-array') assert.equal(r.status, 202);
    });
  }

  for (const path of ['/app-object', '/app-array', '/app-set']) {
    it(`keeps a traceparent the handler gives, in any case, and adds none (${path})`, async () => {
      const r = await fetchHead(plainPort, path, `00-${TRACE}-b7ad6b7169203331-01`);
      assert.equal(r.headers.traceparent, APP_TRACEPARENT);
      assert.equal(count(r.raw), 1);
    });
  }

  it('leaves health checks without a span', async () => {
    const r = await fetchHead(plainPort, '/healthz', `00-${TRACE}-b7ad6b7169203331-01`);
    assert.equal(r.headers.traceparent, undefined);
  });

  it('carries it on express answers, whose head Node writes implicitly', async () => {
    const json = await fetchHead(expressPort, '/json', `00-${TRACE}-b7ad6b7169203331-01`);
    assert.equal(json.status, 203);
    assert.match(String(json.headers.traceparent), new RegExp(`^00-${TRACE}-[0-9a-f]{16}-01$`));
    assert.equal(count(json.raw), 1);
    const own = await fetchHead(expressPort, '/send-own', `00-${TRACE}-b7ad6b7169203331-01`);
    assert.equal(own.headers.traceparent, APP_TRACEPARENT);
    assert.equal(count(own.raw), 1);
  });
});
