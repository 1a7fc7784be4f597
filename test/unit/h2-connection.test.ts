/**
 * Behaviour of our HTTP/2 connection (sidecar/api/internal/h2/) between our own client and server
 * over real loopback sockets: many concurrent streams, TLS with ALPN, resets and errors, graceful
 * GOAWAY, and malformed input written as raw bytes. Flow control and node:http2 interop are in
 * h2-flow-control.test.ts.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import { describe, test } from 'node:test';
import tls from 'node:tls';
import { H2Connection } from '../../sidecar/api/internal/h2/connection.js';
import {
  CLIENT_PREFACE,
  ErrorCode,
  Flag,
  FRAME_HEADER_BYTES,
  FrameType,
  frame,
  settingsFrame,
  windowUpdateFrame,
  writeFrameHeader,
} from '../../sidecar/api/internal/h2/frames.js';
import type { HeaderField } from '../../sidecar/api/internal/h2/hpack.js';
import type { H2Stream, H2StreamError, HeaderMap } from '../../sidecar/api/internal/h2/stream.js';
import { createTestCertificateAuthority } from '../env/pki.js';

/** A listening server whose sockets each carry one server-role H2Connection. */
interface Served {
  readonly port: number;
  readonly conns: H2Connection[];
  close(): Promise<void>;
}

type StreamHandler = (stream: H2Stream, headers: HeaderMap) => void;

async function serve(onStream: StreamHandler, server: net.Server = net.createServer()): Promise<Served> {
  const conns: H2Connection[] = [];
  const sockets = new Set<net.Socket>();
  server.on(server instanceof tls.Server ? 'secureConnection' : 'connection', (socket: net.Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    conns.push(new H2Connection(socket, { role: 'server', onStream }));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as net.AddressInfo).port,
    conns,
    async close() {
      for (const c of conns) c.destroy();
      for (const s of sockets) s.destroy();
      server.close();
      await once(server, 'close');
    },
  };
}

function dial(port: number): H2Connection {
  return new H2Connection(net.connect({ port, host: '127.0.0.1', noDelay: true }), { role: 'client' });
}

function requestHeaders(path: string, extra: HeaderField[] = []): HeaderField[] {
  return [[':method', 'POST'], [':scheme', 'http'], [':path', path], [':authority', 'test'], ...extra];
}

/** Everything a client stream saw until onClose. */
interface Outcome {
  readonly heads: { headers: HeaderMap; endStream: boolean }[];
  readonly body: Buffer;
  readonly ended: boolean;
  readonly err: H2StreamError | undefined;
}

function collect(stream: H2Stream): Promise<Outcome> {
  const heads: { headers: HeaderMap; endStream: boolean }[] = [];
  const chunks: Buffer[] = [];
  let ended = false;
  return new Promise((resolve) => {
    stream.onHeaders = (headers, endStream) => heads.push({ headers, endStream });
    stream.onData = (c) => chunks.push(c);
    stream.onEnd = () => {
      ended = true;
    };
    stream.onClose = (err) => resolve({ heads, body: Buffer.concat(chunks), ended, err });
  });
}

/** Server handler: answers every request with its body, an `x-path` header and gRPC trailers. */
const echo: StreamHandler = (stream, headers) => {
  const chunks: Buffer[] = [];
  stream.onData = (c) => chunks.push(c);
  stream.onEnd = () => {
    stream.sendHeaders([
      [':status', '200'],
      ['x-path', headers[':path'] ?? ''],
    ]);
    stream.end(Buffer.concat(chunks), [
      ['grpc-status', '0'],
      ['x-length', String(chunks.reduce((n, c) => n + c.length, 0))],
    ]);
  };
};

/** One request through a fresh client connection: proves the server still serves. */
async function roundTrip(port: number, body: Buffer): Promise<Outcome> {
  const conn = dial(port);
  try {
    const stream = conn.request(requestHeaders('/ping'));
    const done = collect(stream);
    stream.end(body);
    return await done;
  } finally {
    conn.destroy();
  }
}

function assertEchoed(outcome: Outcome, path: string, body: Buffer): void {
  assert.equal(outcome.err, undefined, `${path}: ${outcome.err?.message}`);
  assert.equal(outcome.heads.length, 2, path);
  assert.equal(outcome.heads[0]?.headers[':status'], '200');
  assert.equal(outcome.heads[0]?.headers['x-path'], path);
  assert.equal(outcome.heads[0]?.endStream, false);
  assert.deepEqual(outcome.heads[1], {
    headers: { 'grpc-status': '0', 'x-length': String(body.length) },
    endStream: true,
  });
  assert.ok(outcome.body.equals(body), `${path}: body differs`);
  assert.equal(outcome.ended, true);
}

async function sleep(ms: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `cond`; fails (instead of hanging) when it does not hold within 10 s. */
async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 2000; i++) {
    if (cond()) return;
    await sleep(5);
  }
  assert.fail(`timed out waiting for ${what}`);
}

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

  test('TLS with ALPN h2 carries a 1 MiB echo and its trailers', async () => {
    const ca = createTestCertificateAuthority('h2 test CA');
    const leaf = ca.issue({ commonName: 'localhost', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
    const served = await serve(
      echo,
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
    } finally {
      conn.destroy();
      await served.close();
    }
  });
});

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
    const served = await serve((stream) => {
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
});

/** Parsed frames of a byte stream the server wrote. */
function parseFrames(bytes: Buffer): { type: number; flags: number; id: number; payload: Buffer }[] {
  const frames: { type: number; flags: number; id: number; payload: Buffer }[] = [];
  let at = 0;
  while (bytes.length - at >= FRAME_HEADER_BYTES) {
    const length = bytes.readUIntBE(at, 3);
    const payload = bytes.subarray(at + FRAME_HEADER_BYTES, at + FRAME_HEADER_BYTES + length);
    frames.push({
      type: bytes[at + 3] as number,
      flags: bytes[at + 4] as number,
      id: bytes.readUInt32BE(at + 5),
      payload,
    });
    at += FRAME_HEADER_BYTES + length;
  }
  return frames;
}

/** Writes `bytes` to the server and returns all it sent back until it closed the socket. */
async function rawExchange(port: number, bytes: Buffer): Promise<Buffer> {
  const socket = net.connect({ port, host: '127.0.0.1' });
  const received: Buffer[] = [];
  socket.on('data', (c: Buffer) => received.push(c));
  socket.on('error', () => {}); // a reset after the GOAWAY is fine: the bytes are what matters
  socket.write(bytes);
  try {
    await once(socket, 'close');
  } finally {
    socket.destroy();
  }
  return Buffer.concat(received);
}

/** A valid preface and SETTINGS followed by `frames`. */
function afterPreface(...frames: Buffer[]): Buffer {
  return Buffer.concat([CLIENT_PREFACE, settingsFrame([]), ...frames]);
}

describe('H2Connection: malformed input ends the connection with GOAWAY', () => {
  const oversized = Buffer.alloc(FRAME_HEADER_BYTES + 16);
  writeFrameHeader(oversized, 0, 300 * 1024, FrameType.DATA, 0, 1);
  const cases: { name: string; bytes: Buffer; code: number }[] = [
    {
      name: 'a bad client preface',
      bytes: Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'),
      code: ErrorCode.PROTOCOL_ERROR,
    },
    {
      name: 'a frame larger than our SETTINGS_MAX_FRAME_SIZE',
      bytes: afterPreface(oversized),
      code: ErrorCode.FRAME_SIZE_ERROR,
    },
    {
      name: 'DATA on stream 0',
      bytes: afterPreface(frame(FrameType.DATA, 0, 0, Buffer.from('hello'))),
      code: ErrorCode.PROTOCOL_ERROR,
    },
    {
      name: 'HEADERS with a garbage HPACK block',
      // 0xff... is an indexed field whose index never ends (and then is out of range).
      bytes: afterPreface(
        frame(
          FrameType.HEADERS,
          Flag.END_HEADERS | Flag.END_STREAM,
          1,
          Buffer.from([0xbf, 0xff, 0xff, 0x7f]),
        ),
      ),
      code: ErrorCode.COMPRESSION_ERROR,
    },
    {
      name: 'a WINDOW_UPDATE that overflows the connection window',
      bytes: afterPreface(windowUpdateFrame(0, 0x7fff_ffff)),
      code: ErrorCode.FLOW_CONTROL_ERROR,
    },
  ];
  for (const c of cases) {
    test(`${c.name}: GOAWAY ${c.code}, socket closed, server still serving`, async () => {
      const served = await serve(echo);
      try {
        const reply = await rawExchange(served.port, c.bytes);
        const frames = parseFrames(reply);
        const goaway = frames.find((f) => f.type === FrameType.GOAWAY);
        assert.ok(goaway !== undefined, `no GOAWAY among ${frames.map((f) => f.type).join(',')}`);
        assert.equal(goaway.id, 0);
        assert.equal(goaway.payload.readUInt32BE(4), c.code, goaway.payload.subarray(8).toString());
        assert.equal(frames.at(-1), goaway, 'GOAWAY is the last frame');
        assert.equal(served.conns[0]?.destroyed, true);
        const body = Buffer.from(`after ${c.name}`);
        assertEchoed(await roundTrip(served.port, body), '/ping', body);
      } finally {
        await served.close();
      }
    });
  }
});
