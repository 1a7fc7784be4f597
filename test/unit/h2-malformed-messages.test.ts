/**
 * RFC 9113 §8.1–8.3 on our HTTP/2 layer, fed raw frames over loopback: a malformed request or
 * response (field names and values, pseudo-headers, connection-specific fields, content-length,
 * trailers) is a stream error of type PROTOCOL_ERROR: RST_STREAM on that stream, the handler never
 * sees it (or sees its stream fail), and the connection goes on serving other streams.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { H2Connection } from '../../sidecar/api/internal/h2/connection.js';
import { ErrorCode, Flag, FrameType, frame } from '../../sidecar/api/internal/h2/frames.js';
import { type HeaderField, HpackEncoder } from '../../sidecar/api/internal/h2/hpack.js';
import type { H2StreamError, HeaderMap } from '../../sidecar/api/internal/h2/stream.js';
import {
  collect,
  dataFrame,
  dial,
  echo,
  headersFrame,
  type Outcome,
  RawPeer,
  rawServer,
  requestHeaders,
  type StreamHandler,
  serve,
  until,
} from './h2-harness.js';

const GET: HeaderField[] = [
  [':method', 'GET'],
  [':scheme', 'http'],
  [':path', '/x'],
  [':authority', 'test'],
];

/** A handler that records what reached it and answers like `echo`. */
function recording(): { handler: StreamHandler; seen: HeaderMap[]; errors: (H2StreamError | undefined)[] } {
  const seen: HeaderMap[] = [];
  const errors: (H2StreamError | undefined)[] = [];
  return {
    seen,
    errors,
    handler: (stream, headers) => {
      seen.push(headers);
      echo(stream, headers);
      stream.onClose = (err) => errors.push(err);
    },
  };
}

/** A request with an empty body; resolves with what its stream saw. */
function ask(conn: H2Connection, path: string): Promise<Outcome> {
  const stream = conn.request(requestHeaders(path));
  const outcome = collect(stream);
  stream.end();
  return outcome;
}

/** Asserts that stream 3 still gets a full answer on the peer's connection. */
async function stillServes(peer: RawPeer): Promise<void> {
  peer.send(headersFrame(3, requestHeaders('/after'), 0), dataFrame(3, 'ok', Flag.END_STREAM));
  const end = await peer.ended(3);
  assert.equal(end.type, FrameType.HEADERS, 'trailers end the echo');
  assert.equal(peer.closed, false);
}

describe('H2Connection server: malformed request headers are a stream error', () => {
  const cases: { name: string; fields: HeaderField[]; flags?: number }[] = [
    { name: 'an uppercase field name', fields: [...GET, ['X-Test', 'ok']] },
    { name: 'a space in a field name', fields: [...GET, ['x test', 'ok']] },
    { name: 'a colon inside a regular field name', fields: [...GET, ['x:test', 'ok']] },
    { name: 'an empty field name', fields: [...GET, ['', 'ok']] },
    { name: 'CR LF in a field value', fields: [...GET, ['x-test', 'a\r\nx-injected: 1']] },
    { name: 'NUL in a field value', fields: [...GET, ['x-test', 'a\0b']] },
    { name: 'a control character in a field value', fields: [...GET, ['x-test', 'a\x01b']] },
    { name: 'DEL in a field value', fields: [...GET, ['x-test', 'a\x7fb']] },
    { name: 'an unknown pseudo-header', fields: [...GET, [':test', 'ok']] },
    { name: 'a response pseudo-header', fields: [...GET, [':status', '200']] },
    { name: 'a pseudo-header after a regular field', fields: [['x-test', 'ok'], ...GET] },
    { name: 'a duplicated :path', fields: [...GET, [':path', '/y']] },
    { name: 'a duplicated :method', fields: [[':method', 'GET'], ...GET] },
    { name: 'no :method', fields: GET.slice(1) },
    { name: 'no :scheme', fields: GET.filter(([n]) => n !== ':scheme') },
    { name: 'no :path', fields: GET.filter(([n]) => n !== ':path') },
    { name: 'an empty :path', fields: GET.map(([n, v]): HeaderField => [n, n === ':path' ? '' : v]) },
    { name: 'a connection field', fields: [...GET, ['connection', 'keep-alive']] },
    { name: 'a keep-alive field', fields: [...GET, ['keep-alive', 'timeout=5']] },
    { name: 'a proxy-connection field', fields: [...GET, ['proxy-connection', 'close']] },
    { name: 'a transfer-encoding field', fields: [...GET, ['transfer-encoding', 'chunked']] },
    { name: 'an upgrade field', fields: [...GET, ['upgrade', 'h2c']] },
    { name: 'te other than "trailers"', fields: [...GET, ['te', 'trailers, deflate']] },
    { name: 'a content-length that is not a number', fields: [...GET, ['content-length', '1x']] },
    { name: 'a content-length on a request without DATA', fields: [...GET, ['content-length', '3']] },
    { name: 'CONNECT with a :path', fields: [[':method', 'CONNECT'], ...GET.slice(1)] },
    // A HEADERS frame whose priority names its own stream (RFC 9113 §5.3.1).
    { name: 'a stream depending on itself', fields: GET, flags: Flag.END_STREAM | Flag.PRIORITY },
  ];
  for (const c of cases) {
    test(`${c.name}: RST_STREAM(PROTOCOL_ERROR), the handler never runs, stream 3 still served`, async () => {
      const rec = recording();
      const served = await serve(rec.handler);
      const peer = await RawPeer.connect(served.port);
      try {
        if (c.flags !== undefined && (c.flags & Flag.PRIORITY) !== 0) {
          const block = new HpackEncoder().encode(c.fields);
          // Exclusive bit clear, dependency = 1 (the stream itself), weight 16.
          const priority = Buffer.from([0, 0, 0, 1, 15]);
          peer.send(
            frame(FrameType.HEADERS, c.flags | Flag.END_HEADERS, 1, Buffer.concat([priority, block])),
          );
        } else peer.send(headersFrame(1, c.fields));
        assert.equal(await peer.reset(1), ErrorCode.PROTOCOL_ERROR);
        await stillServes(peer);
        assert.deepEqual(
          rec.seen.map((h) => h[':path']),
          ['/after'],
        );
      } finally {
        peer.close();
        await served.close();
      }
    });
  }

  test('valid unusual fields pass: te "trailers", tchar names, spaces and tabs, empty values, a matching content-length', async () => {
    const rec = recording();
    const served = await serve(rec.handler);
    const peer = await RawPeer.connect(served.port);
    try {
      peer.send(
        headersFrame(
          1,
          [
            ...requestHeaders('/fine'),
            ['te', 'trailers'],
            ["x-a.b_c~!#$%&'*+^`|", 'v'],
            ['x-inner', 'a b\tc'],
            // Not rejected, as grpc-go does not: its peers send e.g. a grpc-message ending in a space.
            ['x-edges', ' v\t'],
            ['x-empty', ''],
            ['content-length', '5'],
          ],
          0,
        ),
        dataFrame(1, 'hel'),
        dataFrame(1, 'lo', Flag.END_STREAM),
      );
      const end = await peer.ended(1);
      assert.equal(end.type, FrameType.HEADERS);
      assert.equal(rec.seen[0]?.['x-inner'], 'a b\tc');
      assert.equal(rec.seen[0]?.['x-edges'], ' v\t');
      assert.deepEqual(rec.errors, [undefined]);
      assert.equal(
        peer.frames.find((f) => f.type === FrameType.RST_STREAM && f.payload.readUInt32BE(0) !== 0),
        undefined,
      );
    } finally {
      peer.close();
      await served.close();
    }
  });
});

describe('H2Connection server: the request body and trailers follow the rules too', () => {
  const cases: { name: string; frames: Buffer[] }[] = [
    {
      name: 'more DATA than content-length',
      frames: [headersFrame(1, [...requestHeaders('/x'), ['content-length', '1']], 0), dataFrame(1, 'test')],
    },
    {
      name: 'less DATA than content-length at END_STREAM',
      frames: [
        headersFrame(1, [...requestHeaders('/x'), ['content-length', '8']], 0),
        dataFrame(1, 'test', Flag.END_STREAM),
      ],
    },
    {
      name: 'less DATA than content-length when trailers end the request',
      frames: [
        headersFrame(1, [...requestHeaders('/x'), ['content-length', '8']], 0),
        dataFrame(1, 'test'),
        headersFrame(1, [['x-t', '1']]),
      ],
    },
    {
      name: 'trailers without END_STREAM',
      frames: [
        headersFrame(1, requestHeaders('/x'), 0),
        dataFrame(1, 'test'),
        headersFrame(1, [['x-t', '1']], 0),
      ],
    },
    {
      name: 'a pseudo-header in trailers',
      frames: [
        headersFrame(1, requestHeaders('/x'), 0),
        dataFrame(1, 'test'),
        headersFrame(1, [[':method', 'POST']]),
      ],
    },
    {
      name: 'an uppercase name in trailers',
      frames: [headersFrame(1, requestHeaders('/x'), 0), headersFrame(1, [['X-T', '1']])],
    },
  ];
  for (const c of cases) {
    test(`${c.name}: RST_STREAM(PROTOCOL_ERROR), the handler's stream fails, stream 3 still served`, async () => {
      const rec = recording();
      const served = await serve(rec.handler);
      const peer = await RawPeer.connect(served.port);
      try {
        peer.send(...c.frames);
        assert.equal(await peer.reset(1), ErrorCode.PROTOCOL_ERROR);
        await stillServes(peer);
        assert.equal(rec.errors[0]?.code, 'ERR_H2_PROTOCOL_ERROR');
        assert.equal(rec.errors[0]?.h2code, ErrorCode.PROTOCOL_ERROR);
        assert.equal(rec.errors[1], undefined);
      } finally {
        peer.close();
        await served.close();
      }
    });
  }
});

describe('H2Connection client: a malformed response is a stream error', () => {
  const STATUS: HeaderField = [':status', '200'];
  const cases: { name: string; frames: (id: number) => Buffer[] }[] = [
    { name: 'an uppercase field name', frames: (id) => [headersFrame(id, [STATUS, ['X-A', '1']])] },
    { name: 'no :status', frames: (id) => [headersFrame(id, [['x-a', '1']])] },
    { name: 'a :status that is not 3 digits', frames: (id) => [headersFrame(id, [[':status', '2000']])] },
    { name: 'a request pseudo-header', frames: (id) => [headersFrame(id, [STATUS, [':path', '/']])] },
    { name: 'a duplicated :status', frames: (id) => [headersFrame(id, [STATUS, STATUS])] },
    { name: 'a te field', frames: (id) => [headersFrame(id, [STATUS, ['te', 'trailers']])] },
    { name: 'a connection field', frames: (id) => [headersFrame(id, [STATUS, ['connection', 'close']])] },
    {
      name: 'an informational status with END_STREAM',
      frames: (id) => [headersFrame(id, [[':status', '103']])],
    },
    {
      name: 'DATA longer than content-length',
      frames: (id) => [
        headersFrame(id, [STATUS, ['content-length', '2']], 0),
        dataFrame(id, 'abc', Flag.END_STREAM),
      ],
    },
    {
      name: 'trailers without END_STREAM',
      frames: (id) => [headersFrame(id, [STATUS], 0), headersFrame(id, [['grpc-status', '0']], 0)],
    },
    {
      name: 'a pseudo-header in trailers',
      frames: (id) => [headersFrame(id, [STATUS], 0), headersFrame(id, [STATUS])],
    },
  ];
  for (const c of cases) {
    test(`${c.name}: RST_STREAM(PROTOCOL_ERROR), ERR_H2_PROTOCOL_ERROR, the next stream works`, async () => {
      const server = await rawServer();
      const conn = dial(server.port);
      try {
        const first = ask(conn, '/bad');
        const second = ask(conn, '/good');
        await until(() => server.peers.length === 1, 'the connection');
        const peer = server.peers[0] as RawPeer;
        await peer.next('both requests', (f) => f.type === FrameType.HEADERS && f.id === 3);
        peer.send(...c.frames(1));
        const bad = await first;
        assert.equal(bad.err?.code, 'ERR_H2_PROTOCOL_ERROR', bad.err?.message);
        assert.equal(bad.err?.h2code, ErrorCode.PROTOCOL_ERROR);
        assert.equal(await peer.reset(1), ErrorCode.PROTOCOL_ERROR);
        peer.send(
          headersFrame(3, [STATUS], 0),
          dataFrame(3, 'fine'),
          headersFrame(3, [['grpc-status', '0']]),
        );
        const good = await second;
        assert.equal(good.err, undefined);
        assert.equal(good.body.toString(), 'fine');
        assert.equal(conn.destroyed, false);
      } finally {
        conn.destroy();
        await server.close();
      }
    });
  }

  test('an informational response before the final one is skipped', async () => {
    const server = await rawServer();
    const conn = dial(server.port);
    try {
      const outcome = ask(conn, '/x');
      await until(() => server.peers.length === 1, 'the connection');
      const peer = server.peers[0] as RawPeer;
      await peer.next('the request', (f) => f.type === FrameType.HEADERS && f.id === 1);
      peer.send(
        headersFrame(1, [[':status', '100']], 0),
        headersFrame(
          1,
          [
            [':status', '200'],
            ['content-length', '2'],
          ],
          0,
        ),
        dataFrame(1, 'ok', Flag.END_STREAM),
      );
      const res = await outcome;
      assert.equal(res.err, undefined);
      assert.deepEqual(
        res.heads.map((h) => h.headers[':status']),
        ['200'],
      );
      assert.equal(res.body.toString(), 'ok');
    } finally {
      conn.destroy();
      await server.close();
    }
  });
});
