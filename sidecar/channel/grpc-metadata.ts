/**
 * gRPC metadata and the headers that travel over the internal API, converted both ways as daprd's
 * pkg/messaging/v1 does: a binary (`-bin`) value is held in base64 while it travels, IANA
 * permanent HTTP headers reach gRPC with a `dapr-` prefix, and a W3C `traceparent` goes along as
 * OpenCensus' `grpc-trace-bin` too.
 */
import { Buffer } from 'node:buffer';
import * as grpc from '@grpc/grpc-js';

/**
 * Request headers that daprd passes to a gRPC app with a `dapr-` prefix (the IANA permanent
 * request headers it lists in pkg/messaging/v1/util.go, plus HTTP/1-only ones HTTP/2 forbids).
 */
export const PERMANENT_HEADERS: ReadonlySet<string> = new Set([
  'accept',
  'accept-charset',
  'accept-language',
  'accept-ranges',
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'cache-control',
  'content-type',
  'content-length',
  'cookie',
  'date',
  'expect',
  'from',
  'host',
  'if-match',
  'if-modified-since',
  'if-none-match',
  'if-schedule-tag-match',
  'if-unmodified-since',
  'max-forwards',
  'origin',
  'pragma',
  'referer',
  'via',
  'warning',
]);

/** Headers as they travel: a name's values, binary ones in base64. */
export type TravellingHeaders = Readonly<Record<string, string | readonly string[] | undefined>>;

const NONE: ReadonlySet<string> = new Set();

/** The metadata's entries by name, binary values in base64; names in `skip` are left out. */
export function fromGrpcMetadata(md: grpc.Metadata, skip = NONE): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  const all = md.toJSON();
  for (const key of Object.keys(all)) {
    if (skip.has(key)) continue;
    const values = (all[key] ?? []).map((v) => (Buffer.isBuffer(v) ? v.toString('base64') : v));
    if (values.length > 0) out[key] = values;
  }
  return out;
}

/** Names with one value hold it as a string, as node's header objects do. */
export function singleValued(headers: Record<string, string[]>): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const key of Object.keys(headers)) {
    const values = headers[key] as string[];
    out[key] = values.length === 1 ? (values[0] as string) : values;
  }
  return out;
}

/** Adds a name's values, decoding base64 for a binary name; a name or value gRPC refuses is left out. */
export function addValues(md: grpc.Metadata, key: string, values: string | readonly string[]): void {
  const binary = key.endsWith('-bin');
  try {
    for (const v of typeof values === 'string' ? [values] : values)
      md.add(key, binary ? Buffer.from(v, 'base64') : v);
  } catch {
    // Not a name or value gRPC metadata can carry (e.g. non-ASCII): left out, as grpc-go refuses it.
  }
}

/** Travelling headers as gRPC metadata, without renaming (an app's trailers). */
export function toGrpcTrailers(headers: TravellingHeaders): grpc.Metadata {
  const md = new grpc.Metadata();
  for (const key of Object.keys(headers)) {
    const values = headers[key];
    if (values !== undefined) addValues(md, key, values);
  }
  return md;
}

/**
 * Travelling headers as gRPC metadata with HTTP header conversion (daprd's
 * InternalMetadataToGrpcMetadata): permanent HTTP headers get a `dapr-` prefix, names for which
 * `skip` is true and pseudo-headers are left out, and the trace context (this one's, else
 * `traceparent`) goes as `traceparent`/`tracestate` and `grpc-trace-bin`.
 */
export function toGrpcMetadata(
  headers: TravellingHeaders,
  skip: ReadonlySet<string>,
  traceparent?: string,
): grpc.Metadata {
  const md = new grpc.Metadata();
  let parent = traceparent;
  let tracestate: string | undefined;
  let grpcTraceBin: string | undefined;
  for (const key of Object.keys(headers)) {
    const raw = headers[key];
    if (raw === undefined) continue;
    const values = typeof raw === 'string' ? [raw] : raw;
    const name = key.toLowerCase();
    if (name === 'traceparent') parent = values[0] ?? parent;
    else if (name === 'tracestate') tracestate = values[0];
    else if (name === 'grpc-trace-bin') grpcTraceBin = values[0];
    else if (!skip.has(name) && !name.startsWith(':'))
      addValues(md, PERMANENT_HEADERS.has(name) ? `dapr-${name}` : name, values);
  }
  const bin = parent === undefined ? undefined : traceBin(parent);
  if (parent !== undefined && bin !== undefined) {
    md.set('traceparent', parent);
    if (tracestate !== undefined && tracestate !== '') md.set('tracestate', tracestate);
    md.set('grpc-trace-bin', bin);
  } else if (grpcTraceBin !== undefined) md.set('grpc-trace-bin', Buffer.from(grpcTraceBin, 'base64'));
  return md;
}

/** A body whole, or its length once it is over `max` (the rest is read and dropped). */
export async function readBounded(chunks: AsyncIterable<Buffer>, max: number): Promise<Buffer | number> {
  const kept: Buffer[] = [];
  let total = 0;
  for await (const chunk of chunks) {
    total += chunk.length;
    if (total <= max) kept.push(chunk);
    else kept.length = 0;
  }
  return total > max ? total : kept.length === 1 ? (kept[0] as Buffer) : Buffer.concat(kept);
}

/**
 * OpenCensus' binary trace context (`grpc-trace-bin`) for a W3C traceparent: version 0, then
 * field 0 the 16-byte trace id, field 1 the 8-byte span id, field 2 the options byte.
 */
export function traceBin(traceparent: string): Buffer | undefined {
  const m = /^[0-9a-f]{2}-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})/.exec(traceparent);
  if (m === null) return undefined;
  const out = Buffer.alloc(29);
  out[1] = 0;
  out.write(m[1] as string, 2, 'hex');
  out[18] = 1;
  out.write(m[2] as string, 19, 'hex');
  out[27] = 2;
  out.write(m[3] as string, 28, 'hex');
  return out;
}

/** The W3C traceparent that a `grpc-trace-bin` value carries; undefined when it is not one. */
export function traceparentFromBin(bin: Buffer): string | undefined {
  if (bin.length < 29 || bin[0] !== 0 || bin[1] !== 0 || bin[18] !== 1 || bin[27] !== 2) return undefined;
  const flags = (bin[28] as number).toString(16).padStart(2, '0');
  return `00-${bin.toString('hex', 2, 18)}-${bin.toString('hex', 19, 27)}-${flags}`;
}
