/**
 * One call on the internal server: its bookkeeping (metrics events, cancellation when the caller
 * goes), its failure as a gRPC status, and the app's answer sent back as response chunks.
 */
import { type AppResponse, takeWholeBody } from '../../channel/app-channel.js';
import { Cancellation } from '../../channel/cancellation.js';
import { CALLER_ID_HEADER } from '../../invoke/headers.js';
import { invokeChannels } from '../../invoke/invoke-events.js';
import type { Tracer } from '../../observability/tracing/tracer.js';
import type { SpiffeId } from '../../pki/spiffe-id.js';
import { GRPC_CODE_NAMES, GrpcStatus, GrpcStatusError, statusTrailers } from './grpc-framing.js';
import { HpackEncoder } from './h2/hpack.js';
import type { H2Stream } from './h2/stream.js';
import { appResponseHead, frameResponseChunk, type InvokeHead } from './invoke-messages.js';

const encoder = new HpackEncoder();
/** Response headers of every call (stateless HPACK: encoded once). */
export const GRPC_HEADERS = encoder.encode([
  [':status', '200'],
  ['content-type', 'application/grpc'],
]);
/** The trailers of a call that succeeded. */
export const TRAILERS_OK = encoder.encode([['grpc-status', '0']]);

const EMPTY = Buffer.alloc(0);

/** App responses up to this Content-Length are sent whole, in one write. */
const WHOLE_RESPONSE_BYTES = 64 * 1024;

/** A call in progress: its stream and the caller's identity (from the connection). */
export interface Call {
  readonly stream: H2Stream;
  readonly caller: SpiffeId | undefined;
  /** Runs when the stream closes, after the bookkeeping. */
  onClose: ((finished: boolean) => void) | undefined;
  /** The status answered: the app's HTTP status, or a gRPC code. */
  status?: number;
}

/** Ends the call with a status: trailers-only before the headers, trailers after. */
export function failCall(stream: H2Stream, err: GrpcStatusError): void {
  if (stream.closed) return;
  if (!stream.headersSent)
    stream.sendHeaders(
      [[':status', '200'], ['content-type', 'application/grpc'], ...statusTrailers(err)],
      true,
    );
  else stream.end(undefined, statusTrailers(err));
}

/** Counts a call received from `head`'s caller; returns the caller's app id. */
export function callReceived(head: InvokeHead): string {
  const caller = head.metadata[CALLER_ID_HEADER]?.[0] ?? 'unknown';
  if (invokeChannels.requestReceived.hasSubscribers)
    invokeChannels.requestReceived.publish({ sourceAppId: caller });
  return caller;
}

/** Counts a response sent to `caller` with its status (an HTTP status or a gRPC code). */
export function responseSent(call: Call, caller: string, status: number): void {
  call.status = status;
  if (invokeChannels.responseSent.hasSubscribers)
    invokeChannels.responseSent.publish({ sourceAppId: caller, status: String(status) });
}

/**
 * The call's SERVER span (daprd's `CallLocal/<app id>/<method>`), a child of the caller sidecar's
 * span; its context replaces the metadata's `traceparent`, so the app's call is its child. It ends
 * when the stream closes, as an error when the call or a gRPC app failed.
 */
export function traceCall(
  call: Call,
  tracer: Tracer | undefined,
  appId: string,
  head: InvokeHead,
  api: string,
): void {
  if (tracer === undefined) return;
  const span = tracer.start(`CallLocal/${appId}/${head.method}`, 'SERVER', head.metadata.traceparent?.[0]);
  head.metadata.traceparent = [span.traceparent];
  if (!span.recording) return;
  const previous = call.onClose;
  call.onClose = (finished) => {
    previous?.(finished);
    const status = call.status;
    // A gRPC code (below 100) other than OK; an HTTP app's status is the app's answer, not a failure.
    const failed = status !== undefined && status < 100 && status !== 0;
    span.end(
      {
        'rpc.service': 'ServiceInvocation',
        'dapr.protocol': 'grpc',
        'dapr.api': api,
        'dapr.invoke_method': head.method,
        'dapr.status_code': status === undefined ? '' : String(status),
      },
      !finished
        ? 'the caller cancelled the call'
        : failed
          ? `Code(${GRPC_CODE_NAMES[status] ?? status})`
          : undefined,
    );
  };
}

/** A cancellation that fires when the call closes before its response was sent. */
export function abortOn(call: Call): Cancellation {
  const cancel = new Cancellation();
  const previous = call.onClose;
  call.onClose = (finished) => {
    previous?.(finished);
    if (!finished) cancel.cancel();
  };
  return cancel;
}

/**
 * Sends the app's answer as CallLocalStream response chunks: a small answer of known length in one
 * write, anything else chunk by chunk with backpressure, and a read error as the call's status.
 */
export function streamResponse(call: Call, res: AppResponse, caller: string): void {
  const { stream } = call;
  responseSent(call, caller, res.grpcStatus?.code ?? res.status);
  const src = res.body;
  if (stream.closed) {
    src.destroy();
    return;
  }
  const head = appResponseHead(res);
  const cl = res.headers['content-length'];
  const length = cl === undefined ? -1 : Number(cl);
  const data = length <= WHOLE_RESPONSE_BYTES ? takeWholeBody(src, length) : undefined;
  if (data !== undefined) {
    // The whole answer was already buffered (it came with its head): it goes out now, without
    // the flowing mode and three listeners. Errors after this point have nothing left to fail.
    if (src.listenerCount('error') === 0) src.on('error', NOOP);
    stream.sendHeaders(GRPC_HEADERS);
    stream.end(frameResponseChunk({ head, data, seq: 0 }), TRAILERS_OK);
    return;
  }
  const previous = call.onClose;
  call.onClose = (finished) => {
    previous?.(finished);
    if (!src.destroyed) src.destroy();
  };
  if (cl !== undefined && length <= WHOLE_RESPONSE_BYTES) {
    // A small answer of known length (the common case) goes out as one write: headers, one
    // message and the trailers, instead of a flush per chunk and another for the trailers.
    // The usual single chunk is held without an array; `on` rather than `once` for events that
    // come once at most: once() wraps each listener in two more objects.
    let first: Buffer | undefined;
    let more: Buffer[] | undefined;
    src.on('data', (c: Buffer) => {
      if (first === undefined) first = c;
      else if (more === undefined) more = [first, c];
      else more.push(c);
    });
    src.on('end', () => {
      if (stream.closed) return;
      const data = more !== undefined ? Buffer.concat(more) : (first ?? EMPTY);
      stream.sendHeaders(GRPC_HEADERS);
      stream.end(frameResponseChunk(data.length === 0 ? { head } : { head, data, seq: 0 }), TRAILERS_OK);
    });
    src.on('error', (err) => failCall(stream, appReadError(err)));
    return;
  }
  let seq = 0;
  let trailers: Buffer | [string, string][] = TRAILERS_OK;
  stream.onDrain = () => src.resume();
  src.on('data', (data: Buffer) => {
    // The headers go out with the first message rather than in a write of their own.
    const first = !stream.headersSent;
    if (first) stream.sendHeaders(GRPC_HEADERS);
    if (!stream.write(frameResponseChunk(first ? { head, data, seq: seq++ } : { data, seq: seq++ })))
      src.pause();
  });
  src.once('end', () => {
    if (stream.closed) return;
    if (stream.headersSent) stream.end(undefined, trailers);
    else {
      stream.sendHeaders(GRPC_HEADERS);
      stream.end(frameResponseChunk({ head }), trailers);
    }
  });
  src.once('error', (err) => {
    trailers = statusTrailers(appReadError(err));
    if (stream.closed || stream.writableEnded) return;
    if (stream.headersSent) stream.end(undefined, trailers);
    else failCall(stream, appReadError(err));
  });
}

const NOOP = (): void => {};

function appReadError(err: Error): GrpcStatusError {
  return new GrpcStatusError(GrpcStatus.INTERNAL, `error reading the app response: ${err.message}`);
}

/** daprd's wording for an internal request without its message (messages.ErrInternalInvokeRequest). */
export const MISSING_FIELDS =
  'failed to decode the internal invoke request: request does not contain the required fields';

/** A request whose protobuf cannot be decoded: InvalidArgument, never an uncaught throw. */
export function malformedRequest(err: unknown): GrpcStatusError {
  return new GrpcStatusError(
    GrpcStatus.INVALID_ARGUMENT,
    `failed to decode the internal invoke request: ${(err as Error).message}`,
    { cause: err },
  );
}
