import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import type { CancelSignal } from './cancellation.js';

/**
 * The contract building blocks (invocation, pub/sub, bindings, actors) use to call the app.
 * Implementations: HTTP today (`http-channel.ts`), gRPC later.
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
}

/** The app's answer; `body` must be consumed (or destroyed) to free the concurrency slot. */
export interface AppResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Readable;
}

/** A channel to the app. */
export interface AppChannel {
  invoke(req: AppRequest): Promise<AppResponse>;
  /** Releases pooled connections. */
  close(): void;
}
