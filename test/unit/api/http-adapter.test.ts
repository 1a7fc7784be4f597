import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { after, before, describe, it } from 'node:test';
import {
  createHttpApiServer,
  createPublicHealthServer,
  type HttpApiServer,
} from '../../../sidecar/api/http/server.js';
import type { ApiRequestEvent } from '../../../sidecar/observability/events.js';
import { MemoryLogger, makeContext, memoryStore, PlainStore } from './api-fixture.js';

/** In-process checks of the express adapter over the real in-memory store. */

let server: HttpApiServer;
let base = '';
const logger = new MemoryLogger();
let shutdownReason: string | undefined;

before(async () => {
  const ctx = await makeContext({
    stateStores: [
      { name: 'mem', store: await memoryStore() },
      { name: 'plain', store: new PlainStore() },
    ],
    onShutdown: (reason) => {
      shutdownReason = reason;
    },
  });
  server = createHttpApiServer(ctx, {
    maxBodyBytes: 1024,
    readBufferBytes: 4096,
    apiToken: 'sekret',
    enableApiLogging: true,
    logger,
  });
  await server.listen(0, ['127.0.0.1']);
  base = `http://127.0.0.1:${server.address()[0]?.port}`;
});

after(async () => {
  await server.close(1000);
});

const auth = { 'dapr-api-token': 'sekret' };

async function call(
  method: string,
  path: string,
  body?: string,
  headers: Record<string, string> = {},
): Promise<Response> {
  return await fetch(base + path, {
    method,
    headers: { ...auth, ...headers },
    ...(body === undefined ? {} : { body }),
  });
}

describe('HTTP adapter', () => {
  it('saves, reads with ETag header and deletes', async () => {
    assert.equal(
      (await call('POST', '/v1.0/state/mem', JSON.stringify([{ key: 'k', value: { a: 1 } }]))).status,
      204,
    );
    const got = await call('GET', '/v1.0/state/mem/k');
    assert.equal(got.status, 200);
    assert.equal(got.headers.get('content-type'), 'application/json');
    assert.ok(got.headers.get('etag'));
    assert.deepEqual(await got.json(), { a: 1 });
    assert.equal(
      (await call('DELETE', '/v1.0/state/mem/k', undefined, { 'If-Match': got.headers.get('etag') ?? '' }))
        .status,
      204,
    );
    assert.equal((await call('GET', '/v1.0/state/mem/k')).status, 204);
  });

  it('strips a trailing slash and collapses double slashes', async () => {
    assert.equal((await call('GET', '/v1.0/state/mem/missing/')).status, 204);
    assert.equal((await call('GET', '//v1.0//state/mem/missing')).status, 204);
  });

  it('refuses a missing or wrong token with a plain-text 401, but not on health routes', async () => {
    const none = await fetch(`${base}/v1.0/metadata`);
    assert.equal(none.status, 401);
    assert.equal(await none.text(), 'invalid api token\n');
    const wrong = await fetch(`${base}/v1.0/metadata`, { headers: { 'dapr-api-token': 'nope' } });
    assert.equal(wrong.status, 401);
    assert.equal((await fetch(`${base}/v1.0/healthz`)).status, 204);
    assert.equal((await fetch(`${base}/v1.0/healthz/outbound`)).status, 204);
  });

  it('answers malformed JSON and oversized bodies with 400 ERR_MALFORMED_REQUEST', async () => {
    const bad = await call('POST', '/v1.0/state/mem', '[{"key":');
    assert.equal(bad.status, 400);
    assert.equal(((await bad.json()) as { errorCode: string }).errorCode, 'ERR_MALFORMED_REQUEST');
    const big = await call(
      'POST',
      '/v1.0/state/mem',
      JSON.stringify([{ key: 'k', value: 'x'.repeat(2000) }]),
    );
    assert.equal(big.status, 400);
    assert.deepEqual(await big.json(), { errorCode: 'ERR_MALFORMED_REQUEST', message: 'stream too large' });
    const bigBulk = await call('POST', '/v1.0/state/mem/bulk', JSON.stringify({ keys: ['x'.repeat(2000)] }));
    assert.deepEqual(await bigBulk.json(), {
      errorCode: 'ERR_MALFORMED_REQUEST',
      message: 'failed deserializing HTTP body: stream too large',
    });
    // The connection stays usable after an oversized body.
    assert.equal((await call('GET', '/v1.0/state/mem/none')).status, 204);
  });

  it('rejects unknown transaction operations with 400 ERR_NOT_SUPPORTED_STATE_OPERATION', async () => {
    const res = await call(
      'POST',
      '/v1.0/state/mem/transaction',
      JSON.stringify({ operations: [{ operation: 'merge', request: { key: 'a' } }] }),
    );
    assert.equal(res.status, 400);
    assert.deepEqual(await res.json(), {
      errorCode: 'ERR_NOT_SUPPORTED_STATE_OPERATION',
      message: 'operation type merge not supported',
    });
    const plain = await call('POST', '/v1.0/state/plain/transaction', JSON.stringify({ operations: [] }));
    assert.equal(plain.status, 500);
    assert.equal(((await plain.json()) as { errorCode: string }).errorCode, 'ERR_STATE_STORE_NOT_SUPPORTED');
  });

  it('answers a bad percent-encoding in the path with 400, not a crash', async () => {
    const res = await call('GET', '/v1.0/state/mem/%E0%A4%A');
    assert.equal(res.status, 400);
    assert.equal(((await res.json()) as { errorCode: string }).errorCode, 'ERR_MALFORMED_REQUEST');
    assert.equal((await call('GET', '/v1.0/healthz')).status, 204);
  });

  it('answers a known path with another verb 405 and an Allow header', async () => {
    const res = await call('POST', '/v1.0/state/mem/some-key', '[]');
    assert.equal(res.status, 405);
    assert.equal(res.headers.get('allow'), 'GET, DELETE');
    assert.equal((await call('GET', '/v1.0/shutdown')).status, 405);
  });

  it('listens on bracketed IPv6 addresses as daprd writes them', async () => {
    const ctx = await makeContext();
    const s = createHttpApiServer(ctx, {
      maxBodyBytes: 1024,
      readBufferBytes: 4096,
      enableApiLogging: false,
      logger: new MemoryLogger(),
    });
    await s.listen(0, ['[::1]', '127.0.0.1']);
    try {
      const ports = s.address().map((a) => a.port);
      assert.ok(ports.length >= 1);
      assert.equal((await fetch(`http://127.0.0.1:${ports[0]}/v1.0/healthz`)).status, 204);
    } finally {
      await s.close(100);
    }
  });

  it('answers unknown routes with Go-style 404', async () => {
    const res = await call('GET', '/v1.0/nothing-here');
    assert.equal(res.status, 404);
    assert.equal(await res.text(), '404 page not found\n');
  });

  it('publishes apiRequest with the route template and logs API calls', async () => {
    const seen: ApiRequestEvent[] = [];
    const onEvent = (m: unknown) => seen.push(m as ApiRequestEvent);
    subscribe('outrigger:api:request', onEvent);
    try {
      await call('GET', '/v1.0/state/mem/some-key');
    } finally {
      unsubscribe('outrigger:api:request', onEvent);
    }
    assert.ok(
      seen.some((e) => e.route === '/v1.0/state/:storeName/:key' && e.status === 204 && e.method === 'GET'),
    );
    assert.ok(
      logger.lines.some(
        (l) =>
          l.msg === 'HTTP API Called' &&
          l.fields.method === 'GET /v1.0/state/mem/some-key' &&
          l.fields.code === 204,
      ),
    );
  });

  it('stores PUT metadata text under extended and answers shutdown with 204 before shutting down', async () => {
    assert.equal(
      (await call('PUT', '/v1.0/metadata/color', 'blue', { 'content-type': 'text/plain' })).status,
      204,
    );
    const md = (await (await call('GET', '/v1.0/metadata')).json()) as {
      id: string;
      extended: Record<string, string>;
    };
    assert.equal(md.id, 'app1');
    assert.equal(md.extended.color, 'blue');
    assert.equal(md.extended.daprRuntimeVersion, '0.1.0-test');
    assert.equal((await call('POST', '/v1.0/shutdown')).status, 204);
    assert.equal(shutdownReason, 'shutdown API called');
  });
});

describe('public health server', () => {
  it('serves healthz and metadata without a token, and nothing else', async () => {
    const ctx = await makeContext({ ready: false });
    const pub = createPublicHealthServer(ctx, {
      maxBodyBytes: 1024,
      readBufferBytes: 4096,
      enableApiLogging: false,
      logger: new MemoryLogger(),
    });
    await pub.listen(0, ['127.0.0.1']);
    try {
      const url = `http://127.0.0.1:${pub.address()[0]?.port}`;
      const h = await fetch(`${url}/v1.0/healthz`);
      assert.equal(h.status, 500);
      assert.deepEqual(await h.json(), {
        errorCode: 'ERR_HEALTH_NOT_READY',
        message: 'dapr is not ready: [app]',
        details: [
          {
            '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
            reason: 'ERR_HEALTH_NOT_READY',
            domain: 'dapr.io',
            metadata: {},
          },
        ],
      });
      assert.equal((await fetch(`${url}/v1.0/metadata`)).status, 200);
      assert.equal((await fetch(`${url}/v1.0/state/x/y`)).status, 404);
    } finally {
      await pub.close(100);
    }
  });
});

describe('unexpected failures', () => {
  it('turns a throwing store into 500 ERR_STATE_GET and a throwing runtime into 500 ERR_INTERNAL, publishing apiError', async () => {
    const broken = new PlainStore();
    broken.get = async () => {
      throw new TypeError('disk on fire');
    };
    const ctx = await makeContext({ stateStores: [{ name: 'broken', store: broken }] });
    const failing = {
      ...ctx,
      components: () => {
        throw new Error('registry exploded');
      },
    };
    const s = createHttpApiServer(failing, {
      maxBodyBytes: 1024,
      readBufferBytes: 4096,
      enableApiLogging: false,
      logger: new MemoryLogger(),
    });
    await s.listen(0, ['127.0.0.1']);
    const codes: string[] = [];
    const onError = (m: unknown) => codes.push((m as { code: string }).code);
    subscribe('outrigger:api:error', onError);
    try {
      const url = `http://127.0.0.1:${s.address()[0]?.port}`;
      const get = await fetch(`${url}/v1.0/state/broken/k`);
      assert.equal(get.status, 500);
      assert.deepEqual(await get.json(), {
        errorCode: 'ERR_STATE_GET',
        message: 'fail to get k from state store broken: disk on fire',
      });
      const md = await fetch(`${url}/v1.0/metadata`);
      assert.equal(md.status, 500);
      assert.deepEqual(await md.json(), { errorCode: 'ERR_INTERNAL', message: 'registry exploded' });
      // The server is still up.
      assert.equal((await fetch(`${url}/v1.0/healthz`)).status, 204);
    } finally {
      unsubscribe('outrigger:api:error', onError);
      await s.close(100);
    }
    assert.deepEqual(codes, ['ERR_STATE_GET', 'ERR_INTERNAL']);
  });
});

describe('aborted requests', () => {
  it('a client that disconnects mid-body leaves nothing in flight', async () => {
    const ctx = await makeContext({ stateStores: [{ name: 'mem', store: await memoryStore() }] });
    const s = createHttpApiServer(ctx, {
      maxBodyBytes: 1 << 20,
      readBufferBytes: 4096,
      enableApiLogging: false,
      logger: new MemoryLogger(),
    });
    await s.listen(0, ['127.0.0.1']);
    try {
      const url = `http://127.0.0.1:${s.address()[0]?.port}`;
      const abort = new AbortController();
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(Buffer.from('[{"key":"k",'));
        },
      });
      const pending = fetch(`${url}/v1.0/state/mem`, {
        method: 'POST',
        body,
        duplex: 'half',
        signal: abort.signal,
      } as RequestInit);
      while (s.inFlight() === 0) await new Promise((r) => setTimeout(r, 5));
      abort.abort();
      await assert.rejects(pending);
      while (s.inFlight() !== 0) await new Promise((r) => setTimeout(r, 5));
      assert.equal((await fetch(`${url}/v1.0/healthz`)).status, 204);
    } finally {
      await s.close(100);
    }
  });
});

describe('graceful close', () => {
  it('waits for an in-flight request, then stops accepting', async () => {
    const ctx = await makeContext({ stateStores: [{ name: 'mem', store: await memoryStore() }] });
    const s = createHttpApiServer(ctx, {
      maxBodyBytes: 1 << 20,
      readBufferBytes: 4096,
      enableApiLogging: false,
      logger: new MemoryLogger(),
    });
    await s.listen(0, ['127.0.0.1']);
    const url = `http://127.0.0.1:${s.address()[0]?.port}`;
    // A save whose body is still being streamed is in flight until the body ends.
    let push: ((chunk: string | null) => void) | undefined;
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        push = (chunk) => (chunk === null ? controller.close() : controller.enqueue(Buffer.from(chunk)));
      },
    });
    const pending = fetch(`${url}/v1.0/state/mem`, { method: 'POST', body, duplex: 'half' } as RequestInit);
    push?.('[{"key":"k",');
    while (s.inFlight() === 0) await new Promise((r) => setTimeout(r, 5));
    const closing = s.close(10_000);
    push?.('"value":1}]');
    push?.(null);
    assert.equal((await pending).status, 204);
    await closing;
    assert.equal(s.inFlight(), 0);
    await assert.rejects(fetch(`${url}/v1.0/healthz`));
  });
});
