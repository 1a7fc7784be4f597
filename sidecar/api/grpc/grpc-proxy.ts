/**
 * gRPC proxying (daprd's pkg/api/grpc/proxy): a call for a service the sidecar does not serve,
 * sent with `dapr-app-id` metadata, is passed on stream by stream, with no knowledge of its
 * protos. Request and response headers, every message (as raw DATA, compressed or not) and the
 * trailers are relayed as they arrive, with backpressure both ways, so unary and streaming calls
 * alike work. This file holds the relay and the adapters for the streams of our h2 layer, which
 * carries a proxied call on every leg: the API port, the sidecar hop and the app.
 */
import type * as grpc from '@grpc/grpc-js';
import {
  BrokenCircuitError,
  StatusCodeError,
  type TargetPolicy,
  TimeoutError,
} from '../../resiliency/index.js';
import { encodeGrpcMessage, GrpcStatus } from '../internal/grpc-framing.js';
import type { H2Stream } from '../internal/h2/stream.js';
import type { GrpcError } from './grpc-errors.js';

/** Header fields as they travel: lower-case names, string values. */
export type Fields = [string, string][];

/** The side that sent the call: our server stream. */
export interface CallerSide {
  /** Response headers; with `endStream`, a trailers-only response. */
  respond(fields: Fields, endStream: boolean): void;
  /** A DATA payload; false when the side wants `onDrain` first. */
  write(chunk: Buffer): boolean;
  /** Ends the response with these trailers. */
  end(trailers: Fields): void;
  reset(): void;
  pause(): void;
  resume(): void;
  onData?: (chunk: Buffer) => void;
  onEnd?: () => void;
  onDrain?: () => void;
  /** The stream is gone; `aborted` when the caller reset it. */
  onClose?: (aborted: boolean) => void;
  /** Delivers what arrived before the handlers were set (the relay calls it once wired). */
  replay?: () => void;
}

/** The side the call goes to: our client stream. */
export interface TargetSide {
  write(chunk: Buffer): boolean;
  end(): void;
  reset(): void;
  pause(): void;
  resume(): void;
  /** The response headers (`endStream`: trailers-only), then the trailers (`endStream` again). */
  onHeaders?: (fields: Fields, endStream: boolean) => void;
  onData?: (chunk: Buffer) => void;
  onEnd?: () => void;
  onDrain?: () => void;
  /** The stream is gone; `err` when it failed. */
  onClose?: (err: Error | undefined) => void;
}

/** Names that belong to one HTTP/2 hop, never forwarded (RFC 9113 §8.2.2), plus the caller's API token. */
const HOP_FIELDS = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'host',
  'te',
  'http2-settings',
  'dapr-api-token',
]);

/**
 * The metadata of a call's request headers, without pseudo-headers and hop-by-hop fields (and
 * the caller's API token, unless `keepToken`).
 */
export function forwardedMetadata(
  headers: Readonly<Record<string, string | string[] | number | undefined>>,
  keepToken = false,
): Fields {
  const out: Fields = [];
  for (const name of Object.keys(headers)) {
    if (name.startsWith(':') || (HOP_FIELDS.has(name) && !(keepToken && name === 'dapr-api-token'))) continue;
    const v = headers[name];
    if (v === undefined) continue;
    if (Array.isArray(v)) for (const one of v) out.push([name, one]);
    else out.push([name, String(v)]);
  }
  return out;
}

/** A status as a trailers-only response (or as trailers, without `:status`). */
export function statusFields(error: GrpcError, trailersOnly: boolean): Fields {
  const out: Fields = trailersOnly
    ? [
        [':status', '200'],
        ['content-type', 'application/grpc'],
      ]
    : [];
  out.push(['grpc-status', String(error.code)], ['grpc-message', encodeGrpcMessage(error.details)]);
  const bin = (error.metadata as grpc.Metadata | undefined)?.get('grpc-status-details-bin')[0];
  if (Buffer.isBuffer(bin)) out.push(['grpc-status-details-bin', bin.toString('base64').replace(/=+$/, '')]);
  return out;
}

function statusOf(fields: Fields | undefined): number | undefined {
  const v = fields?.find(([n]) => n === 'grpc-status')?.[1];
  return v === undefined ? undefined : Number(v);
}

/**
 * Relays one call between `caller` and `target` until both are done. A target that fails before
 * answering becomes Unavailable with the failure's message; after its headers, a reset.
 * `onDone` gets the call's gRPC status code once (Cancelled when a side reset it).
 */
export function relay(caller: CallerSide, target: TargetSide, onDone?: (code: number) => void): void {
  let responded = false;
  let finished = false;
  let trailers: Fields | undefined;
  const finish = (code: number): void => {
    if (finished) return;
    finished = true;
    onDone?.(code);
  };
  let done = false;
  caller.onData = (chunk) => {
    if (!target.write(chunk)) caller.pause();
  };
  target.onDrain = () => caller.resume();
  caller.onEnd = () => target.end();
  caller.onClose = (aborted) => {
    if (aborted && !done) {
      done = true;
      target.reset();
    }
    finish(statusOf(trailers) ?? GrpcStatus.CANCELLED);
  };
  target.onHeaders = (fields, endStream) => {
    if (done) return;
    if (responded) {
      trailers = fields;
      return;
    }
    responded = true;
    if (endStream) {
      done = true;
      trailers = fields;
    }
    caller.respond(fields, endStream);
  };
  target.onData = (chunk) => {
    if (!caller.write(chunk)) target.pause();
  };
  caller.onDrain = () => target.resume();
  target.onEnd = () => {
    if (done) return;
    done = true;
    const missing = { code: GrpcStatus.INTERNAL, details: 'proxy: the response ended without a status' };
    if (!responded) trailers = statusFields(missing, true);
    else trailers ??= statusFields(missing, false);
    if (!responded) caller.respond(trailers, true);
    else caller.end(trailers);
  };
  target.onClose = (err) => {
    if (err === undefined || done) return;
    done = true;
    if (responded) caller.reset();
    else {
      trailers = statusFields({ code: GrpcStatus.UNAVAILABLE, details: err.message }, true);
      caller.respond(trailers, true);
    }
  };
  caller.replay?.();
}

/**
 * A stream of our h2 layer's server (the API port, the internal API) as the caller's side. Until
 * the relay is wired (routing may wait for name resolution), what arrives is held, and the
 * stream withholds flow-control credit, so the caller stops after one window.
 */
export function h2Caller(stream: H2Stream): CallerSide {
  const held: Buffer[] = [];
  let ended = false;
  let closed: boolean | undefined;
  const side: CallerSide = {
    respond: (fields, endStream) => stream.sendHeaders(fields, endStream),
    write: (chunk) => stream.write(chunk),
    end: (trailers) => stream.end(undefined, trailers),
    reset: () => stream.reset(),
    pause: () => stream.pause(),
    resume: () => stream.resume(),
    replay() {
      for (const chunk of held.splice(0)) side.onData?.(chunk);
      if (ended) side.onEnd?.();
      if (closed !== undefined) side.onClose?.(closed);
      stream.resume();
    },
  };
  stream.pause();
  stream.onData = (chunk) => {
    if (side.onData === undefined) held.push(chunk);
    else side.onData(chunk);
  };
  stream.onEnd = () => {
    if (side.onEnd === undefined) ended = true;
    else side.onEnd();
  };
  stream.onDrain = () => side.onDrain?.();
  stream.onClose = (err) => {
    if (side.onClose === undefined) closed = err !== undefined;
    else side.onClose(err !== undefined);
  };
  return side;
}

/** A stream of our h2 layer's client (toward another sidecar) as the target's side. */
export function h2Target(stream: H2Stream): TargetSide {
  const side: TargetSide = {
    write: (chunk) => stream.write(chunk),
    end: () => stream.end(),
    reset: () => stream.reset(),
    pause: () => stream.pause(),
    resume: () => stream.resume(),
  };
  stream.onHeaders = (headers, endStream) => side.onHeaders?.(Object.entries(headers), endStream);
  stream.onData = (chunk) => side.onData?.(chunk);
  stream.onEnd = () => side.onEnd?.();
  stream.onDrain = () => side.onDrain?.();
  stream.onClose = (err) => side.onClose?.(err);
  return side;
}

/** A unary call's answer, held whole so that a resiliency policy can judge and retry it. */
interface HeldAnswer {
  readonly headers: Fields;
  readonly data: Buffer[];
  readonly trailers: Fields;
  readonly status: number;
}

/** Why a policy-run proxied call failed, as the status the caller gets (daprd's wording). */
function policyFailure(err: unknown): GrpcError {
  if (err instanceof TimeoutError)
    return { code: GrpcStatus.DEADLINE_EXCEEDED, details: 'context deadline exceeded' };
  if (err instanceof BrokenCircuitError) return { code: GrpcStatus.UNKNOWN, details: err.message };
  if (err instanceof StatusCodeError) return { code: err.statusCode, details: err.message };
  return { code: GrpcStatus.INTERNAL, details: err instanceof Error ? err.message : String(err) };
}

/**
 * A unary proxied call under a resiliency policy (daprd applies the target app's policy to the
 * whole of a call not marked `dapr-stream`): the request is read whole, each attempt opens a new
 * stream with `open` and its answer is held until the policy is done with it, so that a timeout
 * ends it, an error status counts against the circuit breaker and is retried as the policy says,
 * and the caller gets one answer. Requests and answers over `maxBytes` fail ResourceExhausted.
 */
export function relayUnary(
  caller: CallerSide,
  open: () => TargetSide,
  policy: TargetPolicy,
  maxBytes: number,
  onDone: (code: number) => void,
): void {
  const stop = new AbortController();
  const request: Buffer[] = [];
  let size = 0;
  let tooBig = false;
  let ended = false;
  caller.onData = (chunk) => {
    size += chunk.length;
    if (size > maxBytes) tooBig = true;
    else request.push(chunk);
  };
  caller.onClose = (aborted) => {
    if (aborted) stop.abort();
  };
  const fail = (error: GrpcError): void => {
    caller.respond(statusFields(error, true), true);
    onDone(error.code);
  };
  caller.onEnd = () => {
    if (ended) return;
    ended = true;
    if (tooBig) {
      fail({
        code: GrpcStatus.RESOURCE_EXHAUSTED,
        details: `grpc: received message larger than max (${size} vs. ${maxBytes})`,
      });
      return;
    }
    policy
      .execute((signal) => attempt(open, request, maxBytes, signal), {
        signal: stop.signal,
        failureOf: (a) => (a.status === 0 ? undefined : a.status),
      })
      .then(
        (a) => {
          if (stop.signal.aborted) return;
          if (a.headers === a.trailers) caller.respond(a.headers, true);
          else {
            caller.respond(a.headers, false);
            for (const chunk of a.data) caller.write(chunk);
            caller.end(a.trailers);
          }
          onDone(a.status);
        },
        (err: unknown) => {
          if (!stop.signal.aborted) fail(policyFailure(err));
        },
      );
  };
  caller.replay?.();
}

/** One attempt of a held unary call: resolves with its whole answer, rejects on a transport failure. */
function attempt(
  open: () => TargetSide,
  request: readonly Buffer[],
  maxBytes: number,
  signal: AbortSignal,
): Promise<HeldAnswer> {
  return new Promise<HeldAnswer>((resolve, reject) => {
    let target: TargetSide;
    try {
      target = open();
    } catch (err) {
      reject(new StatusCodeError(GrpcStatus.UNAVAILABLE, (err as Error).message));
      return;
    }
    let headers: Fields | undefined;
    let trailers: Fields | undefined;
    const data: Buffer[] = [];
    let size = 0;
    let settled = false;
    const settle = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      fn();
    };
    const onAbort = (): void => {
      target.reset();
      settle(() => reject(signal.reason));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    target.onHeaders = (fields, endStream) => {
      if (headers === undefined) {
        headers = fields;
        if (endStream) trailers = fields;
      } else trailers = fields;
    };
    target.onData = (chunk) => {
      size += chunk.length;
      if (size <= maxBytes) {
        data.push(chunk);
        return;
      }
      target.reset();
      settle(() =>
        reject(
          new StatusCodeError(
            GrpcStatus.RESOURCE_EXHAUSTED,
            `grpc: received message larger than max (${size} vs. ${maxBytes})`,
          ),
        ),
      );
    };
    target.onEnd = () =>
      settle(() => {
        if (headers === undefined || trailers === undefined)
          reject(new StatusCodeError(GrpcStatus.INTERNAL, 'proxy: the response ended without a status'));
        else resolve({ headers, data, trailers, status: statusOf(trailers) ?? GrpcStatus.UNKNOWN });
      });
    target.onClose = (err) => {
      if (err !== undefined) settle(() => reject(new StatusCodeError(GrpcStatus.UNAVAILABLE, err.message)));
    };
    for (const chunk of request) target.write(chunk);
    target.end();
  });
}
