/**
 * Behaviour of our HTTP/2 connection (sidecar/api/internal/h2/) between our own client and server
 * over real loopback sockets: many concurrent streams, request trailers, TLS with ALPN, resets and
 * errors, graceful GOAWAY. Raw frames are in h2-wire.test.ts; flow control and node:http2 interop
 * in h2-flow-control.test.ts.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import net from 'node:net';
import { describe, test } from 'node:test';
import tls from 'node:tls';
import { H2Connection } from '../../sidecar/api/internal/h2/connection.js';
import { ErrorCode } from '../../sidecar/api/internal/h2/frames.js';
import type { H2Stream, H2StreamError } from '../../sidecar/api/internal/h2/stream.js';
import { createTestCertificateAuthority } from '../env/pki.js';
import {
  assertEchoed,
  collect,
  dial,
  echo,
  type Outcome,
  requestHeaders,
  serve,
  until,
} from './h2-harness.js';

describe('H2Connection: our client and our server', () => {
  test('200 concurrent streams on one connection each get their own body back, then trailers', async () => {
    const served = await serve(echo);
    const conn = dial(served.port);
    try {
      const bodies = Array.from({ length: 200 }, (_, i) =>
        Buffer.from(`stream ${i}:`.repeat(1 + ((i * 37) % 500))),
      );
      const outcomes = bodies.map((body, i) => {
        const stream = conn.request(requestHeaders(`/echo/${i}`));
        const done = collect(stream);
        // Half in one end(), half as two writes: both paths of the stream API.
        if (i % 2 === 0) stream.end(body);
        else {
          assert.equal(stream.write(body.subarray(0, 5)), true);
          stream.end(body.subarray(5));
        }
        return done;
      });
      assert.equal(conn.activeStreams, 200);
      const results = await Promise.all(outcomes);
      for (const [i, r] of results.entries()) assertEchoed(r, `/echo/${i}`, bodies[i] as Buffer);
      assert.equal(conn.activeStreams, 0);
      assert.equal(served.conns.length, 1, 'one connection carried every stream');
      assert.equal(served.conns[0]?.activeStreams, 0);
    } finally {
      conn.destroy();
      await served.close();
    }
  });

  test('request trailers reach the server as onHeaders(endStream = true)', async () => {
    const served = await serve((stream) => {
      const chunks: Buffer[] = [];
      stream.onData = (c) => chunks.push(c);
      stream.onHeaders = (trailers, endStream) => {
        assert.equal(endStream, true);
        stream.sendHeaders([[':status', '200']]);
        stream.end(Buffer.concat(chunks), [
          ['grpc-status', '0'],
          ['x-seen', `${trailers['x-checksum']}/${Object.keys(trailers).join(',')}`],
        ]);
      };
    });
    const conn = dial(served.port);
    try {
      const stream = conn.request(requestHeaders('/trailers'));
      const done = collect(stream);
      stream.write(Buffer.from('payload, '));
      stream.end(Buffer.from('then trailers'), [['x-checksum', 'abc']]);
      const outcome = await done;
      assert.equal(outcome.err, undefined, outcome.err?.message);
      assert.equal(outcome.body.toString(), 'payload, then trailers');
      assert.deepEqual(outcome.heads.at(-1), {
        headers: { 'grpc-status': '0', 'x-seen': 'abc/x-checksum' },
        endStream: true,
      });
    } finally {
      conn.destroy();
      await served.close();
    }
  });

  test("the server's maxConcurrentStreams queues the extra client streams; a queued one can be reset", async () => {
    const open: H2Stream[] = [];
    const served = await serve(
      (stream, headers) => {
        open.push(stream);
        echo(stream, headers);
      },
      { maxConcurrentStreams: 2 },
    );
    const conn = dial(served.port);
    try {
      assertEchoed(await collectEnded(conn, '/warm-up', Buffer.from('w')), '/warm-up', Buffer.from('w'));
      // The limit is known now: the third and fourth streams wait for a slot.
      const paths = ['/a', '/b', '/c', '/d'];
      const streams = paths.map((path) => conn.request(requestHeaders(path)));
      const outcomes = streams.map((s) => collect(s));
      assert.deepEqual(
        streams.map((s) => s.id === 0),
        [false, false, true, true],
      );
      assert.equal(conn.activeStreams, 4);
      (streams[2] as H2Stream).reset();
      const cancelled = await outcomes[2];
      assert.equal(cancelled?.err?.code, 'ERR_H2_CANCELLED');
      assert.equal(conn.activeStreams, 3);
      // The queued one takes more than write()'s high-water mark: onDrain comes once it runs.
      const bodies = [Buffer.from('body 0'), Buffer.from('body 1'), undefined, randomBytes(300 * 1024)];
      for (const i of [0, 1]) streams[i]?.end(bodies[i]);
      const queued = streams[3] as H2Stream;
      let drained = 0;
      queued.onDrain = () => {
        drained++;
        queued.end();
      };
      assert.equal(queued.write(bodies[3] as Buffer), false, 'over the high-water mark');
      for (const i of [0, 1, 3]) {
        const outcome = await (outcomes[i] as Promise<Outcome>);
        assertEchoed(outcome, paths[i] as string, bodies[i] as Buffer);
      }
      assert.equal(drained, 1);
      assert.equal(open.length, 4, 'the reset stream never reached the server');
      assert.equal(conn.activeStreams, 0);
    } finally {
      conn.destroy();
      await served.close();
    }
  });

  test("streams requested before the server's SETTINGS wait for them, and a reset does not start the rest", async () => {
    const served = await serve(echo);
    const conn = dial(served.port);
    try {
      const [a, b] = [conn.request(requestHeaders('/a')), conn.request(requestHeaders('/b'))] as const;
      const [aDone, bDone] = [collect(a), collect(b)];
      assert.deepEqual([a.id, b.id], [0, 0], 'not started before the SETTINGS');
      a.reset();
      assert.equal((await aDone).err?.code, 'ERR_H2_CANCELLED');
      assert.equal(b.id, 0, 'still waiting for the SETTINGS');
      b.end(Buffer.from('b'));
      assertEchoed(await bDone, '/b', Buffer.from('b'));
      assert.equal(b.id, 1, 'the reset stream never took an id');
    } finally {
      conn.destroy();
      await served.close();
    }
  });

  test('TLS with ALPN h2 carries a 1 MiB echo and its trailers', async () => {
    const ca = createTestCertificateAuthority('h2 test CA');
    const leaf = ca.issue({ commonName: 'localhost', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
    const served = await serve(
      echo,
      {},
      tls.createServer({ key: leaf.keyPem, cert: leaf.certPem, ALPNProtocols: ['h2'] }),
    );
    const socket = tls.connect({
      host: '127.0.0.1',
      port: served.port,
      servername: 'localhost',
      ca: ca.certPem,
      ALPNProtocols: ['h2'],
    });
    const conn = new H2Connection(socket, { role: 'client' });
    try {
      const body = Buffer.alloc(1 << 20);
      for (let i = 0; i < body.length; i++) body[i] = (i * 7 + (i >>> 12)) & 0xff;
      const stream = conn.request(requestHeaders('/tls'));
      const done = collect(stream);
      stream.end(body);
      assertEchoed(await done, '/tls', body);
      assert.equal(socket.alpnProtocol, 'h2');
      assert.equal(socket.authorized, true);
      // A client that does not trust the server's CA: the handshake error reaches the stream.
      const untrusting = new H2Connection(
        tls.connect({ host: '127.0.0.1', port: served.port, servername: 'localhost', ALPNProtocols: ['h2'] }),
        { role: 'client' },
      );
      const rejected = untrusting.request(requestHeaders('/tls'));
      const outcome = await collect(rejected);
      assert.equal(outcome.err?.code, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE');
      assert.equal(untrusting.destroyed, true);
    } finally {
      conn.destroy();
      await served.close();
    }
  });
});

/** One echo request on `conn`, ended at once. */
function collectEnded(conn: H2Connection, path: string, body: Buffer): Promise<Outcome> {
  const stream = conn.request(requestHeaders(path));
  const done = collect(stream);
  stream.end(body);
  return done;
}

describe('H2Connection: resets and errors', () => {
  test('a client reset mid-request reaches the server stream as CANCEL', async () => {
    let serverClosed!: (err: H2StreamError | undefined) => void;
    const serverErr = new Promise<H2StreamError | undefined>((resolve) => {
      serverClosed = resolve;
    });
    let firstData!: () => void;
    const gotData = new Promise<void>((resolve) => {
      firstData = resolve;
    });
    const served = await serve((stream, headers) => {
      if (headers[':path'] !== '/reset') return echo(stream, headers);
      stream.onData = () => firstData();
      stream.onClose = serverClosed;
    });
    const conn = dial(served.port);
    try {
      const stream = conn.request(requestHeaders('/reset'));
      const done = collect(stream);
      stream.write(Buffer.alloc(1000, 1));
      await gotData;
      stream.reset();
      const client = await done;
      assert.equal(client.err?.code, 'ERR_H2_CANCELLED');
      assert.equal(client.err?.h2code, ErrorCode.CANCEL);
      const err = await serverErr;
      assert.equal(err?.code, 'ERR_H2_STREAM_RESET');
      assert.equal(err?.h2code, ErrorCode.CANCEL);
      assert.equal(stream.write(Buffer.from('late')), false, 'a reset stream accepts no more data');
      // The connection itself is unaffected.
      const next = conn.request(requestHeaders('/after-reset'));
      const after = collect(next);
      next.end(Buffer.from('still fine'));
      assertEchoed(await after, '/after-reset', Buffer.from('still fine'));
    } finally {
      conn.destroy();
      await served.close();
    }
  });

  test('a complete response before the request body ended closes the client stream cleanly', async () => {
    const served = await serve((stream, headers) => {
      if (headers[':path'] === '/trailers-only') {
        stream.sendHeaders(
          [
            [':status', '200'],
            ['grpc-status', '5'],
            ['grpc-message', 'not found'],
          ],
          true,
        );
        return;
      }
      stream.onData = () => {
        stream.sendHeaders([[':status', '200']]);
        stream.end(Buffer.from('early answer'), [['grpc-status', '0']]);
      };
    });
    const conn = dial(served.port);
    try {
      const stream = conn.request(requestHeaders('/early'));
      const done = collect(stream);
      stream.write(Buffer.alloc(100, 2)); // never ended: the server answers anyway
      const outcome = await done;
      assert.equal(outcome.err, undefined, outcome.err?.message);
      assert.equal(outcome.body.toString(), 'early answer');
      assert.equal(outcome.ended, true);
      assert.deepEqual(outcome.heads.at(-1), { headers: { 'grpc-status': '0' }, endStream: true });
      assert.equal(conn.activeStreams, 0);
      assert.equal(conn.usable, true);
      // Trailers-only (a gRPC error) in answer to the HEADERS alone.
      const failing = conn.request(requestHeaders('/trailers-only'));
      const failed = collect(failing);
      failing.write(Buffer.alloc(10));
      const answer = await failed;
      assert.equal(answer.err, undefined, answer.err?.message);
      assert.deepEqual(answer.heads, [
        { headers: { ':status': '200', 'grpc-status': '5', 'grpc-message': 'not found' }, endStream: true },
      ]);
      assert.equal(answer.ended, true);
      assert.equal(answer.body.length, 0);
    } finally {
      conn.destroy();
      await served.close();
    }
  });

  test('connecting to a closed port fails the stream with ECONNREFUSED', async () => {
    const probe = net.createServer().listen(0, '127.0.0.1');
    await once(probe, 'listening');
    const port = (probe.address() as net.AddressInfo).port;
    probe.close();
    await once(probe, 'close');
    const conn = dial(port);
    let connClosed!: (err: Error | undefined) => void;
    const connErr = new Promise<Error | undefined>((resolve) => {
      connClosed = resolve;
    });
    conn.onClose = connClosed;
    const stream = conn.request(requestHeaders('/nobody'));
    const done = collect(stream);
    stream.end(Buffer.from('x'));
    const outcome = await done;
    assert.equal(outcome.err?.code, 'ECONNREFUSED');
    assert.equal(((await connErr) as { code?: string } | undefined)?.code, 'ECONNREFUSED');
    assert.equal(conn.destroyed, true);
    assert.throws(() => conn.request(requestHeaders('/again')), { code: 'ERR_H2_CONNECTION_CLOSED' });
  });

  test("the server's close() lets open streams finish and refuses new ones", async () => {
    const opened: H2Stream[] = [];
    let firstOpened!: () => void;
    const serverHasStream = new Promise<void>((resolve) => {
      firstOpened = resolve;
    });
    const served = await serve((stream, headers) => {
      opened.push(stream);
      echo(stream, headers);
      firstOpened();
    });
    const conn = dial(served.port);
    let goaways = 0;
    conn.onGoaway = () => goaways++;
    const connClosed = new Promise<Error | undefined>((resolve) => {
      conn.onClose = resolve;
    });
    try {
      const open = conn.request(requestHeaders('/open'));
      const openDone = collect(open);
      open.write(Buffer.from('first half, '));
      await serverHasStream;
      const serverConn = served.conns[0] as H2Connection;
      serverConn.close();
      assert.equal(serverConn.usable, false);
      // Sent before the GOAWAY can have arrived: the server must refuse it.
      const racing = conn.request(requestHeaders('/racing'));
      const racingDone = collect(racing);
      racing.end(Buffer.from('too late'));
      const refused = await racingDone;
      assert.equal(refused.err?.code, 'ERR_H2_REFUSED_STREAM');
      assert.equal(refused.err?.h2code, ErrorCode.REFUSED_STREAM);
      await until(() => goaways > 0, 'the GOAWAY');
      assert.equal(conn.usable, false);
      assert.throws(() => conn.request(requestHeaders('/new')), { code: 'ERR_H2_CONNECTION_CLOSED' });
      // The stream that was open goes on to its end.
      open.end(Buffer.from('second half'));
      assertEchoed(await openDone, '/open', Buffer.from('first half, second half'));
      assert.equal(opened.length, 1, 'the refused stream never reached the handler');
      assert.equal(await connClosed, undefined, 'the connection then closes without error');
      assert.equal(goaways, 1);
    } finally {
      conn.destroy();
      await served.close();
    }
  });
  test("the client's close() lets its open stream finish, then both sides close", async () => {
    const served = await serve(echo);
    const conn = dial(served.port);
    const connClosed = new Promise<Error | undefined>((resolve) => {
      conn.onClose = resolve;
    });
    try {
      const open = conn.request(requestHeaders('/closing'));
      const done = collect(open);
      open.write(Buffer.from('before close, '));
      conn.close();
      assert.equal(conn.usable, false);
      assert.throws(() => conn.request(requestHeaders('/new')), { code: 'ERR_H2_CONNECTION_CLOSED' });
      open.end(Buffer.from('after close'));
      assertEchoed(await done, '/closing', Buffer.from('before close, after close'));
      assert.equal(await connClosed, undefined);
      const serverConn = served.conns[0] as H2Connection;
      await until(() => serverConn.destroyed, 'the server side to close');
    } finally {
      conn.destroy();
      await served.close();
    }
  });

  test('a server connection destroyed mid-request fails the client stream as a transport error', async () => {
    let opened!: () => void;
    const serverHasStream = new Promise<void>((resolve) => {
      opened = resolve;
    });
    const served = await serve(() => opened());
    const conn = dial(served.port);
    try {
      const stream = conn.request(requestHeaders('/doomed'));
      const done = collect(stream);
      stream.write(Buffer.from('partial'));
      await serverHasStream;
      (served.conns[0] as H2Connection).destroy();
      const outcome = await done;
      assert.ok(
        ['ERR_H2_CONNECTION_CLOSED', 'ECONNRESET'].includes(outcome.err?.code ?? ''),
        `code ${outcome.err?.code}`,
      );
      assert.equal(conn.destroyed, true);
      assert.equal(conn.usable, false);
    } finally {
      conn.destroy();
      await served.close();
    }
  });
});
