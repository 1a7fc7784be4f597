/**
 * RFC 9113 §5.1 stream states and the §6 frame rules on our HTTP/2 layer, fed raw frames over
 * loopback: frames on idle, half-closed (remote) and closed streams get the reaction the RFC gives
 * for how the stream got there (connection error → GOAWAY, stream error → RST_STREAM, or ignored),
 * malformed PRIORITY, SETTINGS, RST_STREAM and WINDOW_UPDATE frames get their error codes, and after
 * a stream error the other streams of the connection keep working.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  ErrorCode,
  Flag,
  FrameType,
  frame,
  Setting,
  settingsFrame,
  windowUpdateFrame,
} from '../../sidecar/api/internal/h2/frames.js';
import type { H2Stream, H2StreamError } from '../../sidecar/api/internal/h2/stream.js';
import {
  dataFrame,
  dial,
  echo,
  headersFrame,
  RawPeer,
  rawServer,
  requestHeaders,
  type StreamHandler,
  serve,
  until,
} from './h2-harness.js';

const REQ = requestHeaders('/s');
const rst = (id: number, code: number, length = 4): Buffer => {
  const payload = Buffer.alloc(length);
  if (length >= 4) payload.writeUInt32BE(code, 0);
  return frame(FrameType.RST_STREAM, 0, id, payload);
};
const priority = (id: number, dependency: number, length = 5): Buffer => {
  const payload = Buffer.alloc(length);
  if (length >= 4) payload.writeUInt32BE(dependency, 0);
  return frame(FrameType.PRIORITY, 0, id, payload);
};

/** Streams the handler holds open (never answered), with how each closed. */
function holding(): { handler: StreamHandler; streams: H2Stream[]; closes: (H2StreamError | undefined)[] } {
  const streams: H2Stream[] = [];
  const closes: (H2StreamError | undefined)[] = [];
  return {
    streams,
    closes,
    handler: (stream, headers) => {
      if (headers[':path'] === '/echo') {
        echo(stream, headers);
        return;
      }
      streams.push(stream);
      stream.onClose = (err) => closes.push(err);
    },
  };
}

/** Runs `body` with a server using `handler` and a raw client peer connected to it. */
async function withPeer(
  handler: StreamHandler,
  body: (peer: RawPeer) => Promise<void>,
  options: { maxConcurrentStreams?: number } = {},
): Promise<void> {
  const served = await serve(handler, options);
  const peer = await RawPeer.connect(served.port);
  try {
    await body(peer);
  } finally {
    peer.close();
    await served.close();
  }
}

/** Asserts that a new stream `id` still gets its echo on the peer's connection. */
async function stillServes(peer: RawPeer, id: number): Promise<void> {
  peer.send(headersFrame(id, requestHeaders('/echo'), 0), dataFrame(id, 'ok', Flag.END_STREAM));
  assert.equal((await peer.ended(id)).type, FrameType.HEADERS);
  assert.equal(peer.closed, false);
}

describe('H2Connection server: connection errors', () => {
  const cases: { name: string; frames: Buffer[]; code: number }[] = [
    {
      name: 'RST_STREAM on an idle stream',
      frames: [rst(1, ErrorCode.CANCEL)],
      code: ErrorCode.PROTOCOL_ERROR,
    },
    {
      name: 'WINDOW_UPDATE on an idle stream',
      frames: [windowUpdateFrame(1, 100)],
      code: ErrorCode.PROTOCOL_ERROR,
    },
    {
      name: 'RST_STREAM on a server-initiated (even) stream',
      frames: [rst(2, 0)],
      code: ErrorCode.PROTOCOL_ERROR,
    },
    { name: 'PRIORITY on stream 0', frames: [priority(0, 1)], code: ErrorCode.PROTOCOL_ERROR },
    {
      name: 'PRIORITY depending on itself on an idle stream',
      frames: [priority(1, 1)],
      code: ErrorCode.PROTOCOL_ERROR,
    },
    {
      name: 'PRIORITY of 4 octets on an idle stream',
      frames: [priority(1, 0, 4)],
      code: ErrorCode.FRAME_SIZE_ERROR,
    },
    {
      name: 'RST_STREAM of 3 octets',
      frames: [headersFrame(1, REQ, 0), rst(1, 0, 3)],
      code: ErrorCode.FRAME_SIZE_ERROR,
    },
    {
      name: 'a SETTINGS acknowledgement with a payload',
      frames: [frame(FrameType.SETTINGS, Flag.ACK, 0, Buffer.alloc(6))],
      code: ErrorCode.FRAME_SIZE_ERROR,
    },
    {
      name: 'SETTINGS_ENABLE_PUSH of 2',
      frames: [settingsFrame([[Setting.ENABLE_PUSH, 2]])],
      code: ErrorCode.PROTOCOL_ERROR,
    },
    {
      name: 'a stream id lower than one already opened',
      frames: [headersFrame(5, REQ), headersFrame(3, REQ)],
      code: ErrorCode.PROTOCOL_ERROR,
    },
    {
      name: 'DATA with a pad length beyond the frame, on a closed stream',
      frames: [
        headersFrame(1, requestHeaders('/echo')),
        frame(FrameType.DATA, Flag.PADDED | Flag.END_STREAM, 1, Buffer.from([6, 0x54, 0x65, 0x73, 0x74])),
      ],
      code: ErrorCode.PROTOCOL_ERROR,
    },
    {
      name: 'DATA on a stream both sides ended',
      frames: [headersFrame(1, requestHeaders('/echo')), dataFrame(1, 'late', Flag.END_STREAM)],
      code: ErrorCode.STREAM_CLOSED,
    },
    {
      name: 'HEADERS on a stream both sides ended',
      frames: [headersFrame(1, requestHeaders('/echo')), headersFrame(1, requestHeaders('/echo'))],
      code: ErrorCode.STREAM_CLOSED,
    },
    {
      name: 'SETTINGS_INITIAL_WINDOW_SIZE pushing an open stream window above 2^31-1',
      frames: [
        headersFrame(1, REQ, 0),
        windowUpdateFrame(1, 0x7fff_ffff - 65_535),
        settingsFrame([[Setting.INITIAL_WINDOW_SIZE, 65_536]]),
      ],
      code: ErrorCode.FLOW_CONTROL_ERROR,
    },
  ];
  for (const c of cases) {
    test(`${c.name}: GOAWAY(${c.code}) and the connection closes`, async () => {
      // '/echo' is answered as soon as its request ends, within the same read: a frame after it in
      // the same write meets a closed stream.
      await withPeer(holding().handler, async (peer) => {
        peer.send(...c.frames);
        assert.equal(await peer.goaway(), c.code);
      });
    });
  }
});

describe('H2Connection server: stream errors and ignored frames', () => {
  test('DATA after END_STREAM on a half-closed (remote) stream: RST_STREAM(STREAM_CLOSED), the handler sees it', async () => {
    const hold = holding();
    await withPeer(hold.handler, async (peer) => {
      peer.send(headersFrame(1, REQ), dataFrame(1, 'late'));
      assert.equal(await peer.reset(1), ErrorCode.STREAM_CLOSED);
      assert.equal(hold.closes[0]?.code, 'ERR_H2_PROTOCOL_ERROR');
      assert.equal(hold.closes[0]?.h2code, ErrorCode.STREAM_CLOSED);
      await stillServes(peer, 3);
    });
  });

  test('HEADERS after END_STREAM on a half-closed (remote) stream: RST_STREAM(STREAM_CLOSED)', async () => {
    const hold = holding();
    await withPeer(hold.handler, async (peer) => {
      peer.send(headersFrame(1, REQ), headersFrame(1, [['x-t', '1']]));
      assert.equal(await peer.reset(1), ErrorCode.STREAM_CLOSED);
      await stillServes(peer, 3);
    });
  });

  test('DATA or HEADERS after the peer reset the stream: RST_STREAM(STREAM_CLOSED) each', async () => {
    const hold = holding();
    await withPeer(hold.handler, async (peer) => {
      peer.send(headersFrame(1, REQ, 0), rst(1, ErrorCode.CANCEL), dataFrame(1, 'late'));
      assert.equal(await peer.reset(1), ErrorCode.STREAM_CLOSED);
      assert.equal(hold.closes[0]?.code, 'ERR_H2_STREAM_RESET');
      const seen = peer.frames.length;
      peer.send(headersFrame(1, [['x-t', '1']]));
      await peer.next('a second RST_STREAM', (f) => f.type === FrameType.RST_STREAM && f.id === 1, seen);
      await stillServes(peer, 3);
    });
  });

  test('frames on a stream we reset are ignored (they may have left before our RST_STREAM)', async () => {
    await withPeer(
      (stream, headers) =>
        headers[':path'] === '/echo' ? echo(stream, headers) : stream.reset(ErrorCode.CANCEL),
      async (peer) => {
        peer.send(headersFrame(1, REQ, 0));
        assert.equal(await peer.reset(1), ErrorCode.CANCEL);
        const seen = peer.frames.length;
        peer.send(
          dataFrame(1, 'in flight'),
          windowUpdateFrame(1, 10),
          headersFrame(1, [['x-t', '1']]),
          rst(1, 0),
        );
        await peer.sync();
        assert.deepEqual(
          peer.frames.slice(seen).map((f) => f.type),
          [FrameType.PING],
        );
        await stillServes(peer, 3);
      },
    );
  });

  test('WINDOW_UPDATE, RST_STREAM and PRIORITY on a stream both sides ended are ignored', async () => {
    await withPeer(echo, async (peer) => {
      peer.send(headersFrame(1, REQ));
      await peer.ended(1);
      const seen = peer.frames.length;
      peer.send(windowUpdateFrame(1, 10), priority(1, 0), rst(1, 0));
      await peer.sync();
      assert.deepEqual(
        peer.frames.slice(seen).map((f) => f.type),
        [FrameType.PING],
      );
    });
  });

  test('a stream beyond our SETTINGS_MAX_CONCURRENT_STREAMS: RST_STREAM(REFUSED_STREAM), the open ones go on', async () => {
    const hold = holding();
    await withPeer(
      hold.handler,
      async (peer) => {
        peer.send(headersFrame(1, REQ, 0), headersFrame(3, REQ, 0), headersFrame(5, REQ, 0));
        assert.equal(await peer.reset(5), ErrorCode.REFUSED_STREAM);
        assert.equal(hold.streams.length, 2);
        hold.streams[0]?.sendHeaders([[':status', '200']], true);
        await peer.ended(1);
        await stillServes(peer, 7);
      },
      { maxConcurrentStreams: 2 },
    );
  });

  const streamCases: { name: string; frame: Buffer; code: number }[] = [
    {
      name: 'WINDOW_UPDATE with increment 0',
      frame: windowUpdateFrame(1, 0),
      code: ErrorCode.PROTOCOL_ERROR,
    },
    { name: 'PRIORITY of 4 octets', frame: priority(1, 0, 4), code: ErrorCode.FRAME_SIZE_ERROR },
    { name: 'PRIORITY depending on itself', frame: priority(1, 1), code: ErrorCode.PROTOCOL_ERROR },
  ];
  for (const c of streamCases) {
    test(`${c.name} on an open stream: RST_STREAM(${c.code})`, async () => {
      const hold = holding();
      await withPeer(hold.handler, async (peer) => {
        peer.send(headersFrame(1, REQ, 0), c.frame);
        assert.equal(await peer.reset(1), c.code);
        assert.equal(hold.closes[0]?.h2code, c.code);
        await stillServes(peer, 3);
      });
    });
  }

  test('WINDOW_UPDATEs taking a stream window above 2^31-1: RST_STREAM(FLOW_CONTROL_ERROR)', async () => {
    const hold = holding();
    await withPeer(hold.handler, async (peer) => {
      peer.send(
        headersFrame(1, REQ, 0),
        windowUpdateFrame(1, 0x7fff_ffff),
        windowUpdateFrame(1, 0x7fff_ffff),
      );
      assert.equal(await peer.reset(1), ErrorCode.FLOW_CONTROL_ERROR);
      await stillServes(peer, 3);
    });
  });

  test('a valid PRIORITY on an idle stream is ignored, and that stream can open later', async () => {
    await withPeer(echo, async (peer) => {
      peer.send(priority(3, 0));
      await stillServes(peer, 3);
    });
  });
});

describe('H2Connection server: drainRequest', () => {
  test('a complete early response reads the request to its end instead of resetting it', async () => {
    const closes: (H2StreamError | undefined)[] = [];
    await withPeer(
      (stream) => {
        stream.drainRequest = true;
        stream.onClose = (err) => closes.push(err);
        stream.sendHeaders([[':status', '415']]);
        stream.end(Buffer.from('no'));
      },
      async (peer) => {
        peer.send(headersFrame(1, REQ, 0));
        await peer.ended(1);
        // 40 KB more of request body: accepted (and credited), not reset.
        for (let i = 0; i < 10; i++) peer.send(dataFrame(1, Buffer.alloc(4096)));
        peer.send(dataFrame(1, 'end', Flag.END_STREAM));
        await peer.sync();
        await until(() => closes.length === 1, 'the stream to close');
        assert.deepEqual(closes, [undefined]);
        assert.equal(
          peer.frames.find((f) => f.type === FrameType.RST_STREAM),
          undefined,
        );
      },
    );
  });
});

describe('H2Connection client: what it receives follows the same rules', () => {
  /** A client connection to a raw server; `body` drives the server side. */
  async function withServerPeer(body: (peer: RawPeer, stream: H2Stream) => Promise<void>): Promise<void> {
    const server = await rawServer();
    const conn = dial(server.port);
    try {
      const stream = conn.request(REQ);
      await until(() => server.peers.length === 1, 'the connection');
      const peer = server.peers[0] as RawPeer;
      await peer.next('the request', (f) => f.type === FrameType.HEADERS && f.id === 1);
      await body(peer, stream);
    } finally {
      conn.destroy();
      await server.close();
    }
  }

  test('SETTINGS_ENABLE_PUSH of 1 from a server: GOAWAY(PROTOCOL_ERROR)', async () => {
    await withServerPeer(async (peer) => {
      peer.send(settingsFrame([[Setting.ENABLE_PUSH, 1]]));
      assert.equal(await peer.goaway(), ErrorCode.PROTOCOL_ERROR);
    });
  });

  test('DATA after the response ended the stream: GOAWAY(STREAM_CLOSED)', async () => {
    await withServerPeer(async (peer, stream) => {
      const closed = new Promise((resolve) => {
        stream.onClose = resolve;
      });
      stream.end();
      peer.send(headersFrame(1, [[':status', '200']]));
      await closed;
      peer.send(dataFrame(1, 'late'));
      assert.equal(await peer.goaway(), ErrorCode.STREAM_CLOSED);
    });
  });

  test('HEADERS on a stream the client never opened: GOAWAY(PROTOCOL_ERROR)', async () => {
    await withServerPeer(async (peer) => {
      peer.send(headersFrame(2, [[':status', '200']]));
      assert.equal(await peer.goaway(), ErrorCode.PROTOCOL_ERROR);
    });
  });
});
