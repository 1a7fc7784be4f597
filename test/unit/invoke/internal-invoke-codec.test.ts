import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  decodeInvokeRequest,
  decodeRequestChunk,
  decodeResponseChunk,
  encodeInvokeRequest,
  encodeRequestChunk,
  encodeResponseChunk,
} from '../../../sidecar/api/internal/invoke-messages.js';
import { ProtoDecodeError, ProtoWriter } from '../../../sidecar/api/internal/proto-wire.js';

/**
 * The internal invocation messages keep Dapr's field numbers. The expected bytes are hand-encoded
 * from dapr/proto/internals/v1/service_invocation.proto and common/v1/common.proto.
 */

describe('internal invocation messages', () => {
  it("encodes InternalInvokeRequest with Dapr's field numbers", () => {
    const buf = encodeInvokeRequest(
      { method: 'm', verb: 'POST', query: 'q', contentType: 't', metadata: { k: ['v'] } },
      Buffer.from('B'),
    );
    const expected = Buffer.from([
      0x08,
      0x01, // ver = V1
      0x12,
      0x08,
      0x0a,
      0x01,
      0x6b,
      0x12,
      0x03,
      0x0a,
      0x01,
      0x76, // metadata {k: [v]}
      0x1a,
      0x12, // message
      0x0a,
      0x01,
      0x6d, // method
      0x12,
      0x03,
      0x12,
      0x01,
      0x42, // data Any {value}
      0x1a,
      0x01,
      0x74, // content_type
      0x22,
      0x05,
      0x08,
      0x03,
      0x12,
      0x01,
      0x71, // http_extension {verb POST=3, querystring}
    ]);
    assert.deepEqual(buf, expected);
    const back = decodeInvokeRequest(buf);
    assert.deepEqual(back.head, {
      method: 'm',
      verb: 'POST',
      query: 'q',
      contentType: 't',
      metadata: { k: ['v'] },
    });
    assert.equal(back.body.toString(), 'B');
  });

  it('round-trips stream chunks with head, payload and sequence numbers', () => {
    const head = { method: 'a/b', verb: 'GET', query: '', contentType: '', metadata: { 'x-a': ['1', '2'] } };
    const first = decodeRequestChunk(encodeRequestChunk({ head, data: Buffer.from('hello'), seq: 0 }));
    assert.deepEqual(first.head, head);
    assert.equal(first.data?.toString(), 'hello');
    const later = decodeRequestChunk(encodeRequestChunk({ data: Buffer.alloc(200_000, 1), seq: 300 }));
    assert.equal(later.head, undefined);
    assert.equal(later.seq, 300);
    assert.equal(later.data?.length, 200_000);
    const res = decodeResponseChunk(
      encodeResponseChunk({
        head: { status: 418, message: '', headers: { 'set-cookie': ['a', 'b'] }, contentType: 'text/plain' },
      }),
    );
    assert.deepEqual(res.head, {
      status: 418,
      message: '',
      details: [],
      headers: { 'set-cookie': ['a', 'b'] },
      contentType: 'text/plain',
    });
    // A gRPC app's status travels with its error details (Status.details).
    const detail = {
      typeUrl: 'type.googleapis.com/google.rpc.ErrorInfo',
      value: Buffer.from([0x0a, 0x01, 0x52]),
    };
    const failed = decodeResponseChunk(
      encodeResponseChunk({
        head: { status: 3, message: 'bad', details: [detail], headers: {}, contentType: '' },
      }),
    );
    assert.equal(failed.head?.status, 3);
    assert.deepEqual(failed.head?.details, [detail]);
    assert.equal(failed.head?.trailers, undefined);
    // ...and with its trailers (InternalInvokeResponse.trailers, field 3).
    const trailed = encodeResponseChunk({
      head: {
        status: 0,
        message: '',
        headers: {},
        trailers: { 'x-t': ['1'], 'x-b-bin': ['AQI='] },
        contentType: '',
      },
    });
    assert.deepEqual(decodeResponseChunk(trailed).head?.trailers, { 'x-t': ['1'], 'x-b-bin': ['AQI='] });
  });

  it('appends the values of a key repeated across metadata entries, and keeps an entry without values', () => {
    const w = new ProtoWriter();
    w.uint(1, 1);
    for (const [k, vs] of [
      ['x-a', ['1']],
      ['x-b', []],
      ['x-a', ['2', '3']],
      ['x-a', []],
    ] as const) {
      const e = w.begin(2);
      w.string(1, k);
      const list = w.begin(2);
      for (const v of vs) w.stringAlways(1, v);
      w.end(list);
      w.end(e);
    }
    w.nested(3, (m) => m.string(1, 'm'));
    const { head, body } = decodeInvokeRequest(w.finish());
    assert.deepEqual(head.metadata, { 'x-a': ['1', '2', '3'], 'x-b': [] });
    assert.equal(head.method, 'm');
    assert.equal(body.length, 0);
  });

  it('takes the last payload of a chunk, and its sequence number with it', () => {
    const w = new ProtoWriter();
    w.nested(2, (p) => p.bytes(1, Buffer.from('a')).uint(2, 7));
    w.nested(2, (p) => p.bytes(1, Buffer.from('b')));
    const chunk = decodeRequestChunk(w.finish());
    assert.equal(chunk.data?.toString(), 'b');
    assert.equal(chunk.seq, 0);
    // A streamed head's inline body is not a chunk's data.
    const inline = encodeInvokeRequest(
      { method: 'm', verb: 'POST', query: '', contentType: '', metadata: {} },
      Buffer.from('x'),
    );
    const hw = new ProtoWriter();
    hw.bytes(1, inline);
    assert.deepEqual(decodeRequestChunk(hw.finish()), {
      head: { method: 'm', verb: 'POST', query: '', contentType: '', metadata: {} },
    });
    const plain = { method: 'n', verb: 'GET', query: 'a=1', contentType: 'text/plain', metadata: {} };
    assert.deepEqual(decodeInvokeRequest(encodeInvokeRequest(plain)), { head: plain, body: Buffer.alloc(0) });
  });

  it('reads metadata strings right when they repeat, collide in the recent-string table, or are not ASCII', () => {
    const head = (metadata: Record<string, string[]>) => ({
      method: 'm',
      verb: 'POST',
      query: '',
      contentType: '',
      metadata,
    });
    // 'Aa' and 'BB' hash alike; the rest mixes UTF-8, empty and long values.
    const rounds = [
      { Aa: ['BB', 'Aa'], 'x-u': ['é日本'], e: [''] },
      { BB: ['Aa'], 'x-u': ['ascii'], e: ['x'.repeat(60)] },
      { Aa: ['BB', 'Aa'], 'x-u': ['é日本'], e: [''] },
    ];
    for (let i = 0; i < 2; i++)
      for (const md of rounds) {
        const back = decodeRequestChunk(encodeRequestChunk({ head: head(md) }));
        assert.deepEqual(back.head?.metadata, md);
      }
  });

  it('refuses a nested field that runs past its enclosing message', () => {
    // metadata entry of 4 bytes whose key claims 10
    const bad = Buffer.from([0x12, 0x04, 0x0a, 0x0a, 0x61, 0x62, 0x1a, 0x00]);
    assert.throws(() => decodeInvokeRequest(bad), ProtoDecodeError);
    assert.throws(() => decodeRequestChunk(Buffer.from([0x0a, 0x03, 0x12, 0x05, 0x0a])), ProtoDecodeError);
  });
});
