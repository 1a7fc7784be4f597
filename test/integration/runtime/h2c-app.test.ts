import assert from 'node:assert/strict';
import { createServer, type Http2Server, type ServerHttp2Session } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { makeTempDir, removeTempDir, waitUntil } from '../../env/process.js';
import { startAppSidecar } from '../invoke/invoke-fixture.js';

describe('--app-protocol h2c', () => {
  it('probes and calls an HTTP/2-only app over cleartext, through a second sidecar', async (t) => {
    const seen: { version: string; method: string; url: string; body: string; caller: string }[] = [];
    let probes = 0;
    // node:http2's createServer speaks only HTTP/2 (prior knowledge): an HTTP/1.1 client gets nothing.
    const app: Http2Server = createServer((req, res) => {
      if (req.url === '/healthz') {
        probes++;
        res.writeHead(204).end();
        return;
      }
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        seen.push({
          version: req.httpVersion,
          method: req.method,
          url: req.url,
          body: Buffer.concat(chunks).toString(),
          caller: String(req.headers['dapr-caller-app-id']),
        });
        res.writeHead(req.url.startsWith('/teapot') ? 418 : 201, {
          'x-h2': 'yes',
          'content-type': 'text/plain',
        });
        res.end(`h2 ${req.method} ${req.url}`);
      });
    });
    const sessions = new Set<ServerHttp2Session>();
    app.on('session', (s: ServerHttp2Session) => {
      sessions.add(s);
      s.once('close', () => sessions.delete(s));
    });
    const dropSessions = (): void => {
      for (const s of sessions) s.destroy();
    };
    await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve));
    t.after(
      () =>
        new Promise<void>((resolve) => {
          app.close(() => resolve());
          dropSessions();
        }),
    );
    const home = await makeTempDir('h2c-app');
    t.after(() => removeTempDir(home));
    const callee = await startAppSidecar(home, {
      appId: 'h2app',
      appPort: (app.address() as AddressInfo).port,
      args: ['--app-protocol', 'h2c', '--enable-app-health-check', '--app-health-probe-interval', '1'],
    });
    t.after(() => callee.stop());
    const caller = await startAppSidecar(home, { appId: 'h2caller' });
    t.after(() => caller.stop());
    await waitUntil(
      'healthz 204 after an h2c health probe',
      async () => (await fetch(`${callee.url}/v1.0/healthz`)).status === 204,
      20_000,
      { process: callee.proc },
    );
    assert.ok(probes > 0);

    const res = await fetch(`${caller.url}/v1.0/invoke/h2app/method/orders/1?v=2`, {
      method: 'POST',
      body: 'x'.repeat(100_000),
    });
    assert.equal(res.status, 201);
    assert.equal(res.headers.get('x-h2'), 'yes');
    assert.equal(await res.text(), 'h2 POST /orders/1?v=2');
    assert.deepEqual(seen.at(-1), {
      version: '2.0',
      method: 'POST',
      url: '/orders/1?v=2',
      body: 'x'.repeat(100_000),
      caller: 'h2caller',
    });
    const teapot = await fetch(`${caller.url}/v1.0/invoke/h2app/method/teapot`);
    assert.equal(teapot.status, 418);
    assert.equal(await teapot.text(), 'h2 GET /teapot');
    // Calls keep working after the app drops the session.
    dropSessions();
    const again = await fetch(`${callee.url}/v1.0/invoke/h2app/method/again`);
    assert.equal(again.status, 201);
    assert.equal(await again.text(), 'h2 GET /again');
  });
});
