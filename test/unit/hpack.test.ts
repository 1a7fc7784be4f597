import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  type HeaderField,
  HpackDecoder,
  HpackEncoder,
  HpackError,
} from '../../sidecar/api/internal/h2/hpack.js';
import {
  huffmanDecode,
  huffmanEncode,
  huffmanEncodedLength,
  huffmanMaxDecodedLength,
} from '../../sidecar/api/internal/h2/huffman.js';

/** Bytes from the RFC's hex dumps (whitespace ignored). */
function hex(text: string): Buffer {
  return Buffer.from(text.replace(/\s+/g, ''), 'hex');
}

/**
 * Asserts the dynamic table holds `newestFirst` and has `size` octets. Contents are read back through
 * the decoder itself: an indexed field 62 + i is entry i, and the first index past the end is rejected.
 */
function assertTable(decoder: HpackDecoder, newestFirst: HeaderField[], size: number): void {
  assert.equal(decoder.tableSize, size);
  newestFirst.forEach((field, i) => {
    assert.deepEqual(decoder.decode(Buffer.from([0x80 | (62 + i)])), [field], `dynamic entry ${62 + i}`);
  });
  assert.throws(() => decoder.decode(Buffer.from([0x80 | (62 + newestFirst.length)])), HpackError);
}

function huffmanDecodeString(encoded: Uint8Array): string | undefined {
  const out = new Uint8Array(huffmanMaxDecodedLength(encoded.length));
  const n = huffmanDecode(encoded, 0, encoded.length, out);
  return n < 0 ? undefined : Buffer.from(out.subarray(0, n)).toString('latin1');
}

describe('RFC 7541 Appendix C vectors', () => {
  test('C.2.1 literal with indexing', () => {
    const decoder = new HpackDecoder();
    const block = hex('400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572');
    assert.deepEqual(decoder.decode(block), [['custom-key', 'custom-header']]);
    assertTable(decoder, [['custom-key', 'custom-header']], 55);
  });

  test('C.2.2 literal without indexing', () => {
    const decoder = new HpackDecoder();
    assert.deepEqual(decoder.decode(hex('040c 2f73 616d 706c 652f 7061 7468')), [[':path', '/sample/path']]);
    assertTable(decoder, [], 0);
  });

  test('C.2.3 literal never indexed', () => {
    const decoder = new HpackDecoder();
    const block = hex('1008 7061 7373 776f 7264 0673 6563 7265 74');
    assert.deepEqual(decoder.decode(block), [['password', 'secret']]);
    assertTable(decoder, [], 0);
  });

  test('C.2.4 indexed field', () => {
    const decoder = new HpackDecoder();
    assert.deepEqual(decoder.decode(hex('82')), [[':method', 'GET']]);
    assertTable(decoder, [], 0);
  });

  const request1: HeaderField[] = [
    [':method', 'GET'],
    [':scheme', 'http'],
    [':path', '/'],
    [':authority', 'www.example.com'],
  ];
  const request2: HeaderField[] = [...request1, ['cache-control', 'no-cache']];
  const request3: HeaderField[] = [
    [':method', 'GET'],
    [':scheme', 'https'],
    [':path', '/index.html'],
    [':authority', 'www.example.com'],
    ['custom-key', 'custom-value'],
  ];

  /** Runs the three C.3/C.4 requests through one decoder, checking the table after each. */
  function checkRequests(blocks: Buffer[]): void {
    const decoder = new HpackDecoder();
    assert.deepEqual(decoder.decode(blocks[0]!), request1);
    assertTable(decoder, [[':authority', 'www.example.com']], 57);
    assert.deepEqual(decoder.decode(blocks[1]!), request2);
    assertTable(
      decoder,
      [
        ['cache-control', 'no-cache'],
        [':authority', 'www.example.com'],
      ],
      110,
    );
    assert.deepEqual(decoder.decode(blocks[2]!), request3);
    assertTable(
      decoder,
      [
        ['custom-key', 'custom-value'],
        ['cache-control', 'no-cache'],
        [':authority', 'www.example.com'],
      ],
      164,
    );
  }

  test('C.3 requests without Huffman coding', () => {
    checkRequests([
      hex('8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d'),
      hex('8286 84be 5808 6e6f 2d63 6163 6865'),
      hex('8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65'),
    ]);
  });

  test('C.4 requests with Huffman coding', () => {
    checkRequests([
      hex('8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff'),
      hex('8286 84be 5886 a8eb 1064 9cbf'),
      hex('8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf'),
    ]);
  });

  const date1 = 'Mon, 21 Oct 2013 20:13:21 GMT';
  const date2 = 'Mon, 21 Oct 2013 20:13:22 GMT';
  const location = 'https://www.example.com';
  const cookie = 'foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1';

  /** Runs the three C.5/C.6 responses through one decoder with a 256-octet table. */
  function checkResponses(blocks: Buffer[]): void {
    const decoder = new HpackDecoder(256);
    assert.deepEqual(decoder.decode(blocks[0]!), [
      [':status', '302'],
      ['cache-control', 'private'],
      ['date', date1],
      ['location', location],
    ]);
    assertTable(
      decoder,
      [
        ['location', location],
        ['date', date1],
        ['cache-control', 'private'],
        [':status', '302'],
      ],
      222,
    );
    assert.deepEqual(decoder.decode(blocks[1]!), [
      [':status', '307'],
      ['cache-control', 'private'],
      ['date', date1],
      ['location', location],
    ]);
    assertTable(
      decoder,
      [
        [':status', '307'],
        ['location', location],
        ['date', date1],
        ['cache-control', 'private'],
      ],
      222,
    );
    assert.deepEqual(decoder.decode(blocks[2]!), [
      [':status', '200'],
      ['cache-control', 'private'],
      ['date', date2],
      ['location', location],
      ['content-encoding', 'gzip'],
      ['set-cookie', cookie],
    ]);
    assertTable(
      decoder,
      [
        ['set-cookie', cookie],
        ['content-encoding', 'gzip'],
        ['date', date2],
      ],
      215,
    );
  }

  test('C.5 responses without Huffman coding, 256-octet table with evictions', () => {
    checkResponses([
      hex(`4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a
           3133 3a32 3120 474d 546e 1768 7474 7073 3a2f 2f77 7777 2e65 7861 6d70 6c65 2e63 6f6d`),
      hex('4803 3330 37c1 c0bf'),
      hex(`88c1 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3220 474d 54c0 5a04
           677a 6970 7738 666f 6f3d 4153 444a 4b48 514b 425a 584f 5157 454f 5049 5541 5851 5745 4f49
           553b 206d 6178 2d61 6765 3d33 3630 303b 2076 6572 7369 6f6e 3d31`),
    ]);
  });

  test('C.6 responses with Huffman coding, 256-octet table with evictions', () => {
    checkResponses([
      hex(`4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6 2d1b ff6e
           919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3`),
      hex('4883 640e ffc1 c0bf'),
      hex(`88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab 77ad 94e7
           821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f 9587 3160 65c0 03ed
           4ee5 b106 3d50 07`),
    ]);
  });
});

describe('Huffman code', () => {
  test('every byte value 0-255 round-trips alone and all together', () => {
    for (let byte = 0; byte < 256; byte++) {
      const encoded = huffmanEncode(Uint8Array.of(byte));
      assert.equal(encoded.length, huffmanEncodedLength(Uint8Array.of(byte)));
      const out = new Uint8Array(huffmanMaxDecodedLength(encoded.length));
      assert.equal(huffmanDecode(encoded, 0, encoded.length, out), 1, `byte ${byte}`);
      assert.equal(out[0], byte, `byte ${byte}`);
    }
    const all = Uint8Array.from({ length: 512 }, (_, i) => (i * 7) % 256);
    const encoded = huffmanEncode(all);
    const out = new Uint8Array(huffmanMaxDecodedLength(encoded.length));
    const n = huffmanDecode(encoded, 0, encoded.length, out);
    assert.deepEqual(out.subarray(0, n), all);
  });

  test('RFC 7541 Appendix C Huffman strings decode and encode', () => {
    const vectors: [string, string][] = [
      ['f1e3 c2e5 f23a 6ba0 ab90 f4ff', 'www.example.com'],
      ['a8eb 1064 9cbf', 'no-cache'],
      ['25a8 49e9 5ba9 7d7f', 'custom-key'],
      ['25a8 49e9 5bb8 e8b4 bf', 'custom-value'],
      ['6402', '302'],
      ['aec3 771a 4b', 'private'],
      ['d07a be94 1054 d444 a820 0595 040b 8166 e082 a62d 1bff', 'Mon, 21 Oct 2013 20:13:21 GMT'],
      ['9d29 ad17 1863 c78f 0b97 c8e9 ae82 ae43 d3', 'https://www.example.com'],
      ['640e ff', '307'],
      ['9bd9 ab', 'gzip'],
      [
        `94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f 9587 3160 65c0
         03ed 4ee5 b106 3d50 07`,
        'foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1',
      ],
    ];
    for (const [encoded, text] of vectors) {
      assert.equal(huffmanDecodeString(hex(encoded)), text);
      assert.deepEqual(Buffer.from(huffmanEncode(Buffer.from(text, 'latin1'))), hex(encoded));
    }
  });

  test('invalid Huffman strings are rejected', () => {
    // 'a' is 00011: three one-bits of padding are fine, zeros or more than 7 bits of padding are not.
    assert.equal(huffmanDecodeString(Uint8Array.of(0x1f)), 'a');
    assert.equal(huffmanDecodeString(Uint8Array.of(0x18)), undefined);
    assert.equal(huffmanDecodeString(Uint8Array.of(0x1f, 0xff)), undefined);
    assert.equal(huffmanDecodeString(Uint8Array.of(0xff)), undefined);
    // 30 one-bits are EOS.
    assert.equal(huffmanDecodeString(Uint8Array.of(0xff, 0xff, 0xff, 0xff)), undefined);
    assert.equal(huffmanDecodeString(Uint8Array.of()), '');
  });
});

describe('malformed header blocks throw HpackError', () => {
  const cases: [string, string][] = [
    ['indexed field with index 0', '80'],
    ['indexed field beyond the static table with an empty dynamic table', 'be'],
    ['indexed field with a huge index', 'ff ff ff ff 07'],
    ['literal whose name index is beyond the tables', '7e 01 61'],
    ['literal whose name index is 0 in the never-indexed form without a name', '10'],
    ['integer above 2^31-1', 'ff ff ff ff ff 0f'],
    ['integer with too many continuation octets', 'ff 80 80 80 80 80 00'],
    ['truncated integer', 'ff'],
    ['truncated integer continuation', 'ff 80'],
    ['literal without its value', '04'],
    ['string longer than the block', '40 05 61 62'],
    ['string length above 2^31-1', '40 7f ff ff ff ff 0f'],
    ['Huffman padding that is not all ones', '40 81 18 81 1f'],
    ['Huffman padding longer than 7 bits', '40 82 1f ff 81 1f'],
    ['EOS inside a Huffman string', '40 84 ff ff ff ff 81 1f'],
    ['dynamic table size update above the maximum', '3f e2 1f'],
    ['dynamic table size update after a header field', '82 20'],
  ];
  for (const [name, bytes] of cases) {
    test(name, () => {
      assert.throws(() => new HpackDecoder().decode(hex(bytes)), HpackError);
    });
  }

  test('every truncation of a valid block either decodes or throws HpackError', () => {
    const block =
      hex(`4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6 2d1b ff6e
                       919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3`);
    for (let end = 0; end < block.length; end++) {
      try {
        new HpackDecoder(256).decode(block.subarray(0, end));
      } catch (error) {
        assert.ok(error instanceof HpackError, `prefix ${end}: ${String(error)}`);
      }
    }
  });

  test('random blocks only ever throw HpackError', () => {
    let seed = 0x2545f491;
    const random = (): number => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return seed >>> 0;
    };
    const decoder = new HpackDecoder();
    for (let round = 0; round < 20_000; round++) {
      const block = Uint8Array.from({ length: random() % 40 }, () => random() & 0xff);
      try {
        decoder.decode(block);
      } catch (error) {
        assert.ok(error instanceof HpackError, `round ${round}: ${String(error)}`);
      }
    }
  });
});

describe('dynamic table', () => {
  test('size updates: at most the maximum, several at the start of a block, 0 clears', () => {
    const decoder = new HpackDecoder();
    decoder.decode(hex('400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572'));
    assert.equal(decoder.tableSize, 55);
    // 4096 exactly is allowed; two updates in a row are allowed at the start of a block.
    assert.deepEqual(decoder.decode(hex('3f e1 1f 3f e1 1f 82')), [[':method', 'GET']]);
    assert.equal(decoder.tableSize, 55);
    assert.deepEqual(decoder.decode(hex('20')), []);
    assertTable(decoder, [], 0);
    // With a limit of 0 an insertion leaves the table empty; raising the limit again works.
    assert.deepEqual(decoder.decode(hex('40 01 61 01 62')), [['a', 'b']]);
    assertTable(decoder, [], 0);
    decoder.decode(hex('3f 11 40 01 61 01 62'));
    assertTable(decoder, [['a', 'b']], 34);
  });

  test('an entry larger than the table empties it without error', () => {
    const decoder = new HpackDecoder(64);
    decoder.decode(hex('40 01 61 01 62'));
    assertTable(decoder, [['a', 'b']], 34);
    const big = new HpackEncoder().encode([['x', 'y'.repeat(40)]]);
    // Turn "literal without indexing, new name" into "with incremental indexing".
    big[0] = 0x40;
    assert.deepEqual(decoder.decode(big), [['x', 'y'.repeat(40)]]);
    assertTable(decoder, [], 0);
  });

  test('UTF-8 names count their octets, not their UTF-16 length', () => {
    const decoder = new HpackDecoder();
    const block = new HpackEncoder().encode([['x-name', 'héllo']]);
    block[0] = 0x40;
    assert.deepEqual(decoder.decode(block), [['x-name', 'héllo']]);
    assert.equal(decoder.tableSize, 32 + 6 + 6);
  });

  test('a block that expands past the header list limit throws HpackError', () => {
    const insert = new HpackEncoder().encode([['x-big', 'b'.repeat(4000)]]);
    insert[0] = 0x40;
    // 4037 octets per field: 259 references stay under 1 MiB with the insertion, 260 do not.
    const fine = new HpackDecoder();
    assert.equal(fine.decode(Buffer.concat([insert, Buffer.alloc(258, 0xbe)])).length, 259);
    const bomb = new HpackDecoder();
    assert.throws(() => bomb.decode(Buffer.concat([insert, Buffer.alloc(259, 0xbe)])), HpackError);
    // The limit is configurable; static fields count 32 + name + value too (:method GET is 42).
    const small = new HpackDecoder(4096, 84);
    assert.equal(small.decode(hex('82 82')).length, 2);
    assert.throws(() => small.decode(hex('82 82 82')), HpackError);
  });

  test('many insertions and evictions stay linear (one block of 50 000 fields)', () => {
    const decoder = new HpackDecoder(4096, 2 ** 31 - 1);
    const one = new HpackEncoder().encode([['x-key', 'value-0123456789']]);
    one[0] = 0x40;
    const block = Buffer.concat(Array.from({ length: 50_000 }, () => one));
    const fields = decoder.decode(block);
    assert.equal(fields.length, 50_000);
    const entrySize = 32 + 5 + 16;
    assert.equal(decoder.tableSize, Math.floor(4096 / entrySize) * entrySize);
  });
});

describe('HpackEncoder', () => {
  test('uses full static matches, static name indexes and raw literals', () => {
    const encoder = new HpackEncoder();
    assert.deepEqual(encoder.encode([[':method', 'POST']]), hex('83'));
    assert.deepEqual(encoder.encode([[':status', '200']]), hex('88'));
    assert.deepEqual(encoder.encode([[':scheme', 'https']]), hex('87'));
    assert.deepEqual(encoder.encode([['accept', '']]), hex('93'));
    // content-type is static index 31: 4-bit prefix 15, then 16.
    assert.deepEqual(
      encoder.encode([['content-type', 'application/grpc']]),
      Buffer.concat([hex('0f 10 10'), Buffer.from('application/grpc')]),
    );
    assert.deepEqual(encoder.encode([[':path', '/x']]), hex('04 02 2f 78'));
    assert.deepEqual(encoder.encode([['te', 'trailers']]), Buffer.from('\x00\x02te\x08trailers', 'latin1'));
    assert.deepEqual(encoder.encode([]), Buffer.alloc(0));
  });

  test('round-trips through the decoder, long and UTF-8 values included, without touching its table', () => {
    const encoder = new HpackEncoder();
    const decoder = new HpackDecoder();
    const headers: HeaderField[] = [
      [':status', '418'],
      ['content-type', 'application/grpc'],
      ['grpc-status', '0'],
      ['x-long', 'v'.repeat(5000)],
      ['x-utf8', 'héllo wörld ✓'],
      ['authorization', 'Bearer abc'],
      ['', ''],
    ];
    for (let i = 0; i < 3; i++) {
      const block = encoder.encode(headers);
      assert.deepEqual(decoder.decode(block), headers);
    }
    assert.equal(decoder.tableSize, 0);
  });

  test('returned buffers are independent of later calls', () => {
    const encoder = new HpackEncoder();
    const first = encoder.encode([['x-a', 'one']]);
    const copy = Buffer.from(first);
    encoder.encode([['x-b', 'two'.repeat(100_000)]]);
    encoder.encode([['x-c', 'three']]);
    assert.deepEqual(first, copy);
  });
});
