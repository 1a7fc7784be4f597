import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import type { Sidecar } from '../harness.js';
import { type InvokePair, startInvokePair, type TestApp } from './invoke-fixture.js';

/**
 * App A invokes app B through two real outriggerd processes (plaintext internal gRPC, local
 * name-resolution registry): verbs, query, headers, status and bodies pass through; daprd's
 * added headers reach B; the header and Basic-auth addressing forms; a body larger than
 * --max-body-size streams both ways; Dapr's errors for unknown targets and missing ids.
 */

let pair: InvokePair;
let app: TestApp;
let a: Sidecar;

before(async () => {
  pair = await startInvokePair('invoke-home');
  ({ app, a } = pair);
});

after(async () => {
  await pair?.close();
});

async function json(res: Response): Promise<Record<string, unknown>> {
  return (await res.json()) as Record<string, unknown>;
}

describe('HTTP service invocation through two sidecars', () => {
  it('passes every verb, the query string, headers and body, and adds daprd headers', async () => {
    for (const verb of ['GET', 'POST', 'PUT', 'PATCH', 'DELETE']) {
      const hasBody = verb !== 'GET';
      const res = await fetch(`${a.url}/v1.0/invoke/b/method/api/v1/items?x=1&y=two`, {
        method: verb,
        headers: { 'x-custom': 'hello', 'content-type': 'text/plain' },
        ...(hasBody ? { body: `body-${verb}` } : {}),
      });
      assert.equal(res.status, 200, `${verb} status`);
      assert.equal(res.headers.get('x-app'), 'b');
      const got = await json(res);
      assert.equal(got.method, verb);
      assert.equal(got.url, '/api/v1/items?x=1&y=two');
      assert.equal(got.body, hasBody ? `body-${verb}` : '');
      const h = got.headers as Record<string, string>;
      assert.equal(h['x-custom'], 'hello');
      assert.equal(h['dapr-caller-app-id'], 'a');
      assert.equal(h['dapr-callee-app-id'], 'b');
      assert.equal(h['dapr-caller-namespace'], 'default');
      assert.match(h.traceparent ?? '', /^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/);
      assert.match(h['x-forwarded-for'] ?? '', /127\.0\.0\.1/);
      assert.ok((h['x-forwarded-host'] ?? '') !== '');
      assert.match(h.forwarded ?? '', /^for=127\.0\.0\.1;by=127\.0\.0\.1;host=/);
    }
  });

  it("continues the caller's trace: each sidecar adds its span, and the answer carries the caller sidecar's", async () => {
    const tp = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const res = await fetch(`${a.url}/v1.0/invoke/b/method/trace`, { headers: { traceparent: tp } });
    const got = await json(res);
    const TRACE = /^00-0af7651916cd43dd8448eb211c80319c-([0-9a-f]{16})-01$/;
    const atApp = TRACE.exec((got.headers as Record<string, string>).traceparent ?? '');
    const answered = TRACE.exec(res.headers.get('traceparent') ?? '');
    assert.ok(
      atApp !== null && answered !== null,
      'same trace id and sampled flag at the app and in the answer',
    );
    // Three different spans: the caller app's, sidecar A's (in the answer), sidecar B's (at the app).
    assert.equal(new Set(['b7ad6b7169203331', atApp[1], answered[1]]).size, 3);
    // Without a traceparent, a new trace starts at sidecar A.
    const fresh = await fetch(`${a.url}/v1.0/invoke/b/method/trace`);
    const freshAtApp = (await json(fresh)).headers as Record<string, string>;
    assert.match(fresh.headers.get('traceparent') ?? '', /^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/);
    assert.equal(freshAtApp.traceparent?.slice(3, 35), fresh.headers.get('traceparent')?.slice(3, 35));
  });

  it('passes the app status code and body through', async () => {
    const res = await fetch(`${a.url}/v1.0/invoke/b/method/status/418`, { method: 'POST', body: 'x' });
    assert.equal(res.status, 418);
    assert.equal(res.headers.get('x-app'), 'b');
    assert.equal(await res.text(), 'status 418');
  });

  it('finds the target from the dapr-app-id header and from Basic auth on any path', async () => {
    const viaHeader = await json(await fetch(`${a.url}/some/path?q=1`, { headers: { 'dapr-app-id': 'b' } }));
    assert.equal(viaHeader.url, '/some/path?q=1');
    assert.equal((viaHeader.headers as Record<string, string>)['dapr-app-id'], undefined);
    const auth = `Basic ${Buffer.from('dapr-app-id:b').toString('base64')}`;
    const viaAuth = await json(await fetch(`${a.url}/other/path`, { headers: { authorization: auth } }));
    assert.equal(viaAuth.url, '/other/path');
  });

  it('accepts app.namespace targets', async () => {
    const got = await json(await fetch(`${a.url}/v1.0/invoke/b.default/method/ns-check`));
    assert.equal(got.url, '/ns-check');
  });

  it('streams a 20 MB request and response body (over --max-body-size) with the same hash', async () => {
    const size = 20 * 1024 * 1024;
    const chunk = Buffer.alloc(1024 * 1024);
    for (let i = 0; i < chunk.length; i++) chunk[i] = (i * 31) & 0xff;
    const sent = createHash('sha256');
    for (let i = 0; i < 20; i++) sent.update(chunk);
    const source = Readable.from(
      (function* () {
        for (let i = 0; i < 20; i++) yield chunk;
      })(),
    );
    const res = await fetch(`${a.url}/v1.0/invoke/b/method/echo`, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
      body: Readable.toWeb(source) as ReadableStream,
      duplex: 'half',
    } as RequestInit);
    assert.equal(res.status, 200);
    const received = createHash('sha256');
    let n = 0;
    for await (const c of res.body as unknown as AsyncIterable<Uint8Array>) {
      received.update(c);
      n += c.length;
    }
    assert.equal(n, size);
    assert.equal(received.digest('hex'), sent.digest('hex'));
    const hit = app.hits.filter((h) => h.url === '/echo').at(-1);
    assert.equal(hit?.bodyLength, size);
    const big = await fetch(`${a.url}/v1.0/invoke/b/method/big/${size}`);
    assert.equal((await big.arrayBuffer()).byteLength, size);
  });

  it('answers 500 ERR_DIRECT_INVOKE for an app nobody serves', async () => {
    const res = await fetch(`${a.url}/v1.0/invoke/nobody/method/x`);
    assert.equal(res.status, 500);
    const body = await json(res);
    assert.equal(body.errorCode, 'ERR_DIRECT_INVOKE');
    assert.match(String(body.message), /^failed to invoke, id: nobody, err: /);
  });

  it('answers 404 ERR_DIRECT_INVOKE without an app id and 400 without a method', async () => {
    const noId = await fetch(`${a.url}/v1.0/invoke/b`);
    assert.equal(noId.status, 404);
    assert.deepEqual(await noId.json(), {
      errorCode: 'ERR_DIRECT_INVOKE',
      message: 'failed getting app id either from the URL path or the header dapr-app-id',
    });
    const noMethod = await fetch(`${a.url}/`, { headers: { 'dapr-app-id': 'b' } });
    assert.equal(noMethod.status, 400);
    assert.equal((await json(noMethod)).errorCode, 'ERR_DIRECT_INVOKE');
  });
});
