/**
 * The sidecar's spans, as daprd makes them with OpenTelemetry: every API call and every call
 * received from another sidecar is a span, a child of the caller's trace context, and its own
 * context is what travels on to the next hop. Sampling is daprd's DaprTraceSampler: a sampled
 * parent is always followed, anything else is sampled by trace id at `samplingRate`.
 *
 * A span that is not sampled, or that no exporter would receive, records nothing: it is ids only,
 * so tracing costs the hot path one id and one string per hop.
 */
import type { Logger } from '../../components/component.js';
import {
  formatTraceparent,
  newSpanId,
  newTraceId,
  parseTraceparent,
  type SpanContext,
  sampledByRatio,
} from './trace-context.js';

/** Zipkin's and OpenTelemetry's span kinds that the sidecar uses. */
export type SpanKind = 'CLIENT' | 'SERVER';

/** A span once it ended, as the exporters receive it. */
export interface FinishedSpan {
  readonly traceId: string;
  readonly spanId: string;
  readonly parentId: string | undefined;
  readonly name: string;
  readonly kind: SpanKind;
  /** Microseconds since the epoch. */
  readonly startUs: number;
  readonly durationUs: number;
  readonly attributes: Readonly<Record<string, string>>;
  /** Set when the call failed: the status description (e.g. `Code(404): Not Found`). */
  readonly error: string | undefined;
}

/** Where finished spans go (Zipkin, stdout). */
export interface SpanExporter {
  /** Sends one batch; rejects when the backend refused it. */
  export(spans: readonly FinishedSpan[]): Promise<void>;
  /** Releases connections after the last export. */
  close?(): void;
}

/** One span in progress. */
export class Span {
  readonly context: SpanContext;
  /** The context to send on: this span as the parent of the next hop. */
  readonly traceparent: string;
  readonly #parentId: string | undefined;
  readonly #kind: SpanKind;
  readonly #tracer: Tracer | undefined;
  #name: string;
  #startUs = 0;
  #startMs = 0;
  #ended = false;

  /** @internal Made by `Tracer.start`. */
  constructor(
    context: SpanContext,
    parentId: string | undefined,
    name: string,
    kind: SpanKind,
    tracer?: Tracer,
  ) {
    this.context = context;
    this.traceparent = formatTraceparent(context);
    this.#parentId = parentId;
    this.#name = name;
    this.#kind = kind;
    this.#tracer = tracer;
    if (tracer !== undefined) {
      this.#startMs = performance.now();
      this.#startUs = Math.round((performance.timeOrigin + this.#startMs) * 1000);
    }
  }

  /** Whether the span will be exported (sampled, with an exporter): attributes are worth computing. */
  get recording(): boolean {
    return this.#tracer !== undefined;
  }

  /** Renames the span once the call is known (daprd renames API spans, e.g. `CallLocal/<app>/<method>`). */
  setName(name: string): void {
    this.#name = name;
  }

  /** Ends the span once; `error` marks a failed call. */
  end(attributes: Readonly<Record<string, string>> = {}, error?: string): void {
    if (this.#ended || this.#tracer === undefined) return;
    this.#ended = true;
    this.#tracer.finished({
      traceId: this.context.traceId,
      spanId: this.context.spanId,
      parentId: this.#parentId,
      name: this.#name,
      kind: this.#kind,
      startUs: this.#startUs,
      durationUs: Math.max(1, Math.round((performance.now() - this.#startMs) * 1000)),
      attributes,
      error,
    });
  }
}

/** Options of `Tracer`. */
export interface TracerOptions {
  /** `spec.tracing.samplingRate` (daprd: empty or unparsable is 1e-4). */
  readonly samplingRate: number;
  readonly exporters: readonly SpanExporter[];
  readonly logger: Logger;
  /** Milliseconds between exports (OpenTelemetry's batch processor: 5 s). */
  readonly exportIntervalMs?: number;
}

/** Spans waiting beyond this are dropped (OpenTelemetry's batch processor queue size). */
const MAX_QUEUE = 2048;
/** Spans per export request. */
const MAX_BATCH = 512;

/** Starts spans and hands the finished ones to the exporters in batches. */
export class Tracer {
  readonly #o: TracerOptions;
  #queue: FinishedSpan[] = [];
  #timer: NodeJS.Timeout | undefined;
  #exporting: Promise<void> = Promise.resolve();
  #dropped = 0;
  #failures = 0;

  constructor(options: TracerOptions) {
    this.#o = options;
  }

  /** Whether any span can be exported at all. */
  get exporting(): boolean {
    return this.#o.exporters.length > 0;
  }

  /**
   * A span, child of the `traceparent` received (a new trace when there is none or it is
   * invalid). The caller sends `span.traceparent` on and ends the span when the call is done.
   */
  start(name: string, kind: SpanKind, traceparent: string | undefined): Span {
    const parent = parseTraceparent(traceparent);
    const traceId = parent?.traceId ?? newTraceId();
    const sampled = parent?.sampled === true || sampledByRatio(traceId, this.#o.samplingRate);
    const context = { traceId, spanId: newSpanId(), sampled };
    return new Span(context, parent?.spanId, name, kind, sampled && this.exporting ? this : undefined);
  }

  /** @internal A recording span ended. */
  finished(span: FinishedSpan): void {
    if (this.#queue.length >= MAX_QUEUE) {
      this.#dropped++;
      return;
    }
    this.#queue.push(span);
    if (this.#queue.length >= MAX_BATCH) this.#flushSoon(0);
    else this.#flushSoon(this.#o.exportIntervalMs ?? 5000);
  }

  #flushSoon(delayMs: number): void {
    if (this.#timer !== undefined) {
      if (delayMs > 0) return;
      clearTimeout(this.#timer);
    }
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.flush();
    }, delayMs);
    this.#timer.unref();
  }

  /** Exports every span ended so far; resolves once the exporters answered. */
  flush(): Promise<void> {
    const batches: FinishedSpan[][] = [];
    while (this.#queue.length > 0) batches.push(this.#queue.splice(0, MAX_BATCH));
    this.#exporting = this.#exporting.then(async () => {
      for (const batch of batches)
        await Promise.all(this.#o.exporters.map((e) => e.export(batch).catch((err) => this.#failed(err))));
      if (this.#dropped > 0) {
        this.#o.logger.warn(`dropped ${this.#dropped} spans: the export queue was full`);
        this.#dropped = 0;
      }
    });
    return this.#exporting;
  }

  #failed(err: unknown): void {
    // Once, then every hundredth time: a backend that is down must not flood the log.
    if (this.#failures++ % 100 === 0)
      this.#o.logger.warn('failed to export spans', { error: (err as Error).message });
  }

  /** Exports what is left (graceful shutdown: no span that ended is lost). */
  async close(): Promise<void> {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.flush();
    for (const e of this.#o.exporters) e.close?.();
  }
}
