import { request as httpRequest, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { Readable } from 'node:stream';
import { type AppCallEvent, type AppHealthProbeEvent, channels } from '../observability/events.js';
import { type AppChannel, type AppRequest, type AppResponse, AppUnhealthyError } from './app-channel.js';
import { abortError, onCancel, throwIfCancelled } from './cancellation.js';
import { H2cClient } from './h2c-client.js';
import { Http1Pool } from './http1-client.js';
import { Semaphore } from './semaphore.js';

/** Options for `HttpAppChannel`. */
export interface HttpChannelOptions {
  readonly address: string;
  readonly port: number;
  /** `--app-max-concurrency`; <= 0 unlimited. Extra calls queue, they are not rejected. */
  readonly maxConcurrency: number;
  /** `APP_API_TOKEN`, sent as `dapr-api-token` when set. */
  readonly appApiToken?: string;
  /** `--app-protocol https`: TLS to the app without verifying its certificate, like daprd. */
  readonly tls?: boolean;
  /** `--app-protocol h2c`: HTTP/2 over cleartext with prior knowledge. */
  readonly h2c?: boolean;
  /** App health checks' verdict; calls are refused while it is false. */
  readonly isHealthy?: () => boolean;
}

const NO_RELEASE = (): void => {};

/**
 * HTTP channel to the app (daprd's pkg/channel/http). Keep-alive connections, a concurrency
 * limit held until the response body has been read, and `appCall` events for metrics.
 */
export class HttpAppChannel implements AppChannel {
  readonly #options: HttpChannelOptions;
  /** node:https for TLS apps. */
  readonly #agent: HttpsAgent | undefined;
  /** Our HTTP/1.1 client for plaintext apps (see http1-client.ts for why not node:http). */
  readonly #pool: Http1Pool | undefined;
  /** HTTP/2 for h2c apps. */
  readonly #h2c: H2cClient | undefined;
  readonly #limit: Semaphore;

  constructor(options: HttpChannelOptions) {
    this.#options = options;
    this.#limit = new Semaphore(options.maxConcurrency);
    if (options.h2c === true) this.#h2c = new H2cClient(options.address, options.port);
    // daprd dials the app's TLS port with InsecureSkipVerify: the app's certificate is not checked.
    else if (options.tls === true)
      this.#agent = new HttpsAgent({
        keepAlive: true,
        maxSockets: Number.POSITIVE_INFINITY,
        rejectUnauthorized: false,
      });
    else this.#pool = new Http1Pool(options.address, options.port);
  }

  /** Calls currently holding a concurrency slot. */
  get activeCalls(): number {
    return this.#limit.active;
  }

  /** Calls waiting for a slot. */
  get queuedCalls(): number {
    return this.#limit.queued;
  }

  async invoke(req: AppRequest): Promise<AppResponse> {
    // daprd's HTTP channel refuses, before anything else, a call without an HTTP verb (a gRPC
    // caller's NONE, e.g. the Go SDK given a verb it does not know) and CONNECT, which net/http
    // cannot send (pkg/channel/http InvokeMethod); the callee reports it as an app-channel error.
    if (req.verb === 'NONE' || req.verb === 'CONNECT')
      throw new Error('rpc error: code = InvalidArgument desc = invalid HTTP verb');
    if (this.#options.isHealthy?.() === false) throw new AppUnhealthyError();
    const signal = req.signal;
    const release = this.#limit.unlimited ? NO_RELEASE : await this.#limit.acquire(signal);
    throwIfCancelled(signal);
    const started = performance.now();
    // The path is '/' + the invoked method; daprd adds that '/' only when the method has none
    // (constructRequest), so a method given as "/x" reaches the app as /x, not //x.
    const target = req.path.startsWith('//') ? req.path.slice(1) : req.path;
    const path = req.query === undefined || req.query === '' ? target : `${target}?${req.query}`;
    // A spread copies the given headers in one allocation; adding them one by one grew the object's
    // property store several times per call.
    const headers: OutgoingHttpHeaders = { ...(req.headers as OutgoingHttpHeaders | undefined) };
    if (this.#options.appApiToken !== undefined) headers['dapr-api-token'] = this.#options.appApiToken;
    const body = req.body;
    if (body !== undefined && !(body instanceof Readable))
      headers['content-length'] = String(body.byteLength);
    let res: AppResponse;
    let off: (() => void) | undefined;
    try {
      const pool = this.#pool;
      if (pool !== undefined) {
        // Its answer has the fields of an AppResponse and nothing else: returned as it is.
        res = await pool.request({ method: req.method, path, headers, body, signal });
      } else if (this.#h2c !== undefined) {
        const r = await this.#h2c.request({ method: req.method, path, headers, body, signal });
        res = { status: r.status, headers: r.headers, body: r.body };
      } else {
        // Cancellation by hand rather than http.request's `signal` option, which wraps the request
        // in extra listeners and an abort-signal stream helper on every call.
        const m = await new Promise<IncomingMessage>((resolve, reject) => {
          const out = httpsRequest(
            {
              host: this.#options.address,
              port: this.#options.port,
              method: req.method,
              path,
              headers,
              agent: this.#agent,
            },
            resolve,
          );
          out.once('error', reject);
          if (signal !== undefined) off = onCancel(signal, () => out.destroy(abortError(signal)));
          if (body === undefined) out.end();
          else if (body instanceof Readable) {
            body.once('error', (err) => out.destroy(err));
            body.pipe(out);
          } else out.end(body);
        });
        res = { status: m.statusCode ?? 0, headers: m.headers, body: m };
      }
    } catch (err) {
      off?.();
      release();
      this.#emit(req, 0, started, undefined);
      throw err;
    }
    let finished = false;
    const once = (): void => {
      if (finished) return;
      finished = true;
      off?.();
      release();
      this.#emit(req, res.status, started, res.headers['content-length']);
    };
    // `on`, not `once`: `once` guards itself, and once() wraps each listener in two more objects.
    res.body.on('end', once);
    res.body.on('close', once);
    res.body.on('error', once);
    return res;
  }

  #emit(req: AppRequest, status: number, started: number, responseLength: string | undefined): void {
    if (channels.appCall.hasSubscribers) {
      const body = req.body;
      const event: AppCallEvent = {
        method: req.method,
        path: req.path,
        status,
        durationMs: performance.now() - started,
        sentBytes:
          body === undefined
            ? 0
            : body instanceof Readable
              ? lengthOf(req.headers?.['content-length'])
              : body.byteLength,
        receivedBytes: lengthOf(responseLength),
      };
      channels.appCall.publish(event);
    }
  }

  /** GET `path`: a 2xx within `timeoutMs` is healthy. */
  async probeHealth(path: string, timeoutMs: number): Promise<boolean> {
    const started = performance.now();
    const status = await this.#probe(path, timeoutMs);
    if (channels.appHealthProbe.hasSubscribers) {
      // daprd counts a probe without an answer as a 500.
      const event: AppHealthProbeEvent = {
        protocol: 'http',
        status: String(status === 0 ? 500 : status),
        durationMs: performance.now() - started,
      };
      channels.appHealthProbe.publish(event);
    }
    return status >= 200 && status < 300;
  }

  /** The status of GET `path` within `timeoutMs`, or 0 (no answer). */
  #probe(path: string, timeoutMs: number): Promise<number> {
    const token = this.#options.appApiToken;
    if (this.#h2c !== undefined)
      return this.#h2c.probe(path, timeoutMs, token === undefined ? {} : { 'dapr-api-token': token });
    return new Promise<number>((resolve) => {
      const tls = this.#options.tls === true;
      const req = (tls ? httpsRequest : httpRequest)(
        {
          host: this.#options.address,
          port: this.#options.port,
          method: 'GET',
          path,
          timeout: timeoutMs,
          ...(tls ? { rejectUnauthorized: false } : {}),
          headers: token === undefined ? {} : { 'dapr-api-token': token },
        },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.once('timeout', () => req.destroy(new Error('timeout')));
      req.once('error', () => resolve(0));
      req.end();
    });
  }

  close(): void {
    this.#agent?.destroy();
    this.#h2c?.close();
    this.#pool?.close();
  }
}

/** A Content-Length header's value; 0 when absent or not a length. */
function lengthOf(header: string | readonly string[] | undefined): number {
  const n = Number(typeof header === 'string' ? header : undefined);
  return Number.isSafeInteger(n) && n > 0 ? n : 0;
}
