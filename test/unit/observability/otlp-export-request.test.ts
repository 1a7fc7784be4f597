import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import protobuf from 'protobufjs';
import {
  encodeExportRequest,
  OtlpExporter,
  parseOtlpHeaders,
} from '../../../sidecar/observability/tracing/otlp-exporter.js';
import type { FinishedSpan } from '../../../sidecar/observability/tracing/tracer.js';

/** opentelemetry-proto's trace messages, the fields the sidecar writes (common.proto, resource.proto, trace.proto). */
const otlp = protobuf.parse(
  `syntax = "proto3";
  message AnyValue { oneof value { string string_value = 1; bool bool_value = 2; int64 int_value = 3; } }
  message KeyValue { string key = 1; AnyValue value = 2; }
  message Resource { repeated KeyValue attributes = 1; }
  message InstrumentationScope { string name = 1; string version = 2; }
  message Status { string message = 2; int32 code = 3; }
  message Span {
    bytes trace_id = 1; bytes span_id = 2; string trace_state = 3; bytes parent_span_id = 4;
    string name = 5; int32 kind = 6; fixed64 start_time_unix_nano = 7; fixed64 end_time_unix_nano = 8;
    repeated KeyValue attributes = 9; Status status = 15;
  }
  message ScopeSpans { InstrumentationScope scope = 1; repeated Span spans = 2; }
  message ResourceSpans { Resource resource = 1; repeated ScopeSpans scope_spans = 2; }
  message ExportTraceServiceRequest { repeated ResourceSpans resource_spans = 1; }`,
  { keepCase: true },
).root;

const SPAN: FinishedSpan = {
  traceId: '0af7651916cd43dd8448eb211c80319c',
  spanId: 'b7ad6b7169203331',
  parentId: '00f067aa0ba902b7',
  name: 'CallLocal/b/orders',
  kind: 'CLIENT',
  startUs: 1_764_000_000_123_456,
  durationUs: 1500,
  attributes: { 'dapr.protocol': 'http', 'dapr.status_code': '' },
  error: 'Code(500): Internal Server Error',
};

describe('OTLP export request', () => {
  it("encodes spans with opentelemetry-proto's field numbers", () => {
    const type = otlp.lookupType('ExportTraceServiceRequest');
    const decoded = type.toObject(type.decode(encodeExportRequest([SPAN], 'app-a')), {
      longs: String,
      bytes: String,
    }) as {
      resource_spans: {
        resource: { attributes: { key: string; value: { string_value: string } }[] };
        scope_spans: { scope: { name: string }; spans: Record<string, unknown>[] }[];
      }[];
    };
    const rs = decoded.resource_spans[0];
    assert.deepEqual(rs?.resource.attributes, [{ key: 'service.name', value: { string_value: 'app-a' } }]);
    assert.equal(rs?.scope_spans[0]?.scope.name, 'dapr-diagnostics');
    const span = rs?.scope_spans[0]?.spans[0] as Record<string, unknown>;
    const hex = (b64: unknown): string => Buffer.from(String(b64), 'base64').toString('hex');
    assert.equal(hex(span.trace_id), SPAN.traceId);
    assert.equal(hex(span.span_id), SPAN.spanId);
    assert.equal(hex(span.parent_span_id), SPAN.parentId);
    assert.equal(span.name, SPAN.name);
    assert.equal(span.kind, 3, 'SPAN_KIND_CLIENT');
    assert.equal(span.start_time_unix_nano, '1764000000123456000');
    assert.equal(span.end_time_unix_nano, '1764000000124956000');
    assert.deepEqual(span.attributes, [
      { key: 'dapr.protocol', value: { string_value: 'http' } },
      { key: 'dapr.status_code', value: { string_value: '' } },
    ]);
    assert.deepEqual(span.status, { message: 'Code(500): Internal Server Error', code: 2 });
  });

  it('reads the headers setting as OTEL_EXPORTER_OTLP_HEADERS does, leaving malformed pairs out', () => {
    assert.deepEqual(parseOtlpHeaders('Api-Key=abc, x-tenant = blue%20team,broken,=novalue'), {
      'api-key': 'abc',
      'x-tenant': 'blue team',
    });
    assert.deepEqual(parseOtlpHeaders(undefined), {});
  });

  it('POSTs protobuf to <endpoint>/v1/traces with the configured headers, and reports a refusal', async () => {
    const seen: { url: string; type: string; tenant: string; bytes: number }[] = [];
    let status = 200;
    const server = createServer((req, res) => {
      let bytes = 0;
      req.on('data', (c: Buffer) => {
        bytes += c.length;
      });
      req.on('end', () => {
        seen.push({
          url: req.url ?? '',
          type: req.headers['content-type'] ?? '',
          tenant: String(req.headers['x-tenant']),
          bytes,
        });
        res.writeHead(status).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    try {
      const exporter = new OtlpExporter(
        { endpointAddress: `127.0.0.1:${port}`, protocol: 'http', isSecure: false, headers: 'x-tenant=blue' },
        'app-a',
      );
      await exporter.export([SPAN]);
      assert.deepEqual(seen[0], {
        url: '/v1/traces',
        type: 'application/x-protobuf',
        tenant: 'blue',
        bytes: encodeExportRequest([SPAN], 'app-a').length,
      });
      status = 503;
      await assert.rejects(exporter.export([SPAN]), /answered 503/);
    } finally {
      server.close();
    }
  });
});
