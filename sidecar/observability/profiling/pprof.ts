/**
 * V8 profiles in pprof's format (github.com/google/pprof/proto/profile.proto, gzipped), so that
 * `go tool pprof` reads what the sidecar's `/debug/pprof/*` serves, as it reads daprd's.
 *
 * Each V8 call-tree node becomes one pprof Location with one Line; functions are shared by name,
 * file and line. A sample's locations run from the leaf to the root, as pprof expects.
 */
import { gzipSync } from 'node:zlib';
import { ProtoWriter } from '../../api/internal/proto-wire.js';

/** A V8 call frame (inspector `Runtime.CallFrame`). */
export interface V8CallFrame {
  readonly functionName: string;
  readonly url: string;
  /** 0-based. */
  readonly lineNumber: number;
}

/** A node of `Profiler.stop`'s profile. */
export interface V8CpuNode {
  readonly id: number;
  readonly callFrame: V8CallFrame;
  readonly children?: readonly number[];
}

/** `Profiler.stop`'s profile: the call tree and, per sample, its node and the time since the last. */
export interface V8CpuProfile {
  readonly nodes: readonly V8CpuNode[];
  /** Microseconds. */
  readonly startTime: number;
  readonly endTime: number;
  readonly samples?: readonly number[];
  readonly timeDeltas?: readonly number[];
}

/** A node of `HeapProfiler.getSamplingProfile`'s tree. */
export interface V8HeapNode {
  readonly id: number;
  readonly callFrame: V8CallFrame;
  /** Bytes allocated by this node and still live, excluding children. */
  readonly selfSize: number;
  readonly children: readonly V8HeapNode[];
}

/** `HeapProfiler.getSamplingProfile`'s profile. */
export interface V8HeapProfile {
  readonly head: V8HeapNode;
  readonly samples?: readonly { readonly nodeId: number; readonly size: number }[];
}

/** Builds one pprof Profile message: string table, functions, locations, samples. */
class ProfileBuilder {
  readonly #strings = new Map<string, number>([['', 0]]);
  readonly #functions = new Map<string, number>();
  readonly #functionRecords: { id: number; name: number; file: number; line: number }[] = [];
  readonly #locations: { id: number; fn: number; line: number }[] = [];
  readonly #locationOf = new Map<number, number>();
  readonly #samples: { locations: readonly number[]; values: readonly number[] }[] = [];

  str(s: string): number {
    let i = this.#strings.get(s);
    if (i === undefined) {
      i = this.#strings.size;
      this.#strings.set(s, i);
    }
    return i;
  }

  /** The Location of a V8 node (one per node id). */
  location(nodeId: number, frame: V8CallFrame): number {
    const known = this.#locationOf.get(nodeId);
    if (known !== undefined) return known;
    const name = frame.functionName === '' ? '(anonymous)' : frame.functionName;
    const line = frame.lineNumber + 1;
    const key = `${name}\u0000${frame.url}\u0000${line}`;
    let fn = this.#functions.get(key);
    if (fn === undefined) {
      fn = this.#functionRecords.length + 1;
      this.#functions.set(key, fn);
      this.#functionRecords.push({ id: fn, name: this.str(name), file: this.str(frame.url), line });
    }
    const id = this.#locations.length + 1;
    this.#locations.push({ id, fn, line });
    this.#locationOf.set(nodeId, id);
    return id;
  }

  sample(locations: readonly number[], values: readonly number[]): void {
    this.#samples.push({ locations, values });
  }

  encode(o: {
    sampleTypes: readonly (readonly [string, string])[];
    periodType: readonly [string, string];
    period: number;
    timeNanos: number;
    durationNanos: number;
  }): Buffer {
    const w = new ProtoWriter(4096);
    const valueType = (field: number, [type, unit]: readonly [string, string]): void => {
      const t = this.str(type);
      const u = this.str(unit);
      w.nested(field, (m) => m.uint(1, t).uint(2, u));
    };
    for (const st of o.sampleTypes) valueType(1, st);
    for (const s of this.#samples) {
      w.nested(2, (m) => {
        // Unpacked repeated fields: pprof's decoder takes both encodings.
        for (const l of s.locations) m.uintAlways(1, l);
        for (const v of s.values) m.uintAlways(2, Math.max(0, Math.round(v)));
      });
    }
    for (const l of this.#locations) {
      w.nested(4, (m) => {
        m.uint(1, l.id);
        m.nested(4, (line) => line.uint(1, l.fn).uint(2, l.line));
      });
    }
    for (const f of this.#functionRecords) {
      w.nested(5, (m) => m.uint(1, f.id).uint(2, f.name).uint(3, f.name).uint(4, f.file).uint(5, f.line));
    }
    valueType(11, o.periodType);
    // The string table last: every index above has been taken by now.
    for (const s of this.#strings.keys()) w.stringAlways(6, s);
    w.uint(9, o.timeNanos).uint(10, o.durationNanos).uint(12, o.period);
    return gzipSync(w.finish());
  }
}

/**
 * A CPU profile as pprof's `samples/count` and `cpu/nanoseconds`: V8's samples merged per stack,
 * without the idle ones, so that the total is time on the CPU as in a Go profile.
 */
export function cpuProfileToPprof(
  profile: V8CpuProfile,
  wallClockStartMs: number,
  intervalUs: number,
): Buffer {
  const b = new ProfileBuilder();
  const parent = new Map<number, number>();
  const byId = new Map<number, V8CpuNode>();
  for (const n of profile.nodes) {
    byId.set(n.id, n);
    for (const c of n.children ?? []) parent.set(c, n.id);
  }
  // Identical stacks are merged: one pprof sample per leaf node, with summed values.
  const totals = new Map<number, { count: number; nanos: number }>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  samples.forEach((nodeId, i) => {
    // Go's profiler samples CPU time only; V8 also samples the idle event loop. Left out.
    if (byId.get(nodeId)?.callFrame.functionName === '(idle)') return;
    // V8's delta is the time before a sample; the time a sample stands for is the next one's.
    const next = deltas[i + 1] ?? intervalUs;
    const t = totals.get(nodeId) ?? { count: 0, nanos: 0 };
    t.count++;
    t.nanos += Math.max(0, next) * 1000;
    totals.set(nodeId, t);
  });
  for (const [leaf, t] of totals) {
    const stack: number[] = [];
    for (let id: number | undefined = leaf; id !== undefined; id = parent.get(id)) {
      const node = byId.get(id);
      if (node === undefined || parent.get(id) === undefined) break; // the "(root)" node
      stack.push(b.location(id, node.callFrame));
    }
    if (stack.length > 0) b.sample(stack, [t.count, t.nanos]);
  }
  return b.encode({
    sampleTypes: [
      ['samples', 'count'],
      ['cpu', 'nanoseconds'],
    ],
    periodType: ['cpu', 'nanoseconds'],
    period: intervalUs * 1000,
    timeNanos: Math.round(wallClockStartMs * 1e6),
    durationNanos: Math.max(0, Math.round((profile.endTime - profile.startTime) * 1000)),
  });
}

/** A sampling heap profile as pprof's `inuse_objects/count` and `inuse_space/bytes`. */
export function heapProfileToPprof(
  profile: V8HeapProfile,
  nowMs: number,
  samplingIntervalBytes: number,
): Buffer {
  const b = new ProfileBuilder();
  const counts = new Map<number, number>();
  for (const s of profile.samples ?? []) counts.set(s.nodeId, (counts.get(s.nodeId) ?? 0) + 1);
  const walk = (node: V8HeapNode, ancestors: readonly number[], isRoot: boolean): void => {
    const stack = isRoot ? ancestors : [b.location(node.id, node.callFrame), ...ancestors];
    if (!isRoot && node.selfSize > 0) b.sample(stack, [counts.get(node.id) ?? 0, node.selfSize]);
    for (const c of node.children) walk(c, stack, false);
  };
  walk(profile.head, [], true);
  return b.encode({
    sampleTypes: [
      ['inuse_objects', 'count'],
      ['inuse_space', 'bytes'],
    ],
    periodType: ['space', 'bytes'],
    period: samplingIntervalBytes,
    timeNanos: Math.round(nowMs * 1e6),
    durationNanos: 0,
  });
}
