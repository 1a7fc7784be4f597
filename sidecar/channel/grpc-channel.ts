/**
 * gRPC channel to the app (`--app-protocol grpc|grpcs`, daprd's pkg/channel/grpc): service
 * invocation calls the app's `dapr.proto.runtime.v1.AppCallback/OnInvoke` with the call as a
 * common.v1.InvokeRequest, and health probes call `AppCallbackHealthCheck/HealthCheck`.
 *
 * As in daprd, the app's gRPC status is the answer, not a failure of the channel: an error status
 * (the app's own, or Unavailable when it cannot be reached) comes back as an `AppResponse` with
 * `grpcStatus` set, and the caller's sidecar maps it to an HTTP status and a JSON body. OnInvoke is
 * unary, so bodies are whole messages of at most `--max-body-size` each way.
 *
 * Built on @grpc/grpc-js: the app side is an ordinary gRPC server (connection management, TLS,
 * message limits are the library's job). The sidecar-to-sidecar hop, whose cost per call is
 * measured, runs on our own HTTP/2 layer instead (api/internal/h2).
 */
import { Buffer } from 'node:buffer';
import { isIPv6, connect as netConnect } from 'node:net';
import { Readable } from 'node:stream';
import { connect as tlsConnect } from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import { GRPC_CODE_NAMES, GrpcStatus, httpStatusFromGrpc } from '../api/internal/grpc-framing.js';
import { H2Client } from '../api/internal/h2/h2-client.js';
import type { H2Stream } from '../api/internal/h2/stream.js';
import { decodeAppInvokeResponse, encodeAppInvokeRequest } from '../api/internal/invoke-messages.js';
import { type AnyValue, decodeRpcStatus } from '../api/internal/rpc-status.js';
import { type AppGrpcCallEvent, type AppHealthProbeEvent, channels } from '../observability/events.js';
import {
  type AppChannel,
  type AppRequest,
  type AppResponse,
  AppUnhealthyError,
  firstHeaderValue,
} from './app-channel.js';
import { onCancel, throwIfCancelled } from './cancellation.js';
import { fromGrpcMetadata, readBounded, singleValued, toGrpcMetadata } from './grpc-metadata.js';
import { Semaphore } from './semaphore.js';

/** Options for `GrpcAppChannel`. */
export interface GrpcChannelOptions {
  readonly address: string;
  readonly port: number;
  /** `--app-max-concurrency`; <= 0 unlimited. */
  readonly maxConcurrency: number;
  /** `--max-body-size`: the largest message sent to or accepted from the app. */
  readonly maxBodyBytes: number;
  /** `APP_API_TOKEN`, sent as `dapr-api-token` metadata when set. */
  readonly appApiToken?: string;
  /** `--app-protocol grpcs`: TLS to the app without verifying its certificate, like daprd. */
  readonly tls?: boolean;
  /** App health checks' verdict; calls are refused while it is false. */
  readonly isHealthy?: () => boolean;
}

export const ON_INVOKE = '/dapr.proto.runtime.v1.AppCallback/OnInvoke';
export const HEALTH_CHECK = '/dapr.proto.runtime.v1.AppCallbackHealthCheck/HealthCheck';

const PROTOBUF_CONTENT_TYPE = 'application/x-protobuf';

/** ResourceExhausted: grpc-go's client reports a message over its send limit this way. */
const RESOURCE_EXHAUSTED = 8;

/**
 * Transport headers a gRPC client keeps out of the response metadata (grpc-go's reserved names),
 * and the content type, which is the InvokeResponse's.
 */
const RESERVED_RESPONSE = new Set([
  'content-type',
  'grpc-encoding',
  'grpc-message',
  'grpc-message-type',
  'grpc-status',
  'grpc-status-details-bin',
  'grpc-timeout',
  'te',
]);

/** Metadata never passed to the app: daprd's own routing header, the caller's API token, hop-by-hop headers. */
const SKIPPED = new Set(['destination-app-id', 'dapr-app-id', 'dapr-api-token', 'te']);

const identity = (b: Buffer): Buffer => b;
const EMPTY = Buffer.alloc(0);

/** The gRPC channel to the app. */
export class GrpcAppChannel implements AppChannel {
  readonly #o: GrpcChannelOptions;
  readonly #client: grpc.Client;
  readonly #limit: Semaphore;
  #proxy: H2Client | undefined;

  constructor(options: GrpcChannelOptions) {
    this.#o = options;
    this.#limit = new Semaphore(options.maxConcurrency);
    const host = isIPv6(options.address) ? `ipv6:[${options.address}]` : options.address;
    const credentials =
      options.tls === true
        ? grpc.credentials.createSsl(null, null, null, {
            rejectUnauthorized: false,
            checkServerIdentity: () => undefined,
          })
        : grpc.credentials.createInsecure();
    this.#client = new grpc.Client(`${host}:${options.port}`, credentials, {
      'grpc.max_send_message_length': options.maxBodyBytes,
      'grpc.max_receive_message_length': options.maxBodyBytes,
    });
  }

  async invoke(req: AppRequest): Promise<AppResponse> {
    if (this.#o.isHealthy?.() === false) throw new AppUnhealthyError();
    const signal = req.signal;
    const release = await this.#limit.acquire(signal);
    try {
      throwIfCancelled(signal);
      const body = await readBody(req.body, this.#o.maxBodyBytes);
      if (typeof body === 'number')
        return answer(
          RESOURCE_EXHAUSTED,
          `grpc: trying to send message larger than max (${body} vs. ${this.#o.maxBodyBytes})`,
          {},
          EMPTY,
        );
      const message = encodeAppInvokeRequest(
        {
          method: req.path.startsWith('/') ? req.path.slice(1) : req.path,
          verb: req.verb ?? req.method,
          query: req.query ?? '',
          contentType: req.contentType ?? firstHeaderValue(req.headers?.['content-type']),
        },
        body,
      );
      return await this.#call(message, this.#metadata(req), req);
    } finally {
      release();
    }
  }

  #call(message: Buffer, metadata: grpc.Metadata, req: AppRequest): Promise<AppResponse> {
    const started = performance.now();
    return new Promise<AppResponse>((resolve) => {
      let headers: Record<string, string | string[]> = {};
      let trailers: grpc.Metadata | undefined;
      // grpc-js emits 'status' (which carries the trailers) right after the callback returns.
      const settle = (res: AppResponse): void => queueMicrotask(() => resolve(withTrailers(res, trailers)));
      const call = this.#client.makeUnaryRequest(
        ON_INVOKE,
        identity,
        identity,
        message,
        metadata,
        {},
        (err: grpc.ServiceError | null, value?: Buffer) => {
          off();
          if (err !== null) {
            const code = typeof err.code === 'number' ? err.code : GrpcStatus.UNKNOWN;
            this.#emit(code, started, message.length, 0);
            settle(answer(code, err.details ?? err.message, headers, EMPTY, statusDetails(err.metadata)));
            return;
          }
          let decoded: ReturnType<typeof decodeAppInvokeResponse>;
          try {
            decoded = decodeAppInvokeResponse(value ?? EMPTY);
          } catch (e) {
            this.#emit(GrpcStatus.INTERNAL, started, message.length, value?.length ?? 0);
            settle(
              answer(
                GrpcStatus.INTERNAL,
                `malformed InvokeResponse: ${(e as Error).message}`,
                headers,
                EMPTY,
              ),
            );
            return;
          }
          this.#emit(GrpcStatus.OK, started, message.length, value?.length ?? 0);
          // Data packed with a type URL is a protobuf message, whatever content_type says (daprd).
          const contentType = decoded.typeUrl === '' ? decoded.contentType : PROTOBUF_CONTENT_TYPE;
          if (contentType !== '') headers['content-type'] = contentType;
          settle(answer(GrpcStatus.OK, '', headers, decoded.data));
        },
      );
      call.on('status', (status: grpc.StatusObject) => {
        trailers = status.metadata;
      });
      call.on('metadata', (md: grpc.Metadata) => {
        headers = responseHeaders(md);
      });
      const off = req.signal === undefined ? () => {} : onCancel(req.signal, () => call.cancel());
    });
  }

  /** The call's metadata toward the app, converted as daprd's InternalMetadataToGrpcMetadata does. */
  #metadata(req: AppRequest): grpc.Metadata {
    const md = toGrpcMetadata(req.metadata ?? req.headers ?? {}, SKIPPED);
    if (this.#o.appApiToken !== undefined) md.set('dapr-api-token', this.#o.appApiToken);
    return md;
  }

  #emit(code: number, started: number, sentBytes: number, receivedBytes: number): void {
    if (channels.appGrpcCall.hasSubscribers) {
      const event: AppGrpcCallEvent = {
        method: ON_INVOKE,
        status: GRPC_CODE_NAMES[code] ?? `Code(${code})`,
        durationMs: performance.now() - started,
        sentBytes,
        receivedBytes,
      };
      channels.appGrpcCall.publish(event);
    }
  }

  /** `AppCallbackHealthCheck/HealthCheck` (the path does not apply): OK within `timeoutMs` is healthy. */
  probeHealth(_path: string, timeoutMs: number): Promise<boolean> {
    const md = new grpc.Metadata();
    if (this.#o.appApiToken !== undefined) md.set('dapr-api-token', this.#o.appApiToken);
    const started = performance.now();
    return new Promise<boolean>((resolve) => {
      this.#client.makeUnaryRequest(
        HEALTH_CHECK,
        identity,
        identity,
        EMPTY,
        md,
        { deadline: Date.now() + timeoutMs },
        (err: grpc.ServiceError | null) => {
          if (channels.appHealthProbe.hasSubscribers) {
            const code = err === null ? GrpcStatus.OK : err.code;
            const event: AppHealthProbeEvent = {
              protocol: 'grpc',
              status: GRPC_CODE_NAMES[code] ?? `Code(${code})`,
              durationMs: performance.now() - started,
            };
            channels.appHealthProbe.publish(event);
          }
          resolve(err === null);
        },
      );
    });
  }

  /**
   * A raw HTTP/2 stream to the app for a proxied gRPC call (`path` is its method, `metadata` what
   * travels with it), on one connection of our h2 layer, dialled again once the app closes it.
   */
  proxyStream(path: string, metadata: readonly (readonly [string, string])[]): H2Stream {
    const { address, port } = this.#o;
    const tls = this.#o.tls === true;
    this.#proxy ??= new H2Client(() => {
      const socket = tls
        ? tlsConnect({ host: address, port, ALPNProtocols: ['h2'], rejectUnauthorized: false })
        : netConnect({ host: address, port });
      socket.setNoDelay(true);
      return socket;
    });
    const host = isIPv6(address) ? `[${address}]` : address;
    const fields: [string, string][] = [
      [':method', 'POST'],
      [':scheme', tls ? 'https' : 'http'],
      [':path', path],
      [':authority', `${host}:${port}`],
      ['te', 'trailers'],
      ...metadata.map(([n, v]): [string, string] => [n, v]),
    ];
    if (this.#o.appApiToken !== undefined) fields.push(['dapr-api-token', this.#o.appApiToken]);
    return this.#proxy.request(fields);
  }

  close(): void {
    this.#client.close();
    this.#proxy?.close();
  }
}

function answer(
  code: number,
  message: string,
  headers: Record<string, string | string[]>,
  data: Buffer,
  details: readonly AnyValue[] = [],
): AppResponse {
  const body = new Readable({ read() {} });
  if (data.length > 0) body.push(data);
  body.push(null);
  const grpcStatus = details.length === 0 ? { code, message } : { code, message, details };
  return { status: httpStatusFromGrpc(code), headers, body, grpcStatus };
}

/** Trailer names that are the status itself, not the app's metadata. */
const STATUS_TRAILERS = new Set(['grpc-status', 'grpc-message', 'grpc-status-details-bin']);

/** The app's trailers added to its answer (binary values in base64, as internal metadata holds them). */
function withTrailers(res: AppResponse, md: grpc.Metadata | undefined): AppResponse {
  if (md === undefined || res.grpcStatus === undefined) return res;
  const trailers = fromGrpcMetadata(md, STATUS_TRAILERS);
  return Object.keys(trailers).length > 0 ? { ...res, grpcStatus: { ...res.grpcStatus, trailers } } : res;
}

/** The error details an app sent in `grpc-status-details-bin` (none when absent or unreadable). */
function statusDetails(trailers: grpc.Metadata | undefined): readonly AnyValue[] {
  const raw = trailers?.get('grpc-status-details-bin')[0];
  if (!Buffer.isBuffer(raw)) return [];
  try {
    return decodeRpcStatus(raw).details;
  } catch {
    return [];
  }
}

/** The request body whole, or its length when it is over `max` (the rest is read and dropped). */
async function readBody(body: AppRequest['body'], max: number): Promise<Buffer | number> {
  if (body === undefined) return EMPTY;
  if (body instanceof Readable) return await readBounded(body, max);
  const b = Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  return b.length > max ? b.length : b;
}

/** The app's response header metadata as headers: content-type is the InvokeResponse's, binary values in base64. */
function responseHeaders(md: grpc.Metadata): Record<string, string | string[]> {
  return singleValued(fromGrpcMetadata(md, RESERVED_RESPONSE));
}
