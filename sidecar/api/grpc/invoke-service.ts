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
import {
  fromGrpcMetadata,
  readBounded,
  singleValued,
  toGrpcMetadata,
  toGrpcTrailers,
} from '../../channel/grpc-metadata.js';
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
  const headers: IncomingHttpHeaders = singleValued(fromGrpcMetadata(md));
  // The message's content type is the body's (the transport's `application/grpc` is not).
  if (contentType === '') delete headers['content-type'];
  else headers['content-type'] = contentType;
  return headers;
}

/** Callee headers not returned as response metadata: daprd's routing header. */
const NOT_RETURNED: ReadonlySet<string> = new Set(['destination-app-id']);

/** The answer's body whole, or its length once it is over `max` (the rest is read and dropped). */
async function bodyOf(result: InvokeResult, max: number): Promise<Buffer | number> {
  if (Buffer.isBuffer(result.body)) return result.body.length > max ? result.body.length : result.body;
  return await readBounded(result.body as AsyncIterable<Buffer>, max);
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
  const metadata = toGrpcMetadata(result.metadata ?? result.headers, NOT_RETURNED, traceparent);
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
  const trailers = app?.trailers === undefined ? undefined : toGrpcTrailers(app.trailers);
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
