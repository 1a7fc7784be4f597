import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import type { H2Stream } from '../api/internal/h2/stream.js';
import type { AnyValue } from '../api/internal/rpc-status.js';
import type { CancelSignal } from './cancellation.js';

/**
 * The contract building blocks (invocation, pub/sub, bindings, actors) use to call the app.
 * Implementations: HTTP (`http-channel.ts`) and gRPC (`grpc-channel.ts`, service invocation
 * through `AppCallback/OnInvoke`).
 */

/** A call to the app. */
export interface AppRequest {
  /** HTTP verb, e.g. `POST`. */
  readonly method: string;
  /** Path on the app, starting with `/`, without the query. */
  readonly path: string;
  /** Raw query string without `?`. */
  readonly query?: string;
  readonly headers?: Readonly<Record<string, string | readonly string[]>>;
  readonly body?: Buffer | Uint8Array | Readable;
  readonly signal?: CancelSignal;
  /** The verb as it crossed the internal API (`NONE` from a gRPC caller); `method` when absent. */
  readonly verb?: string;
  /** The body's content type when it is not in `headers` (a gRPC app receives it as a field). */
  readonly contentType?: string;
  /**
   * The invocation's metadata as it crossed the internal API (binary `-bin` values in base64). A
   * gRPC app receives this as its call metadata; `headers` is what an HTTP app receives.
   */
  readonly metadata?: Readonly<Record<string, readonly string[]>>;
}

/** The app's answer; `body` must be consumed (or destroyed) to free the concurrency slot. */
export interface AppResponse {
  /** HTTP status; from a gRPC app, the status its gRPC code maps to (`grpcStatus` holds the code). */
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Readable;
  /** A gRPC app's answer: its status code (0 = OK) and message. Undefined for HTTP apps. */
  readonly grpcStatus?: {
    readonly code: number;
    readonly message: string;
    readonly details?: readonly AnyValue[];
    /** Its response trailers (binary values in base64). */
    readonly trailers?: Readonly<Record<string, string[]>>;
  };
}

/** A channel to the app. */
export interface AppChannel {
  invoke(req: AppRequest): Promise<AppResponse>;
  /** One app health probe (`--enable-app-health-check`): true when the app answered healthy in time. */
  probeHealth(path: string, timeoutMs: number): Promise<boolean>;
  /** A raw HTTP/2 stream for a proxied gRPC call (gRPC apps only; see GrpcAppChannel). */
  proxyStream?(path: string, metadata: readonly (readonly [string, string])[]): H2Stream;
  /** Releases pooled connections. */
  close(): void;
}

/**
 * Raised by a channel while app health checks report the app unhealthy (daprd refuses calls to
 * the app then; its message, as a Go gRPC status error, is kept word for word).
 */
export class AppUnhealthyError extends Error {
  override readonly name = 'AppUnhealthyError';
  constructor() {
    super('rpc error: code = Internal desc = app is not in a healthy state');
  }
}

/** The first value of a header as Node gives it (`''` when absent). */
export function firstHeaderValue(v: string | readonly string[] | undefined): string {
  return v === undefined ? '' : typeof v === 'string' ? v : (v[0] ?? '');
}

/**
 * A body of `length` bytes that is already buffered whole and unread, taken in one read(), or
 * undefined when it is not (yet). A small body usually arrives with its head: taking it this way
 * spares the flowing mode and its listeners. The stream is resumed, so that it reaches its end as
 * a consumed body does.
 */
export function takeWholeBody(src: Readable, length: number): Buffer | undefined {
  if (
    length <= 0 ||
    src.destroyed ||
    src.readableFlowing !== null ||
    src.readableObjectMode ||
    src.readableLength < length
  )
    return undefined;
  const whole = src.read() as Buffer;
  src.resume();
  return whole;
}
