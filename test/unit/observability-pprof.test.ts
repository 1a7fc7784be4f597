import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { ProtoCursor } from '../../sidecar/api/internal/proto-wire.js';
import { cpuProfileToPprof, heapProfileToPprof } from '../../sidecar/observability/profiling/pprof.js';

type Decoded = { strings: string[]; samples: { locations: number[]; values: number[] }[]; types: string[] };

/** The (field 1, field 2) varints of a nested message: ValueType's type/unit. */
function pairOf(c: ProtoCursor): [number, number] {
  const pair: [number, number] = [0, 0];
  while (c.next()) {
    if (c.field === 1) pair[0] = c.varint();
    else if (c.field === 2) pair[1] = c.varint();
    else c.skip();
  }
  return pair;
}

/** Decodes the parts of a pprof Profile the tests look at: string table, sample types, samples. */
function decode(gz: Buffer): Decoded {
  const strings: string[] = [];
  const samples: Decoded['samples'] = [];
  const typeIdx: [number, number][] = [];
  const c = new ProtoCursor(gunzipSync(gz));
  while (c.next()) {
    if (c.field === 6) strings.push(c.string());
    else if (c.field === 1) typeIdx.push(pairOf(c.sub()));
    else if (c.field === 2) {
      const s = c.sub();
      const sample = { locations: [] as number[], values: [] as number[] };
      while (s.next()) {
        if (s.field === 1) sample.locations.push(s.varint());
        else if (s.field === 2) sample.values.push(s.varint());
        else s.skip();
      }
      samples.push(sample);
    } else c.skip();
  }
  return { strings, samples, types: typeIdx.map(([t, u]) => `${strings[t]}/${strings[u]}`) };
}

const frame = (functionName: string, lineNumber = 0) => ({ functionName, url: 'file:///app.js', lineNumber });

describe('pprof encoding of V8 profiles', () => {
  it('merges CPU samples per stack, leaf first, and leaves out idle time', () => {
    const gz = cpuProfileToPprof(
      {
        nodes: [
          { id: 1, callFrame: frame('(root)'), children: [2, 4] },
          { id: 2, callFrame: frame('handle', 9), children: [3] },
          { id: 3, callFrame: frame('parse', 19) },
          { id: 4, callFrame: frame('(idle)') },
        ],
        startTime: 0,
        endTime: 40_000,
        samples: [3, 3, 4, 2],
        timeDeltas: [0, 10_000, 10_000, 10_000],
      },
      1_700_000_000_000,
      10_000,
    );
    const p = decode(gz);
    assert.deepEqual(p.types, ['samples/count', 'cpu/nanoseconds']);
    assert.equal(p.strings[0], '', 'string 0 is the empty string');
    assert.ok(p.strings.includes('parse') && p.strings.includes('handle') && !p.strings.includes('(idle)'));
    assert.equal(p.samples.length, 2, 'one sample per distinct stack, idle left out');
    const deep = p.samples.find((s) => s.locations.length === 2);
    assert.deepEqual(deep?.values[0], 2, 'two V8 samples in parse');
    const shallow = p.samples.find((s) => s.locations.length === 1);
    assert.deepEqual(shallow?.values, [1, 10_000_000]);
  });

  it('writes live heap allocations per stack, zero counts included', () => {
    const gz = heapProfileToPprof(
      {
        head: {
          id: 1,
          callFrame: frame('(root)'),
          selfSize: 0,
          children: [{ id: 2, callFrame: frame('alloc', 4), selfSize: 4096, children: [] }],
        },
        samples: [],
      },
      Date.now(),
      512 * 1024,
    );
    const p = decode(gz);
    assert.deepEqual(p.types, ['inuse_objects/count', 'inuse_space/bytes']);
    assert.deepEqual(p.samples, [{ locations: [1], values: [0, 4096] }]);
  });
});
