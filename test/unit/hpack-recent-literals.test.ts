import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HpackDecoder, InvalidField } from '../../sidecar/api/internal/h2/hpack.js';

/** A raw (non-Huffman) string literal with a one-octet length. */
function str(s: string): number[] {
  return [s.length, ...Buffer.from(s, 'latin1')];
}

describe('HpackDecoder: repeated literal fields without indexing', () => {
  it('decodes them the same every time, and never reuses one whose name is in the dynamic table', () => {
    const d = new HpackDecoder();
    const ct = [0x0f, 0x10, ...str('application/grpc')]; // content-type (static 31), not indexed
    const te = [0x10, ...str('te'), ...str('trailers')]; // literal name, never indexed
    const upper = [0x00, ...str('X-Up'), ...str('v')]; // an invalid (upper-case) name
    const dynName = [0x00 | 0x0f, 62 - 15, ...str('z')]; // name from dynamic entry 62
    const insert = (name: string, value: string) => [0x40, ...str(name), ...str(value)];
    for (let round = 0; round < 3; round++) {
      assert.deepEqual(d.decode(Buffer.from([...ct, ...te])), [
        ['content-type', 'application/grpc'],
        ['te', 'trailers'],
      ]);
      assert.equal(d.invalid, 0);
      assert.deepEqual(d.decode(Buffer.from(upper)), [['X-Up', 'v']]);
      assert.equal(d.invalid & InvalidField.NAME, InvalidField.NAME);
      assert.deepEqual(d.decode(Buffer.from([...insert(`x-${round}`, 'v'), ...dynName])), [
        [`x-${round}`, 'v'],
        [`x-${round}`, 'z'],
      ]);
      assert.equal(d.invalid, 0);
    }
    // A truncated copy of a remembered literal is still an error.
    assert.throws(() => d.decode(Buffer.from(ct.slice(0, -1))));
  });
});
