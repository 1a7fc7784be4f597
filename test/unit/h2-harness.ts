/**
 * Shared helpers of the HTTP/2 connection tests (h2-*.test.ts): loopback servers carrying our
 * server role, client dialling, collecting what a stream saw, an echo handler, a writer that
 * honours `write()`/`onDrain`, a frame parser for raw-byte tests, and `RawPeer`, either end of a
 * connection driven frame by frame.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import tls from 'node:tls';
import { H2Connection, type H2ConnectionOptions } from '../../sidecar/api/internal/h2/connection.js';
import {
  CLIENT_PREFACE,
  Flag,
  FRAME_HEADER_BYTES,
  FrameType,
  frame,
  settingsFrame,
} from '../../sidecar/api/internal/h2/frames.js';
import { type HeaderField, HpackEncoder } from '../../sidecar/api/internal/h2/hpack.js';
import type { H2Stream, H2StreamError, HeaderMap } from '../../sidecar/api/internal/h2/stream.js';

/** What a server-role connection does with a new stream. */
export type StreamHandler = (stream: H2Stream, headers: HeaderMap) => void;

/** Connection options other than the role and the handler. */
export type TuningOptions = Omit<H2ConnectionOptions, 'role' | 'onStream'>;

/** A listening server whose sockets each carry one server-role H2Connection. */
export interface Served {
  readonly port: number;
  /** Every server-side connection, in accept order. */
  readonly conns: H2Connection[];
  /** Destroys every connection and socket and waits for the server to close. */
  close(): Promise<void>;
}

/** Listens on a free loopback port (`server` defaults to a plain net server). */
export async function serve(
  onStream: StreamHandler,
  options: TuningOptions = {},
  server: net.Server = net.createServer(),
): Promise<Served> {
  const conns: H2Connection[] = [];
  const sockets = new Set<net.Socket>();
  server.on(server instanceof tls.Server ? 'secureConnection' : 'connection', (socket: net.Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    conns.push(new H2Connection(socket, { ...options, role: 'server', onStream }));
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

/** A client-role connection to 127.0.0.1:`port`. */
export function dial(port: number, options: TuningOptions = {}): H2Connection {
  return new H2Connection(net.connect({ port, host: '127.0.0.1', noDelay: true }), {
    ...options,
    role: 'client',
  });
}

/** POST request headers for `path`. */
export function requestHeaders(path: string, authority = 'test', extra: HeaderField[] = []): HeaderField[] {
  return [[':method', 'POST'], [':scheme', 'http'], [':path', path], [':authority', authority], ...extra];
}

/** Everything a stream saw until onClose. */
export interface Outcome {
  readonly heads: { headers: HeaderMap; endStream: boolean }[];
  readonly body: Buffer;
  readonly ended: boolean;
  readonly err: H2StreamError | undefined;
}

/** Sets the stream's callbacks and resolves at onClose. */
export function collect(stream: H2Stream): Promise<Outcome> {
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
export const echo: StreamHandler = (stream, headers) => {
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

/** Asserts `outcome` is `echo`'s answer to `body` sent to `path`. */
export function assertEchoed(outcome: Outcome, path: string, body: Buffer): void {
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

/** One request through a fresh client connection (proves the server still serves). */
export async function roundTrip(port: number, path: string, body: Buffer): Promise<Outcome> {
  const conn = dial(port);
  try {
    const stream = conn.request(requestHeaders(path));
    const done = collect(stream);
    stream.end(body);
    return await done;
  } finally {
    conn.destroy();
  }
}

/** Writes `body` in `chunk`-sized writes, waiting for onDrain whenever write() says so, then ends. */
export function pump(
  stream: H2Stream,
  body: Buffer,
  chunk: number,
  trailers?: HeaderField[],
): { readonly accepted: () => number } {
  let at = 0;
  const next = (): void => {
    while (at < body.length) {
      const part = body.subarray(at, at + chunk);
      at += part.length;
      if (!stream.write(part)) return; // onDrain resumes
    }
    stream.end(undefined, trailers);
  };
  stream.onDrain = next;
  next();
  return { accepted: () => at };
}

/** Resolves after `ms`. */
export async function sleep(ms: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `cond`; fails (instead of hanging) when it does not hold within 10 s. */
export async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 2000; i++) {
    if (cond()) return;
    await sleep(5);
  }
  assert.fail(`timed out waiting for ${what}`);
}

/** One frame read back from raw bytes. */
export interface RawFrame {
  readonly type: number;
  readonly flags: number;
  readonly id: number;
  readonly payload: Buffer;
}

/** Cuts `bytes` into frames (a trailing partial frame is left out). */
export function parseFrames(bytes: Buffer): RawFrame[] {
  const frames: RawFrame[] = [];
  let at = 0;
  while (bytes.length - at >= FRAME_HEADER_BYTES) {
    const length = bytes.readUIntBE(at, 3);
    if (bytes.length - at < FRAME_HEADER_BYTES + length) break;
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

/**
 * One side of an HTTP/2 connection driven by hand: frames are written as raw bytes and what the
 * other side sends is cut into frames as it arrives. A client-side peer writes the preface and an
 * empty SETTINGS first; a server-side peer (from `rawServer`) skips the client preface it reads.
 */
export class RawPeer {
  /** Every frame received so far, in order. */
  readonly frames: RawFrame[] = [];
  readonly socket: net.Socket;
  #pending = Buffer.alloc(0);
  #prefaceLeft: number;
  #closed = false;

  /** Wraps a connected socket. */
  constructor(socket: net.Socket, readsPreface: boolean) {
    this.socket = socket;
    this.#prefaceLeft = readsPreface ? CLIENT_PREFACE.length : 0;
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('error', () => {}); // a reset after a GOAWAY is fine: the frames are what matter
    socket.on('close', () => {
      this.#closed = true;
    });
  }

  /** A client-side peer connected to 127.0.0.1:`port`, preface and SETTINGS (`settings`) written. */
  static async connect(port: number, settings: readonly [number, number][] = []): Promise<RawPeer> {
    const socket = net.connect({ port, host: '127.0.0.1', noDelay: true });
    await once(socket, 'connect');
    const peer = new RawPeer(socket, false);
    peer.send(CLIENT_PREFACE, settingsFrame(settings));
    return peer;
  }

  /** Whether the other side closed the connection. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Writes frames. */
  send(...frames: Buffer[]): void {
    this.socket.write(Buffer.concat(frames));
  }

  /** Waits for a frame after the first `from` received that matches `match`, and returns it. */
  async next(what: string, match: (f: RawFrame) => boolean, from = 0): Promise<RawFrame> {
    let found: RawFrame | undefined;
    await until(() => {
      found = this.frames.slice(from).find(match);
      return found !== undefined || this.#closed;
    }, what);
    found ??= this.frames.slice(from).find(match);
    if (found === undefined)
      assert.fail(`connection closed before ${what}; received ${describeFrames(this.frames)}`);
    return found;
  }

  /** Waits for RST_STREAM on `id` and returns its error code. */
  async reset(id: number): Promise<number> {
    const f = await this.next(
      `RST_STREAM on stream ${id}`,
      (x) => x.type === FrameType.RST_STREAM && x.id === id,
    );
    return f.payload.readUInt32BE(0);
  }

  /** Waits for GOAWAY, then for the socket to close; returns the GOAWAY's error code. */
  async goaway(): Promise<number> {
    const f = await this.next('GOAWAY', (x) => x.type === FrameType.GOAWAY);
    await until(() => this.#closed, 'the connection to close after GOAWAY');
    return f.payload.readUInt32BE(4);
  }

  /** Waits for a frame ending stream `id` (HEADERS or DATA with END_STREAM). */
  async ended(id: number): Promise<RawFrame> {
    return this.next(
      `END_STREAM on stream ${id}`,
      (x) =>
        x.id === id &&
        (x.type === FrameType.HEADERS || x.type === FrameType.DATA) &&
        (x.flags & Flag.END_STREAM) !== 0,
    );
  }

  /** Sends a PING and waits for its ACK: every frame sent before it has been processed. */
  async sync(): Promise<void> {
    const data = Buffer.alloc(8);
    data.writeUInt32BE(this.frames.length, 4);
    this.send(frame(FrameType.PING, 0, 0, data));
    await this.next('PING ACK', (x) => x.type === FrameType.PING && x.payload.equals(data));
  }

  /** Ends the socket. */
  close(): void {
    this.socket.destroy();
  }

  #onData(chunk: Buffer): void {
    let bytes = chunk;
    if (this.#prefaceLeft > 0) {
      const n = Math.min(this.#prefaceLeft, bytes.length);
      this.#prefaceLeft -= n;
      bytes = bytes.subarray(n);
    }
    this.#pending = Buffer.concat([this.#pending, bytes]);
    const frames = parseFrames(this.#pending);
    let used = 0;
    for (const f of frames) used += FRAME_HEADER_BYTES + f.payload.length;
    // parseFrames' payloads are views: copy before the buffer is reused.
    for (const f of frames) this.frames.push({ ...f, payload: Buffer.from(f.payload) });
    this.#pending = this.#pending.subarray(used);
  }
}

/** Frame types and stream ids, for failure messages. */
export function describeFrames(frames: readonly RawFrame[]): string {
  return frames.map((f) => `${f.type}/${f.flags}@${f.id}`).join(' ') || 'nothing';
}

/** A HEADERS frame carrying `fields` (HPACK without the dynamic table), END_HEADERS plus `flags`. */
export function headersFrame(
  id: number,
  fields: readonly HeaderField[],
  flags: number = Flag.END_STREAM,
): Buffer {
  return frame(FrameType.HEADERS, flags | Flag.END_HEADERS, id, new HpackEncoder().encode(fields));
}

/** A DATA frame. */
export function dataFrame(id: number, data: string | Buffer, flags = 0): Buffer {
  return frame(FrameType.DATA, flags, id, Buffer.isBuffer(data) ? data : Buffer.from(data));
}

/** A listening server whose connections are driven by hand, each as a server-side `RawPeer`. */
export async function rawServer(): Promise<{ port: number; peers: RawPeer[]; close(): Promise<void> }> {
  const peers: RawPeer[] = [];
  const server = net.createServer({ noDelay: true }, (socket) => {
    const peer = new RawPeer(socket, true);
    peer.send(settingsFrame([]));
    peers.push(peer);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as net.AddressInfo).port,
    peers,
    async close() {
      for (const p of peers) p.close();
      server.close();
      await once(server, 'close');
    },
  };
}
