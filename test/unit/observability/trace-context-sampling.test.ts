import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { traceBin, traceparentFromBin } from '../../../sidecar/channel/grpc-metadata.js';
import { StdoutExporter } from '../../../sidecar/observability/tracing/exporters.js';
import {
  formatTraceparent,
  parseTraceparent,
  sampledByRatio,
} from '../../../sidecar/observability/tracing/trace-context.js';
import {
  type FinishedSpan,
  type SpanExporter,
  Tracer,
} from '../../../sidecar/observability/tracing/tracer.js';
import { recordingLogger } from '../recording-logger.js';

const TRACE = '0af7651916cd43dd8448eb211c80319c';
const SPAN = 'b7ad6b7169203331';

const { logger, warnings } = recordingLogger();

class Collected implements SpanExporter {
  readonly batches: FinishedSpan[][] = [];
  failNext = false;
  async export(spans: readonly FinishedSpan[]): Promise<void> {
    if (this.failNext) {
      this.failNext = false;
      throw new Error('backend down');
    }
    this.batches.push([...spans]);
  }
}

describe('W3C trace context', () => {
  it('reads version 00 and later versions, and refuses what the spec calls invalid', () => {
    assert.deepEqual(parseTraceparent(`00-${TRACE}-${SPAN}-01`), {
      traceId: TRACE,
      spanId: SPAN,
      sampled: true,
    });
    assert.equal(parseTraceparent(`00-${TRACE}-${SPAN}-00`)?.sampled, false);
    assert.equal(parseTraceparent(`00-${TRACE}-${SPAN}-03`)?.sampled, true, 'other flag bits ignored');
    assert.equal(parseTraceparent(`cc-${TRACE}-${SPAN}-01-future-field`)?.traceId, TRACE);
    for (const bad of [
      undefined,
      '',
      'garbage',
      `ff-${TRACE}-${SPAN}-01`,
      `00-${TRACE}-${SPAN}-01-extra`,
      `00-${'0'.repeat(32)}-${SPAN}-01`,
      `00-${TRACE}-${'0'.repeat(16)}-01`,
      `00-${TRACE.toUpperCase()}-${SPAN}-01`,
      `00-${TRACE.slice(1)}-${SPAN}-01`,
    ])
      assert.equal(parseTraceparent(bad), undefined, String(bad));
    assert.equal(
      formatTraceparent({ traceId: TRACE, spanId: SPAN, sampled: false }),
      `00-${TRACE}-${SPAN}-00`,
    );
  });

  it("converts OpenCensus' grpc-trace-bin both ways, and refuses a malformed one", () => {
    const tp = `00-${TRACE}-${SPAN}-01`;
    const bin = traceBin(tp);
    assert.ok(bin !== undefined);
    assert.equal(traceparentFromBin(bin), tp);
    assert.equal(traceparentFromBin(Buffer.alloc(10)), undefined);
    assert.equal(traceparentFromBin(Buffer.concat([Buffer.from([1]), bin.subarray(1)])), undefined);
  });

  it("samples new traces by trace id at the rate, as OpenTelemetry's TraceIDRatioBased", () => {
    const low = `${'f'.repeat(16)}0000000000000001`;
    const high = `${'0'.repeat(16)}ffffffffffffffff`;
    assert.equal(sampledByRatio(low, 1e-4), true);
    assert.equal(sampledByRatio(high, 0.99), false);
    assert.equal(sampledByRatio(high, 1), true);
    assert.equal(sampledByRatio(low, 0), false);
    // Over many random ids, the share sampled is the rate.
    const tracer = new Tracer({ samplingRate: 0.25, exporters: [], logger });
    let sampled = 0;
    for (let i = 0; i < 20_000; i++) if (tracer.start('x', 'CLIENT', undefined).context.sampled) sampled++;
    assert.ok(Math.abs(sampled / 20_000 - 0.25) < 0.02, `sampled ${sampled}`);
  });
});

describe('tracer', () => {
  it('follows a sampled parent whatever the rate, and leaves an unsampled one to the rate', () => {
    const tracer = new Tracer({ samplingRate: 0, exporters: [new Collected()], logger });
    const child = tracer.start('x', 'SERVER', `00-${TRACE}-${SPAN}-01`);
    assert.equal(child.context.traceId, TRACE);
    assert.notEqual(child.context.spanId, SPAN);
    assert.equal(child.traceparent, `00-${TRACE}-${child.context.spanId}-01`);
    assert.equal(child.recording, true);
    const unsampled = tracer.start('x', 'SERVER', `00-${TRACE}-${SPAN}-00`);
    assert.equal(unsampled.context.sampled, false);
    assert.equal(unsampled.recording, false);
    const everything = new Tracer({ samplingRate: 1, exporters: [], logger });
    assert.equal(everything.start('x', 'SERVER', `00-${TRACE}-${SPAN}-00`).context.sampled, true);
    assert.equal(
      everything.start('x', 'SERVER', undefined).recording,
      false,
      'no exporter: nothing recorded',
    );
  });

  it('exports ended spans in batches, once each, with their parent, name and duration', async () => {
    const out = new Collected();
    const tracer = new Tracer({ samplingRate: 1, exporters: [out], logger, exportIntervalMs: 60_000 });
    const span = tracer.start('/v1.0/invoke/b/method/x', 'CLIENT', `00-${TRACE}-${SPAN}-01`);
    span.setName('CallLocal/b/x');
    span.end({ 'dapr.protocol': 'http' }, 'Code(500): Internal Server Error');
    span.end({}, undefined);
    await tracer.flush();
    assert.equal(out.batches.length, 1);
    const [got] = out.batches[0] as FinishedSpan[];
    assert.equal(got?.name, 'CallLocal/b/x');
    assert.equal(got?.parentId, SPAN);
    assert.equal(got?.traceId, TRACE);
    assert.equal(got?.error, 'Code(500): Internal Server Error');
    assert.ok((got?.durationUs ?? 0) >= 1);
    assert.ok(Math.abs((got?.startUs ?? 0) / 1000 - Date.now()) < 5_000, 'start is epoch time');
    // 512 spans make a batch that goes at once, without waiting for the interval.
    for (let i = 0; i < 512; i++) tracer.start('x', 'CLIENT', undefined).end();
    await new Promise((r) => setTimeout(r, 50));
    await tracer.flush();
    assert.equal(out.batches.length, 2);
    assert.equal(out.batches[1]?.length, 512);
  });

  it('logs a failed export and keeps exporting, and drops spans beyond its queue with a warning', async () => {
    const out = new Collected();
    const tracer = new Tracer({ samplingRate: 1, exporters: [out], logger, exportIntervalMs: 60_000 });
    out.failNext = true;
    tracer.start('lost', 'CLIENT', undefined).end();
    await tracer.flush();
    assert.ok(warnings.some((w) => w.includes('failed to export spans')));
    tracer.start('kept', 'CLIENT', undefined).end();
    await tracer.close();
    assert.deepEqual(
      out.batches.flat().map((s) => s.name),
      ['kept'],
    );
    // Ended within one tick, before any export can run: the queue holds 2048.
    for (let i = 0; i < 2100; i++) tracer.start('burst', 'CLIENT', undefined).end();
    await tracer.close();
    assert.equal(out.batches.flat().filter((s) => s.name === 'burst').length, 2048);
    assert.ok(warnings.includes('dropped 52 spans: the export queue was full'), warnings.join('; '));
  });

  it('writes spans to stdout as Zipkin JSON lines', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _enc, cb) {
        lines.push(...String(chunk).trim().split('\n'));
        cb();
      },
    });
    const tracer = new Tracer({ samplingRate: 1, exporters: [new StdoutExporter('app-1', sink)], logger });
    tracer.start('one', 'SERVER', `00-${TRACE}-${SPAN}-01`).end({ k: 'v' });
    await tracer.close();
    const span = JSON.parse(lines[0] ?? '{}') as Record<string, unknown>;
    assert.equal(span.name, 'one');
    assert.equal(span.kind, 'SERVER');
    assert.equal(span.parentId, SPAN);
    assert.deepEqual(span.localEndpoint, { serviceName: 'app-1' });
    assert.deepEqual(span.tags, { k: 'v' });
  });
});
