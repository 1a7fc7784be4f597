/**
 * HPACK against nghttp2 (node:http2) over raw TCP: our decoder reads a node:http2 client's
 * header blocks (dynamic table and Huffman included), and a node:http2 client accepts the
 * response headers our encoder produces.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http2 from 'node:http2';
import net from 'node:net';
import { describe, test } from 'node:test';
import { type HeaderField, HpackDecoder, HpackEncoder } from '../../sidecar/api/internal/h2/hpack.js';

const FRAME_HEADERS = 0x1;
const FRAME_SETTINGS = 0x4;
const FRAME_CONTINUATION = 0x9;
const FLAG_END_STREAM = 0x1;
const FLAG_ACK = 0x1;
const FLAG_END_HEADERS = 0x4;
const FLAG_PADDED = 0x8;
const FLAG_PRIORITY = 0x20;
const PREFACE_LENGTH = 24;

interface Frame {
  readonly type: number;
  readonly flags: number;
  readonly streamId: number;
  readonly payload: Buffer;
}

function encodeFrame(type: number, flags: number, streamId: number, payload: Uint8Array): Buffer {
  const header = Buffer.alloc(9);
  header.writeUIntBE(payload.length, 0, 3);
  header[3] = type;
  header[4] = flags;
  header.writeUInt32BE(streamId, 5);
  return Buffer.concat([header, payload]);
}

/** Splits a client's byte stream (connection preface first) into frames. */
class ClientFrameReader {
  #pending = Buffer.alloc(0);
  #prefaceSeen = false;

  push(chunk: Buffer): Frame[] {
    this.#pending = Buffer.concat([this.#pending, chunk]);
    if (!this.#prefaceSeen) {
      if (this.#pending.length < PREFACE_LENGTH) return [];
      assert.equal(
        this.#pending.subarray(0, PREFACE_LENGTH).toString('latin1'),
        'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n',
      );
      this.#pending = this.#pending.subarray(PREFACE_LENGTH);
      this.#prefaceSeen = true;
    }
    const frames: Frame[] = [];
    while (this.#pending.length >= 9) {
      const length = this.#pending.readUIntBE(0, 3);
      if (this.#pending.length < 9 + length) break;
      frames.push({
        type: this.#pending[3]!,
        flags: this.#pending[4]!,
        streamId: this.#pending.readUInt32BE(5) & 0x7fffffff,
        payload: this.#pending.subarray(9, 9 + length),
      });
      this.#pending = this.#pending.subarray(9 + length);
    }
    return frames;
  }
}

/** Collects complete header blocks (HEADERS + CONTINUATION payloads) from client frames. */
class HeaderBlockAssembler {
  #parts: Buffer[] | undefined;
  #streamId = 0;

  /** Returns [streamId, block] when `frame` completes a header block. */
  push(frame: Frame): [number, Buffer] | undefined {
    if (frame.type === FRAME_HEADERS) {
      let payload = frame.payload;
      let padding = 0;
      if ((frame.flags & FLAG_PADDED) !== 0) {
        padding = payload[0]!;
        payload = payload.subarray(1);
      }
      if ((frame.flags & FLAG_PRIORITY) !== 0) payload = payload.subarray(5);
      this.#parts = [payload.subarray(0, payload.length - padding)];
      this.#streamId = frame.streamId;
    } else if (frame.type === FRAME_CONTINUATION) {
      assert.ok(this.#parts, 'CONTINUATION without HEADERS');
      assert.equal(frame.streamId, this.#streamId);
      this.#parts.push(frame.payload);
    } else {
      return undefined;
    }
    if ((frame.flags & FLAG_END_HEADERS) === 0) return undefined;
    const block = Buffer.concat(this.#parts);
    this.#parts = undefined;
    return [this.#streamId, block];
  }
}

/** A raw TCP server that plays the HTTP/2 server side by hand; `onBlock` sees each request header block. */
async function startRawServer(
  onBlock: (socket: net.Socket, streamId: number, block: Buffer) => void,
): Promise<{ port: number; close: () => void }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
    socket.write(encodeFrame(FRAME_SETTINGS, 0, 0, Buffer.alloc(0)));
    const reader = new ClientFrameReader();
    const assembler = new HeaderBlockAssembler();
    socket.on('data', (chunk: Buffer) => {
      for (const frame of reader.push(chunk)) {
        if (frame.type === FRAME_SETTINGS && (frame.flags & FLAG_ACK) === 0) {
          socket.write(encodeFrame(FRAME_SETTINGS, FLAG_ACK, 0, Buffer.alloc(0)));
        }
        const complete = assembler.push(frame);
        if (complete) onBlock(socket, complete[0], complete[1]);
      }
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    close: () => {
      for (const socket of sockets) socket.destroy();
      server.close();
    },
  };
}

/** Sorts fields by name then value so lists can be compared regardless of the peer's ordering. */
function sorted(fields: readonly HeaderField[]): HeaderField[] {
  return [...fields].sort((a, b) => (a[0] === b[0] ? (a[1] < b[1] ? -1 : 1) : a[0] < b[0] ? -1 : 1));
}

describe('interop with nghttp2 (node:http2)', () => {
  test('decodes the header blocks of a node:http2 client, dynamic table and Huffman included', async (t) => {
    const blocks: Buffer[] = [];
    let allReceived!: () => void;
    const received = new Promise<void>((resolve) => {
      allReceived = resolve;
    });
    const server = await startRawServer((_socket, _streamId, block) => {
      blocks.push(block);
      if (blocks.length === 3) allReceived();
    });
    const client = http2.connect(`http://127.0.0.1:${server.port}`);
    client.on('error', () => {});
    t.after(() => {
      client.destroy();
      server.close();
    });

    const longValue =
      'the quick brown fox jumps over the lazy dog while the sidecar forwards service invocations; '.repeat(
        3,
      );
    const requests: [string, string, [string, string][]][] = [
      [
        'GET',
        '/v1.0/invoke/orders/method/list',
        [
          ['dapr-app-id', 'orders'],
          ['x-tenant', 'acme-corporation'],
          ['x-long', longValue],
          ['traceparent', '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'],
        ],
      ],
      [
        'POST',
        '/v1.0/invoke/orders/method/create',
        [
          ['dapr-app-id', 'orders'],
          ['x-tenant', 'acme-corporation'],
          ['x-long', longValue],
          ['content-type', 'application/json'],
          ['x-multi', 'one'],
          ['x-multi', 'two'],
        ],
      ],
      [
        'GET',
        '/v1.0/invoke/orders/method/list',
        [
          ['dapr-app-id', 'orders'],
          ['x-tenant', 'acme-corporation'],
          ['x-long', longValue],
          ['traceparent', '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'],
        ],
      ],
    ];
    for (const [method, path, extra] of requests) {
      const headers: http2.OutgoingHttpHeaders = { ':method': method, ':path': path };
      for (const [name, value] of extra) {
        const previous = headers[name];
        if (previous === undefined) headers[name] = value;
        else headers[name] = Array.isArray(previous) ? [...previous, value] : [String(previous), value];
      }
      const request = client.request(headers, { endStream: true });
      request.on('error', () => {});
    }
    await received;

    const decoder = new HpackDecoder();
    const authority = `127.0.0.1:${server.port}`;
    requests.forEach(([method, path, extra], i) => {
      const fields = decoder.decode(blocks[i]!);
      const expected: HeaderField[] = [
        [':method', method],
        [':path', path],
        [':scheme', 'http'],
        [':authority', authority],
        ...extra,
      ];
      assert.deepEqual(sorted(fields), sorted(expected), `request ${i + 1}`);
      if (i === 0) assert.ok(decoder.tableSize > 0, 'nghttp2 inserted into its dynamic table');
    });
    // Huffman: the first block (empty table, so every value but :method and :scheme is a literal) is
    // shorter than its literal values would be as raw strings.
    const [, firstPath, firstExtra] = requests[0]!;
    const rawValues = [firstPath, authority, ...firstExtra.map(([, value]) => value)].join('').length;
    assert.ok(
      blocks[0]!.length < rawValues,
      `first block is ${blocks[0]!.length} octets, values ${rawValues}`,
    );
    // Dynamic table: the third request repeats the first, so the long value comes from the table
    // (nghttp2 never indexes :path, which stays a literal).
    assert.ok(blocks[2]!.length < 60, `third block is ${blocks[2]!.length} octets`);
  });

  test('a node:http2 client accepts response headers produced by HpackEncoder', async (t) => {
    const encoder = new HpackEncoder();
    const longValue = 'l'.repeat(300);
    const responses = new Map<number, HeaderField[]>([
      [
        1,
        [
          [':status', '200'],
          ['content-type', 'application/grpc'],
          ['x-custom', 'hello-ascii-only-please'],
          ['grpc-encoding', 'identity'],
          ['cache-control', 'no-cache'],
          ['x-long', longValue],
        ],
      ],
      [
        3,
        [
          [':status', '418'],
          ['content-type', 'text/plain'],
          ['x-empty', ''],
        ],
      ],
    ]);
    const requestDecoder = new HpackDecoder();
    const server = await startRawServer((socket, streamId, block) => {
      requestDecoder.decode(block);
      const fields = responses.get(streamId);
      assert.ok(fields, `unexpected stream ${streamId}`);
      socket.write(
        encodeFrame(FRAME_HEADERS, FLAG_END_STREAM | FLAG_END_HEADERS, streamId, encoder.encode(fields)),
      );
    });
    const client = http2.connect(`http://127.0.0.1:${server.port}`);
    client.on('error', () => {});
    t.after(() => {
      client.destroy();
      server.close();
    });

    const receive = async (path: string): Promise<http2.IncomingHttpHeaders> => {
      const request = client.request({ ':path': path }, { endStream: true });
      const [headers] = (await once(request, 'response')) as [http2.IncomingHttpHeaders];
      request.resume();
      await once(request, 'end');
      return headers;
    };
    const first = await receive('/one');
    assert.equal(first[':status'], 200);
    assert.equal(first['content-type'], 'application/grpc');
    assert.equal(first['x-custom'], 'hello-ascii-only-please');
    assert.equal(first['grpc-encoding'], 'identity');
    assert.equal(first['cache-control'], 'no-cache');
    assert.equal(first['x-long'], longValue);
    const second = await receive('/two');
    assert.equal(second[':status'], 418);
    assert.equal(second['content-type'], 'text/plain');
    assert.equal(second['x-empty'], '');
  });
});
