/**
 * `Dapr/InvokeService` (daprd's pkg/api/grpc InvokeService): the gRPC caller's form of service
 * invocation. The request's metadata travels to the callee like an HTTP caller's headers; the
 * answer is read whole, as daprd does, and comes back as:
 * - from an HTTP app: the body as `data`, its headers as response metadata (the IANA permanent
 *   ones with a `dapr-` prefix) plus `dapr-http-status`; a non-2xx status is an error, with
 *   the code the status maps to and an ErrorInfo carrying the status and the body's start;
 * - from a gRPC app: its data, or its status with the details it sent.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { Readable } from 'node:stream';
import * as grpc from '@grpc/grpc-js';
import type { Cancellation } from '../../channel/cancellation.js';
import { PERMANENT_HEADERS, traceBin } from '../../channel/grpc-channel.js';
import { DaprError } from '../../errors/dapr-error.js';
import { newTraceparent } from '../../invoke/headers.js';
import type { InvokeResult, ServiceInvoker } from '../../invoke/invoker.js';
import { invokeService } from '../universal/invoke.js';
import type { InvokeResponseMessage, InvokeServiceRequestMessage } from './dapr-proto.js';
import { fromHttpStatus, type GrpcError, grpcError } from './grpc-errors.js';

/** The header that carries an HTTP app's status to a gRPC caller. */
export const HTTP_STATUS_HEADER = 'dapr-http-status';

/** What the handler answers: the response and its header metadata, or an error status. */
export type InvokeOutcome =
  | {
      readonly ok: true;
      readonly response: InvokeResponseMessage;
      readonly metadata: grpc.Metadata;
      /** A gRPC app's trailers, sent with the status. */
      readonly trailers: grpc.Metadata | undefined;
    }
  | { readonly ok: false; readonly error: GrpcError };

const EMPTY = Buffer.alloc(0);

/** The caller's metadata as request headers (binary values in base64, as daprd's internal metadata holds them). */
function requestHeaders(md: grpc.Metadata, contentType: string): IncomingHttpHeaders {
  const headers: IncomingHttpHeaders = {};
  const all = md.toJSON();
  for (const key of Object.keys(all)) {
    const values = (all[key] ?? []).map((v) => (Buffer.isBuffer(v) ? v.toString('base64') : v));
    if (values.length > 0) headers[key] = values.length === 1 ? values[0] : values;
  }
  // The message's content type is the body's (the transport's `application/grpc` is not).
  if (contentType === '') delete headers['content-type'];
  else headers['content-type'] = contentType;
  return headers;
}

function add(md: grpc.Metadata, key: string, value: string): void {
  try {
    md.add(key, value);
  } catch {
    // A name or value gRPC metadata cannot carry (e.g. non-ASCII): left out.
  }
}

/**
 * The callee's headers as response metadata (daprd's InternalMetadataToGrpcMetadata with HTTP
 * header conversion): permanent HTTP headers get a `dapr-` prefix, and the trace context goes
 * back as `traceparent`/`tracestate` and `grpc-trace-bin`.
 */
function responseMetadata(
  headers: Record<string, string | string[]>,
  requestTraceparent: string,
): grpc.Metadata {
  const md = new grpc.Metadata();
  let traceparent = requestTraceparent;
  let tracestate: string | undefined;
  for (const key of Object.keys(headers)) {
    const raw = headers[key];
    if (raw === undefined) continue;
    const values = typeof raw === 'string' ? [raw] : raw;
    const name = key.toLowerCase();
    if (name === 'traceparent') traceparent = values[0] ?? traceparent;
    else if (name === 'tracestate') tracestate = values[0];
    else if (name !== 'grpc-trace-bin' && name !== 'destination-app-id')
      for (const v of values) add(md, PERMANENT_HEADERS.has(name) ? `dapr-${name}` : name, v);
  }
  const bin = traceBin(traceparent);
  if (bin !== undefined) {
    md.set('traceparent', traceparent);
    if (tracestate !== undefined && tracestate !== '') md.set('tracestate', tracestate);
    md.set('grpc-trace-bin', bin);
  }
  return md;
}

/** A gRPC app's trailers as gRPC metadata (daprd converts them without the HTTP renaming). */
function trailerMetadata(
  trailers: Readonly<Record<string, string[]>> | undefined,
): grpc.Metadata | undefined {
  if (trailers === undefined) return undefined;
  const md = new grpc.Metadata();
  for (const key of Object.keys(trailers)) {
    const binary = key.endsWith('-bin');
    for (const v of trailers[key] ?? []) {
      try {
        if (binary) md.add(key, Buffer.from(v, 'base64'));
        else md.add(key, v);
      } catch {
        // Not a name or value gRPC metadata can carry: left out.
      }
    }
  }
  return md;
}

/** The answer's body whole, or its length once it is over `max` (the rest is read and dropped). */
async function bodyOf(result: InvokeResult, max: number): Promise<Buffer | number> {
  if (Buffer.isBuffer(result.body)) return result.body.length > max ? result.body.length : result.body;
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of result.body as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (total <= max) chunks.push(chunk);
    else chunks.length = 0;
  }
  return total > max ? total : chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
}

/** Merges `extra` into the error's metadata (headers travel with an error status as trailers). */
function withMetadata(error: GrpcError, extra: grpc.Metadata): GrpcError {
  const md = error.metadata ?? new grpc.Metadata();
  md.merge(extra);
  return { ...error, metadata: md };
}

/** Runs one InvokeService call through the invoker. */
export async function invokeOverGrpc(
  invoker: ServiceInvoker | undefined,
  req: InvokeServiceRequestMessage,
  call: {
    metadata: grpc.Metadata;
    peer: string;
    localIp: string;
    cancel: Cancellation;
    maxBodyBytes: number;
  },
): Promise<InvokeOutcome> {
  if (invoker === undefined) throw new DaprError('ERR_DIRECT_INVOKE', 'invoke API is not ready');
  const msg = req.message;
  const data = msg?.data?.value ?? EMPTY;
  const headers = requestHeaders(call.metadata, msg?.content_type ?? '');
  let traceparent = headers.traceparent;
  if (typeof traceparent !== 'string') {
    traceparent = newTraceparent();
    headers.traceparent = traceparent;
  }
  const result = await invokeService(invoker, {
    targetId: req.id,
    method: msg?.method ?? '',
    verb: msg?.http_extension?.verb ?? 'NONE',
    query: msg?.http_extension?.querystring ?? '',
    headers,
    body: data.length === 0 ? Readable.from([]) : Readable.from([data]),
    contentLength: data.length,
    remoteIp: call.peer,
    localIp: call.localIp,
    signal: call.cancel,
  });
  const body = await bodyOf(result, call.maxBodyBytes);
  const metadata = responseMetadata(result.headers, traceparent);
  // The answer is one message, which the API's message limit (`--max-body-size`) bounds.
  if (typeof body === 'number')
    return {
      ok: false,
      error: {
        code: grpc.status.RESOURCE_EXHAUSTED,
        details: `grpc: trying to send message larger than max (${body} vs. ${call.maxBodyBytes})`,
        metadata,
      },
    };
  const app = result.grpcStatus;
  const trailers = trailerMetadata(app?.trailers);
  if (app !== undefined) {
    if (app.code !== 0) {
      if (trailers !== undefined) metadata.merge(trailers);
      return { ok: false, error: grpcError(app.code, app.message, app.details, metadata) };
    }
  } else {
    metadata.set(HTTP_STATUS_HEADER, String(result.status));
    const error = fromHttpStatus(result.status, body.toString());
    if (error !== undefined) return { ok: false, error: withMetadata(error, metadata) };
  }
  const contentType = result.headers['content-type'];
  return {
    ok: true,
    metadata,
    trailers,
    response: {
      data: { type_url: '', value: body },
      content_type: typeof contentType === 'string' ? contentType : (contentType?.[0] ?? ''),
    },
  };
}
