/**
 * Flow control of our HTTP/2 connection (sidecar/api/internal/h2/) and its interop with node:http2,
 * over real loopback sockets: 5 MiB each way with the receiver paused (backpressure must reach the
 * sender), a node:http2 client against our server, our client against a node:http2 server, and a
 * node:http2 server that lowers SETTINGS_INITIAL_WINDOW_SIZE and SETTINGS_MAX_CONCURRENT_STREAMS.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import http2 from 'node:http2';
import type net from 'node:net';
import { describe, test } from 'node:test';
import type { H2Connection } from '../../sidecar/api/internal/h2/connection.js';
import type { H2Stream } from '../../sidecar/api/internal/h2/stream.js';
import {
  assertEchoed,
  collect,
  dial,
  echo,
  pump,
  requestHeaders,
  type StreamHandler,
  serve,
  sleep,
  until,
} from './h2-harness.js';

/** A node:http2 server; `close()` destroys its sessions and waits for it to close. */
async function nodeServer(
  options: http2.ServerOptions,
  onStream: (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) => void,
): Promise<{ port: number; close(): Promise<void> }> {
  const server = http2.createServer(options);
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on('session', (s) => {
    sessions.add(s);
    s.on('close', () => sessions.delete(s));
  });
  server.on('stream', onStream);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as net.AddressInfo).port,
    async close() {
      for (const s of sessions) s.destroy();
      server.close();
      await once(server, 'close');
    },
  };
}

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

const MiB = 1 << 20;
const CHUNK = 64 * 1024;
/** write() returns false above this many queued bytes (stream.ts). */
const HIGH_WATER = 64 * 1024;

/**
 * Holds a paused receiver until the sender has used up its window, then 50 ms more, and checks
 * that nothing moved meanwhile: the sender's queue stays bounded and its writer waits for onDrain.
 */
async function assertBackpressure(
  sender: H2Stream,
  accepted: () => number,
  received: () => number,
  window: number,
): Promise<void> {
  await until(() => sender.sendWindow <= 0 && sender.queuedBytes > 0, 'the sender to exhaust its window');
  const before = { accepted: accepted(), queued: sender.queuedBytes, received: received() };
  await sleep(50);
  const after = { accepted: accepted(), queued: sender.queuedBytes, received: received() };
  assert.deepEqual(
    after,
    { ...before, received: after.received },
    'the sender made no progress while paused',
  );
  assert.ok(after.received <= window, `received ${after.received} > window ${window} while paused`);
  assert.ok(after.queued <= HIGH_WATER + CHUNK, `sender queued ${after.queued} bytes`);
  assert.ok(after.accepted <= window + HIGH_WATER + CHUNK, `writer got ${after.accepted} bytes in`);
  assert.equal(sender.write(Buffer.alloc(0)), false, 'write() keeps saying wait');
}

describe('H2Connection flow control', () => {
  test('5 MiB each way in order, with backpressure reaching the sender while the receiver pauses', async () => {
    const request = randomBytes(5 * MiB);
    const response = randomBytes(5 * MiB);
    const serverWindow = 256 * 1024;
    let serverStream: H2Stream | undefined;
    const serverChunks: Buffer[] = [];
    let serverReceived = 0;
    let requestDone!: () => void;
    const requestComplete = new Promise<void>((resolve) => {
      requestDone = resolve;
    });
    const served = await serve(
      (stream) => {
        serverStream = stream;
        stream.pause(); // from the first byte: the client may send one window and no more
        stream.onData = (c) => {
          serverChunks.push(c);
          serverReceived += c.length;
        };
        stream.onEnd = () => requestDone();
      },
      { streamWindow: serverWindow },
    );
    const conn = dial(served.port);
    try {
      const call = conn.request(requestHeaders('/big'));
      let clientReceived = 0;
      const done = collect(call);
      const onData = call.onData;
      call.onData = (c) => {
        clientReceived += c.length;
        onData?.call(call, c);
      };
      const upload = pump(call, request, CHUNK);

      await until(() => serverStream !== undefined, 'the server stream');
      const s = serverStream as H2Stream;
      await assertBackpressure(call, upload.accepted, () => serverReceived, serverWindow);
      s.resume();
      await requestComplete;
      assert.ok(Buffer.concat(serverChunks).equals(request), 'request bytes complete and in order');

      // Now the other way: the client pauses on the response head.
      let status: string | undefined;
      call.onHeaders = (headers) => {
        status = headers[':status'];
        call.pause();
      };
      s.sendHeaders([[':status', '200']]);
      const download = pump(s, response, CHUNK);
      // The client's stream window is the default 1 MiB.
      await assertBackpressure(s, download.accepted, () => clientReceived, MiB);
      call.resume();
      const outcome = await done;
      assert.equal(outcome.err, undefined, outcome.err?.message);
      assert.equal(status, '200');
      assert.ok(outcome.body.equals(response), 'response bytes complete and in order');
    } finally {
      conn.destroy();
      await served.close();
    }
  });
});

const BIG_VALUE = 'b'.repeat(20_000);

/** Our server's answer for the interop tests: `/get` a greeting, anything else its body echoed. */
const answer: StreamHandler = (stream, headers) => {
  if (headers[':path'] === '/fail') {
    // A trailers-only answer before the request body arrived (what a gRPC error looks like).
    stream.sendHeaders(
      [
        [':status', '200'],
        ['content-type', 'application/grpc'],
        ['grpc-status', '12'],
        ['grpc-message', 'unimplemented'],
      ],
      true,
    );
    return;
  }
  const chunks: Buffer[] = [];
  stream.onData = (c) => chunks.push(c);
  stream.onEnd = () => {
    const body =
      headers[':path'] === '/get' ? Buffer.from(`hello ${headers['x-name']}`) : Buffer.concat(chunks);
    stream.sendHeaders([
      [':status', '200'],
      ['content-type', 'application/octet-stream'],
      ['x-method', headers[':method'] ?? ''],
      // Above node's 16 KiB frame size: our side sends HEADERS + CONTINUATION.
      ...(headers[':path'] === '/get' ? [['x-big', BIG_VALUE] as const] : []),
    ]);
    pump(stream, body, CHUNK, [
      ['grpc-status', '0'],
      ['x-sha256', sha256(body)],
    ]);
  };
};

/** One node:http2 client request: response headers, body, trailers and the close code. */
async function nodeRequest(
  session: http2.ClientHttp2Session,
  headers: http2.OutgoingHttpHeaders,
  body?: Buffer,
): Promise<{
  headers: http2.IncomingHttpHeaders;
  body: Buffer;
  trailers: http2.IncomingHttpHeaders | undefined;
  rstCode: number;
}> {
  const req = session.request(headers, { endStream: body === undefined });
  const chunks: Buffer[] = [];
  let trailers: http2.IncomingHttpHeaders | undefined;
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('trailers', (t) => {
    trailers = t;
  });
  const response = once(req, 'response') as Promise<[http2.IncomingHttpHeaders]>;
  if (body !== undefined) req.end(body);
  const [head] = await response;
  await once(req, 'close');
  return { headers: head, body: Buffer.concat(chunks), trailers, rstCode: req.rstCode ?? -1 };
}

describe('H2Connection interop with node:http2', () => {
  test('a node:http2 client: GET and 1 MiB POSTs with trailers on one session, then close()', async () => {
    const served = await serve(answer);
    const session = http2.connect(`http://127.0.0.1:${served.port}`);
    try {
      await once(session, 'connect');
      const pong = await new Promise<Buffer>((resolve, reject) =>
        session.ping(Buffer.from('12345678'), (err, _ms, payload) => (err ? reject(err) : resolve(payload))),
      );
      assert.equal(pong.toString(), '12345678', 'our PING ACK echoes the payload');
      const post = randomBytes(MiB);
      const concurrent = await Promise.all([
        nodeRequest(session, { ':method': 'GET', ':path': '/get', 'x-name': 'node' }),
        nodeRequest(session, { ':method': 'POST', ':path': '/post' }, post),
        nodeRequest(session, { ':method': 'POST', ':path': '/post' }, post.subarray(0, 1000)),
      ]);
      const again = await nodeRequest(session, { ':method': 'GET', ':path': '/get', 'x-name': 'again' });
      for (const r of [...concurrent, again]) {
        assert.equal(r.headers[':status'], 200);
        assert.equal(r.headers['content-type'], 'application/octet-stream');
        assert.equal(r.rstCode, http2.constants.NGHTTP2_NO_ERROR);
        assert.equal(r.trailers?.['grpc-status'], '0');
        assert.equal(r.trailers?.['x-sha256'], sha256(r.body));
      }
      const [get, big, small] = concurrent;
      assert.equal(get?.headers['x-method'], 'GET');
      assert.equal(get?.body.toString(), 'hello node');
      assert.equal(big?.headers['x-method'], 'POST');
      assert.ok(big?.body.equals(post), '1 MiB echoed exactly');
      assert.ok(small?.body.equals(post.subarray(0, 1000)));
      assert.equal(again.body.toString(), 'hello again');
      assert.equal(get?.headers['x-big'], BIG_VALUE);
      const failed = await nodeRequest(
        session,
        { ':method': 'POST', ':path': '/fail' },
        randomBytes(100_000),
      );
      assert.equal(failed.headers[':status'], 200);
      assert.equal(failed.headers['grpc-status'], '12');
      assert.equal(failed.headers['grpc-message'], 'unimplemented');
      assert.equal(failed.trailers, undefined);
      assert.equal(failed.body.length, 0);
      assert.equal(failed.rstCode, http2.constants.NGHTTP2_NO_ERROR);
      assert.equal(served.conns.length, 1, 'one session, one connection');
      const ours = served.conns[0] as H2Connection;
      const oursClosed = new Promise<Error | undefined>((resolve) => {
        ours.onClose = resolve;
      });
      session.close();
      await once(session, 'close');
      assert.equal(await oursClosed, undefined, 'our side closes cleanly after the GOAWAY');
    } finally {
      session.destroy();
      await served.close();
    }
  });

  test('our client against a node:http2 server: headers, 200 KiB, trailers, clean close', async () => {
    const big = 'x'.repeat(30_000); // more than node's 16 KiB frame: sent as HEADERS + CONTINUATION
    const response = randomBytes(200 * 1024);
    let seen: { headers: http2.IncomingHttpHeaders; body: Buffer } | undefined;
    const node = await nodeServer({}, (stream, headers) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        seen = { headers, body: Buffer.concat(chunks) };
        stream.additionalHeaders({ ':status': 103, link: '</style.css>; rel=preload' }); // not surfaced
        stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
        stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0', 'grpc-message': 'ok' }));
        stream.end(response);
      });
    });
    const conn = dial(node.port);
    try {
      const call = conn.request(
        requestHeaders('/pkg.Service/Method', `127.0.0.1:${node.port}`, [
          ['content-type', 'application/grpc'],
          ['te', 'trailers'],
          ['x-big', big],
        ]),
      );
      const done = collect(call);
      call.end(Buffer.from('request body'));
      const outcome = await done;
      assert.equal(outcome.err, undefined, outcome.err?.message);
      assert.equal(seen?.headers[':method'], 'POST');
      assert.equal(seen?.headers[':path'], '/pkg.Service/Method');
      assert.equal(seen?.headers[':authority'], `127.0.0.1:${node.port}`);
      assert.equal(seen?.headers.te, 'trailers');
      assert.equal(seen?.headers['x-big'], big);
      assert.equal(seen?.body.toString(), 'request body');
      assert.equal(outcome.heads.length, 2);
      assert.equal(outcome.heads[0]?.headers[':status'], '200');
      assert.equal(outcome.heads[0]?.headers['content-type'], 'application/grpc');
      assert.equal(outcome.heads[0]?.endStream, false);
      assert.deepEqual(outcome.heads[1], {
        headers: { 'grpc-status': '0', 'grpc-message': 'ok' },
        endStream: true,
      });
      assert.ok(outcome.body.equals(response), '200 KiB arrive exactly');
    } finally {
      conn.destroy();
      await node.close();
    }
  });

  test('a node:http2 server with maxConcurrentStreams 2 and a 1 KiB window: all 10 calls complete', async () => {
    let active = 0;
    let maxActive = 0;
    const node = await nodeServer(
      { settings: { maxConcurrentStreams: 2, initialWindowSize: 1024 } },
      (stream) => {
        active++;
        maxActive = Math.max(maxActive, active);
        stream.on('close', () => active--);
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          stream.respond({ ':status': 200 });
          stream.end(Buffer.concat(chunks).reverse());
        });
      },
    );
    const conn = dial(node.port);
    try {
      // Issued at once, before the server's SETTINGS can have arrived.
      const bodies = Array.from({ length: 10 }, () => randomBytes(50 * 1024));
      const calls = bodies.map((body, i) => {
        const call = conn.request(requestHeaders(`/call/${i}`));
        const done = collect(call);
        pump(call, body, 16 * 1024);
        return done;
      });
      const outcomes = await Promise.all(calls);
      outcomes.forEach((o, i) => {
        assert.equal(o.err, undefined, `call ${i}: ${o.err?.message}`);
        assert.equal(o.heads[0]?.headers[':status'], '200');
        assert.ok(o.body.equals(Buffer.from(bodies[i] as Buffer).reverse()), `call ${i} body`);
      });
      assert.ok(maxActive <= 2, `node saw ${maxActive} concurrent streams`);
      // Once the limit is known, extra streams visibly wait for a slot.
      const more = bodies.slice(0, 4).map((body) => {
        const call = conn.request(requestHeaders('/more'));
        const done = collect(call);
        pump(call, body, 16 * 1024);
        return { call, done };
      });
      assert.deepEqual(
        more.map((m) => m.call.id === 0),
        [false, false, true, true],
      );
      for (const m of more) assert.equal((await m.done).err, undefined);
    } finally {
      conn.destroy();
      await node.close();
    }
  });
});

describe('H2Connection flow control across streams', () => {
  test('connection windows of 65 535 both ways: 10 concurrent 200 KiB echoes complete', async () => {
    const window = { connectionWindow: 65_535, streamWindow: 65_535 };
    const served = await serve(echo, window);
    const conn = dial(served.port, window);
    try {
      const bodies = Array.from({ length: 10 }, () => randomBytes(200 * 1024));
      const calls = bodies.map((body, i) => {
        const call = conn.request(requestHeaders(`/small/${i}`));
        const done = collect(call);
        pump(call, body, CHUNK);
        return done;
      });
      for (const [i, outcome] of (await Promise.all(calls)).entries())
        assertEchoed(outcome, `/small/${i}`, bodies[i] as Buffer);
    } finally {
      conn.destroy();
      await served.close();
    }
  });

  test('a paused stream holds back only itself: another stream on the connection moves 5 MiB', async () => {
    const served = await serve(echo);
    const conn = dial(served.port);
    try {
      const stalled = conn.request(requestHeaders('/stalled'));
      const stalledDone = collect(stalled);
      stalled.onHeaders = () => stalled.pause();
      let stalledBytes = 0;
      stalled.onData = (c) => {
        stalledBytes += c.length;
      };
      stalled.end(randomBytes(3 * MiB));
      await until(() => stalledBytes > 0, 'the paused stream to receive');
      const body = randomBytes(5 * MiB);
      const other = conn.request(requestHeaders('/other'));
      const otherDone = collect(other);
      pump(other, body, CHUNK);
      assertEchoed(await otherDone, '/other', body);
      assert.ok(stalledBytes <= MiB, `the paused stream got ${stalledBytes} bytes`);
      assert.equal(stalled.closed, false);
      stalled.resume();
      const outcome = await stalledDone;
      assert.equal(outcome.err, undefined);
      assert.equal(stalledBytes, 3 * MiB);
    } finally {
      conn.destroy();
      await served.close();
    }
  });
});
