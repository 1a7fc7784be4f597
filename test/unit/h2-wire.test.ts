/**
 * Our HTTP/2 server role (sidecar/api/internal/h2/connection.ts) fed raw bytes over loopback:
 * valid but unusual framing (PING, padding, PRIORITY, CONTINUATION, unknown frame types) is
 * understood; malformed input ends the connection with a GOAWAY carrying the right error code,
 * and the server goes on accepting connections.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import { describe, test } from 'node:test';
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
import { HpackDecoder, HpackEncoder } from '../../sidecar/api/internal/h2/hpack.js';
import { assertEchoed, echo, parseFrames, requestHeaders, roundTrip, serve, until } from './h2-harness.js';

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
    {
      name: 'another frame inside a header block (HEADERS without END_HEADERS, then PING)',
      bytes: afterPreface(
        frame(FrameType.HEADERS, 0, 1, new HpackEncoder().encode(requestHeaders('/x'))),
        frame(FrameType.PING, 0, 0, Buffer.alloc(8)),
      ),
      code: ErrorCode.PROTOCOL_ERROR,
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
        assertEchoed(await roundTrip(served.port, '/ping', body), '/ping', body);
      } finally {
        await served.close();
      }
    });
  }
});

describe('H2Connection: unusual but valid framing', () => {
  test('PING, PRIORITY, unknown frames, padded HEADERS + CONTINUATION and padded DATA', async () => {
    const served = await serve(echo);
    const socket = net.connect({ port: served.port, host: '127.0.0.1' });
    const received: Buffer[] = [];
    socket.on('data', (c: Buffer) => received.push(c));
    try {
      const block = new HpackEncoder().encode(requestHeaders('/raw', 'test', [['x-note', 'n'.repeat(40)]]));
      const half = block.length >> 1;
      const pad = 7;
      // PADDED | PRIORITY: pad length, 5 priority octets, the first half of the block, padding.
      const headers = Buffer.concat([
        Buffer.from([pad, 0, 0, 0, 0, 16]),
        block.subarray(0, half),
        Buffer.alloc(pad),
      ]);
      const ping = Buffer.from('pingpong');
      socket.write(
        Buffer.concat([
          CLIENT_PREFACE,
          settingsFrame([]),
          frame(FrameType.PING, 0, 0, ping),
          frame(0xfa, 0, 0, Buffer.from('unknown frame type: ignored')),
          frame(FrameType.HEADERS, Flag.PADDED | Flag.PRIORITY, 1, headers),
          frame(FrameType.CONTINUATION, Flag.END_HEADERS, 1, block.subarray(half)),
          frame(FrameType.PRIORITY, 0, 1, Buffer.from([0, 0, 0, 0, 32])),
          frame(
            FrameType.DATA,
            Flag.PADDED,
            1,
            Buffer.concat([Buffer.from([10]), Buffer.from('hello '), Buffer.alloc(10)]),
          ),
          frame(
            FrameType.DATA,
            Flag.PADDED | Flag.END_STREAM,
            1,
            Buffer.concat([Buffer.from([0]), Buffer.from('world')]),
          ),
        ]),
      );
      const isTrailers = (f: { type: number; flags: number; id: number }): boolean =>
        f.type === FrameType.HEADERS && f.id === 1 && (f.flags & Flag.END_STREAM) !== 0;
      await until(() => parseFrames(Buffer.concat(received)).some(isTrailers), 'the response trailers');
      const frames = parseFrames(Buffer.concat(received));
      assert.equal(frames[0]?.type, FrameType.SETTINGS, 'the server preface is a SETTINGS frame');
      const pong = frames.find((f) => f.type === FrameType.PING);
      assert.equal(pong?.flags, Flag.ACK);
      assert.deepEqual(pong?.payload, ping);
      assert.equal(
        frames.find((f) => f.type === FrameType.GOAWAY),
        undefined,
      );
      const decoder = new HpackDecoder();
      const stream1 = frames.filter((f) => f.id === 1);
      const heads = stream1.filter((f) => f.type === FrameType.HEADERS).map((f) => decoder.decode(f.payload));
      assert.deepEqual(heads, [
        [
          [':status', '200'],
          ['x-path', '/raw'],
        ],
        [
          ['grpc-status', '0'],
          ['x-length', '11'],
        ],
      ]);
      const data = stream1.filter((f) => f.type === FrameType.DATA).map((f) => f.payload);
      assert.equal(Buffer.concat(data).toString(), 'hello world');
      assert.equal(served.conns[0]?.destroyed, false);
      assert.equal(served.conns[0]?.activeStreams, 0);
    } finally {
      socket.destroy();
      await served.close();
    }
  });
});
