/**
 * The output side of our HTTP/2 connection (sidecar/api/internal/h2/frame-writer.ts): a tick's
 * frames leave in one socket write, in order; large DATA payloads go to the socket as they are
 * (not copied), with the socket corked so the batch still leaves together; nothing is written
 * after close().
 */
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { describe, test } from 'node:test';
import { FrameWriter } from '../../sidecar/api/internal/h2/frame-writer.js';
import {
  ErrorCode,
  Flag,
  FRAME_HEADER_BYTES,
  FrameReader,
  FrameType,
  rstStreamFrame,
  windowUpdateFrame,
} from '../../sidecar/api/internal/h2/frames.js';

/** A socket stand-in that records writes and cork state. */
class FakeSocket {
  readonly writes: { chunk: Buffer; corked: boolean }[] = [];
  corks = 0;
  uncorks = 0;
  #corked = 0;
  #callbacks: (() => void)[] = [];

  cork(): void {
    this.corks++;
    this.#corked++;
  }
  uncork(): void {
    this.uncorks++;
    if (this.#corked > 0) this.#corked--;
  }
  write(chunk: Buffer, cb?: () => void): boolean {
    this.writes.push({ chunk, corked: this.#corked > 0 });
    if (cb !== undefined) this.#callbacks.push(cb);
    return true;
  }
  /** Reports every write so far done. */
  complete(): void {
    for (const cb of this.#callbacks.splice(0)) cb();
  }
  /** Everything written, as frames. */
  frames(): { type: number; flags: number; id: number; payload: Buffer }[] {
    const out: { type: number; flags: number; id: number; payload: Buffer }[] = [];
    new FrameReader(1 << 20, false).push(
      Buffer.concat(this.writes.map((w) => w.chunk)),
      (type, flags, id, payload) => out.push({ type, flags, id, payload: Buffer.from(payload) }),
    );
    return out;
  }
}

const tick = (): Promise<void> => new Promise((resolve) => process.nextTick(resolve));

function writerOn(): { socket: FakeSocket; writer: FrameWriter } {
  const socket = new FakeSocket();
  return { socket, writer: new FrameWriter(socket as unknown as Socket) };
}

describe('FrameWriter', () => {
  test('frames written in one tick leave in one socket write on the next tick, in order', async () => {
    const { socket, writer } = writerOn();
    const block = Buffer.from([0x82, 0x86, 0x84]);
    writer.headers(1, block, false);
    writer.data(1, Buffer.from('hello'), Flag.END_STREAM);
    writer.windowUpdate(0, 1000);
    writer.rstStream(3, ErrorCode.CANCEL);
    writer.write(windowUpdateFrame(5, 7));
    assert.equal(socket.writes.length, 0, 'nothing before the tick ends');
    await tick();
    assert.equal(socket.writes.length, 1);
    const frames = socket.frames();
    assert.deepEqual(
      frames.map((f) => [f.type, f.flags, f.id]),
      [
        [FrameType.HEADERS, Flag.END_HEADERS, 1],
        [FrameType.DATA, Flag.END_STREAM, 1],
        [FrameType.WINDOW_UPDATE, 0, 0],
        [FrameType.RST_STREAM, 0, 3],
        [FrameType.WINDOW_UPDATE, 0, 5],
      ],
    );
    assert.deepEqual(frames[0]?.payload, block);
    assert.equal(frames[1]?.payload.toString(), 'hello');
    assert.deepEqual(frames[3]?.payload, rstStreamFrame(3, ErrorCode.CANCEL).subarray(FRAME_HEADER_BYTES));
    assert.equal(frames[4]?.payload.readUInt32BE(0), 7);
  });

  test('a large DATA payload is written as it is, corked with the rest of its batch', async () => {
    const { socket, writer } = writerOn();
    const big = Buffer.alloc(20_000, 7);
    writer.headers(1, Buffer.from([0x82]), false);
    writer.data(1, big, 0);
    writer.data(1, Buffer.from('tail'), Flag.END_STREAM);
    await tick();
    assert.ok(
      socket.writes.some((w) => w.chunk === big),
      'the payload itself went to the socket',
    );
    assert.ok(
      socket.writes.every((w) => w.corked),
      'every chunk of the batch was written corked',
    );
    assert.equal(socket.corks, socket.uncorks);
    const frames = socket.frames();
    assert.deepEqual(
      frames.map((f) => [f.type, f.payload.length]),
      [
        [FrameType.HEADERS, 1],
        [FrameType.DATA, 20_000],
        [FrameType.DATA, 4],
      ],
    );
  });

  test('many frames in one tick fill several batch buffers without losing or reordering any', async () => {
    const { socket, writer } = writerOn();
    const n = 5000;
    for (let i = 0; i < n; i++) writer.data(2 * i + 1, Buffer.from([i & 0xff, (i >> 8) & 0xff]), 0);
    await tick();
    const frames = socket.frames();
    assert.equal(frames.length, n);
    frames.forEach((f, i) => {
      assert.equal(f.id, 2 * i + 1);
      assert.deepEqual([...f.payload], [i & 0xff, (i >> 8) & 0xff]);
    });
    assert.equal(socket.corks, socket.uncorks);
  });

  test('writing is true while an earlier tick’s batch is not written yet', async () => {
    const { socket, writer } = writerOn();
    writer.windowUpdate(0, 1);
    assert.equal(writer.writing, false, 'the open batch does not count');
    await tick();
    assert.equal(writer.writing, true);
    socket.complete();
    assert.equal(writer.writing, false);
  });

  test('flushNow writes the queue at once; nothing is written after close()', async () => {
    const { socket, writer } = writerOn();
    writer.windowUpdate(0, 1);
    writer.flushNow();
    assert.equal(socket.writes.length, 1);
    writer.close();
    writer.windowUpdate(0, 2);
    writer.data(1, Buffer.from('x'), 0);
    await tick();
    assert.equal(socket.writes.length, 1);
  });
});
