/**
 * Shared helpers of the HTTP/2 connection tests (h2-*.test.ts): loopback servers carrying our
 * server role, client dialling, collecting what a stream saw, an echo handler, a writer that
 * honours `write()`/`onDrain`, and a frame parser for raw-byte tests.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import tls from 'node:tls';
import { H2Connection, type H2ConnectionOptions } from '../../sidecar/api/internal/h2/connection.js';
import { FRAME_HEADER_BYTES } from '../../sidecar/api/internal/h2/frames.js';
import type { HeaderField } from '../../sidecar/api/internal/h2/hpack.js';
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
