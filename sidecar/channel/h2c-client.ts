/**
 * HTTP/2 over cleartext with prior knowledge, for apps served with `--app-protocol h2c` (daprd
 * calls them through an h2c transport). One node:http2 session per app, opened on first use and
 * opened again after the app closes it; each call is a stream.
 */
import {
  type ClientHttp2Session,
  type ClientHttp2Stream,
  connect,
  constants,
  type IncomingHttpHeaders,
  type OutgoingHttpHeaders,
} from 'node:http2';
import { isIPv6 } from 'node:net';
import { Readable } from 'node:stream';
import { abortError, type CancelSignal, onCancel } from './cancellation.js';

/** One call to the app. */
export interface H2cRequest {
  readonly method: string;
  /** Path with the query string. */
  readonly path: string;
  readonly headers: OutgoingHttpHeaders;
  readonly body: Buffer | Uint8Array | Readable | undefined;
  readonly signal: CancelSignal | undefined;
}

/** The app's answer; `body` is the stream's readable side. */
export interface H2cResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Readable;
}

const noop = (): void => {};

/** A client for one h2c app. */
export class H2cClient {
  readonly #authority: string;
  #session: ClientHttp2Session | undefined;

  constructor(address: string, port: number) {
    this.#authority = `http://${isIPv6(address) ? `[${address}]` : address}:${port}`;
  }

  #connect(): ClientHttp2Session {
    const current = this.#session;
    if (current !== undefined && !current.closed && !current.destroyed) return current;
    const session = connect(this.#authority);
    // A session the app closes (GOAWAY, idle timeout, error) is replaced on the next call.
    const forget = (): void => {
      if (this.#session === session) this.#session = undefined;
    };
    session.on('close', forget);
    session.on('goaway', forget);
    session.on('error', forget);
    session.unref();
    this.#session = session;
    return session;
  }

  /** Sends one request; resolves with the response head, the body streaming. */
  request(req: H2cRequest): Promise<H2cResponse> {
    return new Promise<H2cResponse>((resolve, reject) => {
      const body = req.body;
      const empty = body === undefined || (!(body instanceof Readable) && body.byteLength === 0);
      let stream: ClientHttp2Stream;
      try {
        // An empty request ends with its headers (node ends a GET's stream there unless told not to).
        stream = this.#connect().request(
          { ...req.headers, ':method': req.method, ':path': req.path },
          { endStream: empty },
        );
      } catch (err) {
        reject(err);
        return;
      }
      const signal = req.signal;
      const off =
        signal === undefined ? undefined : onCancel(signal, () => stream.destroy(abortError(signal)));
      stream.once('close', () => off?.());
      // Errors after the head reach the body's reader; this keeps one with no reader from throwing.
      stream.on('error', noop);
      stream.once('error', reject);
      stream.once('response', (headers) => {
        stream.off('error', reject);
        const status = Number(headers[':status']);
        const out: IncomingHttpHeaders = {};
        for (const k of Object.keys(headers)) if (!k.startsWith(':')) out[k] = headers[k];
        resolve({ status, headers: out, body: stream });
      });
      if (body === undefined || empty) return;
      if (body instanceof Readable) {
        body.once('error', (err) => stream.destroy(err));
        body.pipe(stream);
      } else stream.end(body);
    });
  }

  /** GET `path`: the status answered within `timeoutMs`, or 0 (no answer). */
  probe(path: string, timeoutMs: number, headers: OutgoingHttpHeaders): Promise<number> {
    return new Promise<number>((resolve) => {
      let stream: ClientHttp2Stream;
      try {
        stream = this.#connect().request(
          { ...headers, ':method': 'GET', ':path': path },
          { endStream: true },
        );
      } catch {
        resolve(0);
        return;
      }
      const timer = setTimeout(() => stream.close(constants.NGHTTP2_CANCEL), timeoutMs);
      stream.once('response', (h) => {
        stream.resume();
        resolve(Number(h[':status']));
      });
      stream.on('error', () => resolve(0));
      stream.once('close', () => {
        clearTimeout(timer);
        resolve(0);
      });
    });
  }

  close(): void {
    this.#session?.close();
    this.#session = undefined;
  }
}
