/**
 * Span exporters for `spec.tracing` of a Configuration: `zipkin.endpointAddress` (Zipkin's v2
 * JSON API, as daprd's zipkin exporter sends it) and `stdout` (one JSON line per span).
 */
import type { Logger } from '../../components/component.js';
import type { TracingSpec } from '../../spec/configuration.js';
import { OtlpExporter } from './otlp-exporter.js';
import { type FinishedSpan, type SpanExporter, Tracer } from './tracer.js';

/** Zipkin v2 span (https://zipkin.io/zipkin-api/#/default/post_spans). */
interface ZipkinSpan {
  traceId: string;
  id: string;
  parentId?: string;
  name: string;
  kind: 'CLIENT' | 'SERVER';
  timestamp: number;
  duration: number;
  localEndpoint: { serviceName: string };
  tags: Record<string, string>;
}

function toZipkin(span: FinishedSpan, serviceName: string): ZipkinSpan {
  const tags: Record<string, string> = { ...span.attributes };
  // What OpenTelemetry's Zipkin exporter writes for a span whose status is Error.
  if (span.error !== undefined) {
    tags['otel.status_code'] = 'ERROR';
    tags.error = span.error;
  }
  return {
    traceId: span.traceId,
    id: span.spanId,
    ...(span.parentId === undefined ? {} : { parentId: span.parentId }),
    name: span.name,
    kind: span.kind,
    timestamp: span.startUs,
    duration: span.durationUs,
    localEndpoint: { serviceName },
    tags,
  };
}

/** POSTs batches to a Zipkin collector (`http://<host>:9411/api/v2/spans`). */
export class ZipkinExporter implements SpanExporter {
  readonly #url: string;
  readonly #serviceName: string;

  constructor(endpointAddress: string, serviceName: string) {
    this.#url = endpointAddress;
    this.#serviceName = serviceName;
  }

  async export(spans: readonly FinishedSpan[]): Promise<void> {
    const res = await fetch(this.#url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(spans.map((s) => toZipkin(s, this.#serviceName))),
      signal: AbortSignal.timeout(10_000),
    });
    await res.arrayBuffer();
    if (!res.ok) throw new Error(`zipkin at ${this.#url} answered ${res.status}`);
  }
}

/** Writes each span as one JSON line (Zipkin's span format) to a stream, stdout by default. */
export class StdoutExporter implements SpanExporter {
  readonly #serviceName: string;
  readonly #out: NodeJS.WritableStream;

  constructor(serviceName: string, out: NodeJS.WritableStream = process.stdout) {
    this.#serviceName = serviceName;
    this.#out = out;
  }

  async export(spans: readonly FinishedSpan[]): Promise<void> {
    this.#out.write(`${spans.map((s) => JSON.stringify(toZipkin(s, this.#serviceName))).join('\n')}\n`);
  }
}

/**
 * The tracer for a Configuration's `spec.tracing`: its sampling rate (daprd's 1e-4 when the
 * section is absent) and an exporter per backend it names.
 */
export function tracerFor(spec: TracingSpec | undefined, appId: string, logger: Logger): Tracer {
  const exporters: SpanExporter[] = [];
  if (spec?.zipkinEndpoint !== undefined && spec.zipkinEndpoint !== '')
    exporters.push(new ZipkinExporter(spec.zipkinEndpoint, appId));
  if (spec?.stdout === true) exporters.push(new StdoutExporter(appId));
  if (spec?.otel !== undefined && spec.otel.endpointAddress !== '')
    exporters.push(new OtlpExporter(spec.otel, appId));
  return new Tracer({ samplingRate: spec?.samplingRate ?? 1e-4, exporters, logger });
}
