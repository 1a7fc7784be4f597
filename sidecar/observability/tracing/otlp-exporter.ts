/**
 * The OpenTelemetry exporter of `spec.tracing.otel`: OTLP over HTTP (`protocol: http`, a POST of
 * protobuf to `<endpointAddress>/v1/traces`) or over gRPC (`protocol: grpc`,
 * `opentelemetry.proto.collector.trace.v1.TraceService/Export`), in TLS unless `isSecure` is
 * false, as daprd's otlptracehttp and otlptracegrpc exporters send it. The messages are encoded by
 * hand from opentelemetry-proto's trace.proto (field numbers below): a handful of fields, where a
 * generated codec would be most of the code.
 */
import * as grpc from '@grpc/grpc-js';
import { ProtoWriter } from '../../api/internal/proto-wire.js';
import type { FinishedSpan, SpanExporter } from './tracer.js';

/** What `spec.tracing.otel` gives. */
export interface OtlpOptions {
  readonly endpointAddress: string;
  readonly protocol: 'http' | 'grpc';
  readonly isSecure: boolean;
  /** `headers`: `key=value` pairs separated by commas, sent with every export. */
  readonly headers?: string;
  /** `timeout` in milliseconds (daprd: 10000). */
  readonly timeoutMs?: number;
}

const EXPORT_METHOD = '/opentelemetry.proto.collector.trace.v1.TraceService/Export';
/** The instrumentation scope daprd's spans carry (its tracer's name). */
const SCOPE = 'dapr-diagnostics';
/** trace.proto's Span.SpanKind. */
const KIND = { SERVER: 2, CLIENT: 3 } as const;
/** trace.proto's Status.StatusCode. */
const STATUS_ERROR = 2;

/** `k1=v1,k2=v2` as headers (OTEL_EXPORTER_OTLP_HEADERS' form); malformed pairs are left out. */
export function parseOtlpHeaders(text: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of (text ?? '').split(',')) {
    const eq = pair.indexOf('=');
    if (eq <= 0) continue;
    const key = pair.slice(0, eq).trim().toLowerCase();
    if (key !== '') out[key] = decodeURIComponent(pair.slice(eq + 1).trim());
  }
  return out;
}

function keyValue(w: ProtoWriter, field: number, key: string, value: string): void {
  // KeyValue { key = 1; AnyValue value = 2 { string_value = 1 } }
  w.nested(field, (kv) => kv.string(1, key).nested(2, (v) => v.stringAlways(1, value)));
}

/** An ExportTraceServiceRequest holding `spans` of one service. */
export function encodeExportRequest(spans: readonly FinishedSpan[], serviceName: string): Buffer {
  const w = new ProtoWriter(1024 + spans.length * 256);
  // resource_spans = 1 { resource = 1 { attributes = 1 }, scope_spans = 2 { scope = 1, spans = 2 } }
  w.nested(1, (rs) => {
    rs.nested(1, (r) => keyValue(r, 1, 'service.name', serviceName));
    rs.nested(2, (ss) => {
      ss.nested(1, (scope) => scope.string(1, SCOPE));
      for (const span of spans)
        ss.nested(2, (s) => {
          s.bytes(1, Buffer.from(span.traceId, 'hex'));
          s.bytes(2, Buffer.from(span.spanId, 'hex'));
          if (span.parentId !== undefined) s.bytes(4, Buffer.from(span.parentId, 'hex'));
          s.string(5, span.name);
          s.uint(6, KIND[span.kind]);
          const start = BigInt(span.startUs) * 1000n;
          s.fixed64(7, start);
          s.fixed64(8, start + BigInt(span.durationUs) * 1000n);
          for (const key of Object.keys(span.attributes)) keyValue(s, 9, key, span.attributes[key] as string);
          // status = 15 { message = 2, code = 3 }
          if (span.error !== undefined)
            s.nested(15, (st) => st.string(2, span.error as string).uint(3, STATUS_ERROR));
        });
    });
  });
  return Buffer.from(w.finish());
}

/** Sends batches to an OTLP collector. */
export class OtlpExporter implements SpanExporter {
  readonly #o: OtlpOptions;
  readonly #serviceName: string;
  readonly #headers: Record<string, string>;
  readonly #url: string;
  #client: grpc.Client | undefined;

  constructor(options: OtlpOptions, serviceName: string) {
    this.#o = options;
    this.#serviceName = serviceName;
    this.#headers = parseOtlpHeaders(options.headers);
    const address = options.endpointAddress;
    const hasScheme = /^https?:\/\//.test(address);
    const base = hasScheme ? address : `${options.isSecure ? 'https' : 'http'}://${address}`;
    // A bare host:port (daprd's form) or a URL without a path gets OTLP's default path.
    this.#url = new URL(base).pathname === '/' ? `${base.replace(/\/$/, '')}/v1/traces` : base;
  }

  export(spans: readonly FinishedSpan[]): Promise<void> {
    const body = encodeExportRequest(spans, this.#serviceName);
    return this.#o.protocol === 'grpc' ? this.#exportGrpc(body) : this.#exportHttp(body);
  }

  async #exportHttp(body: Buffer): Promise<void> {
    const res = await fetch(this.#url, {
      method: 'POST',
      headers: { ...this.#headers, 'content-type': 'application/x-protobuf' },
      body,
      signal: AbortSignal.timeout(this.#o.timeoutMs ?? 10_000),
    });
    await res.arrayBuffer();
    if (!res.ok) throw new Error(`OTLP collector at ${this.#url} answered ${res.status}`);
  }

  #exportGrpc(body: Buffer): Promise<void> {
    this.#client ??= new grpc.Client(
      this.#o.endpointAddress.replace(/^https?:\/\//, ''),
      this.#o.isSecure ? grpc.credentials.createSsl() : grpc.credentials.createInsecure(),
    );
    const md = new grpc.Metadata();
    for (const [k, v] of Object.entries(this.#headers)) md.set(k, v);
    const client = this.#client;
    return new Promise((resolve, reject) => {
      client.makeUnaryRequest(
        EXPORT_METHOD,
        (b: Buffer) => b,
        (b: Buffer) => b,
        body,
        md,
        { deadline: Date.now() + (this.#o.timeoutMs ?? 10_000) },
        (err) => (err === null ? resolve() : reject(new Error(`OTLP export: ${err.message}`))),
      );
    });
  }

  /** Closes the gRPC channel (after the last export). */
  close(): void {
    this.#client?.close();
  }
}
