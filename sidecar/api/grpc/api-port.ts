/**
 * The gRPC API port (`--dapr-grpc-port`). It serves two kinds of calls, as daprd's gRPC server
 * does with its unknown-service handler:
 * - `dapr.proto.runtime.v1.Dapr` methods, implemented on @grpc/grpc-js (server.ts). grpc-js
 *   answers only the methods it knows, so it listens on a private unix socket and this port hands
 *   it those calls, HTTP/2 stream by stream, with the caller's address in `outrigger-peer-address`;
 * - any other method with `dapr-app-id` metadata: proxied (grpc-proxy.ts) to our own app, or to
 *   a sidecar of the target app over the internal API, which passes it to its app.
 * The port speaks HTTP/2 through our own layer (internal/h2), as the sidecar hop does: a relay
 * through node:http2's streams cost ~0.6 ms of CPU per call (sidecar/invoke/README.md).
 */

import { type AddressInfo, createServer, connect as netConnect, type Server, type Socket } from 'node:net';
import type { AppChannel } from '../../channel/app-channel.js';
import type { Logger } from '../../components/component.js';
import { CALLEE_ID_HEADER, CALLER_ID_HEADER } from '../../invoke/headers.js';
import { invokeChannels } from '../../invoke/invoke-events.js';
import type { ServiceInvoker } from '../../invoke/invoker.js';
import type { Tracer } from '../../observability/tracing/tracer.js';
import type { ResiliencyProvider } from '../../resiliency/provider.js';
import { listenUnixSocket } from '../../runtime/unix-socket.js';
import { GrpcStatus } from '../internal/grpc-framing.js';
import { H2Connection } from '../internal/h2/connection.js';
import { ErrorCode } from '../internal/h2/frames.js';
import { H2Client } from '../internal/h2/h2-client.js';
import type { H2Stream, HeaderMap } from '../internal/h2/stream.js';
import type { ApiAllowlist } from '../universal/api-allowlist.js';
import { allOf, meterProxiedCall } from './call-metrics.js';
import { DAPR_SERVICE_NAME } from './dapr-proto.js';
import { fromHttpStatus, type GrpcError } from './grpc-errors.js';
import {
  type CallerSide,
  type Fields,
  forwardedMetadata,
  h2Caller,
  h2Target,
  relay,
  relayUnary,
  statusFields,
  type TargetSide,
} from './grpc-proxy.js';
import { traceProxiedCall } from './proxy-tracing.js';

/** The header that tells the in-process Dapr service the caller's address (the port overwrites any sent). */
export const PEER_ADDRESS_HEADER = 'outrigger-peer-address';
/** The header that tells it the address the caller reached us on. */
export const LOCAL_ADDRESS_HEADER = 'outrigger-local-address';

/** Options of `ApiPort`. */
export interface ApiPortOptions {
  readonly appId: string;
  readonly apiToken?: string;
  /** The unix socket the Dapr service (grpc-js) listens on. */
  readonly serviceSocket: string;
  readonly invoker: () => ServiceInvoker | undefined;
  readonly appChannel: () => AppChannel | undefined;
  /** Compiled Resiliency resources: a unary proxied call runs under its target app's policy. */
  readonly resiliency?: ResiliencyProvider | undefined;
  /** `--max-body-size`: what a unary call held for its policy may carry each way. */
  readonly maxBodyBytes: number;
  readonly logger: Logger;
  /** Spans for proxied calls. */
  readonly tracer?: Tracer | undefined;
  /** Configuration `spec.api`: Dapr service methods it does not serve answer Unimplemented. */
  readonly apiAllowlist?: ApiAllowlist | undefined;
}

const SERVICE_PREFIX = `/${DAPR_SERVICE_NAME}/`;

/** daprd's answer for a method the API allowlist leaves out (HTTP 501 as a gRPC status). */
const NOT_SERVED = fromHttpStatus(501, 'requested endpoint is not available') as GrpcError;

function bare(ip: string | undefined): string {
  if (ip === undefined) return '';
  return ip.startsWith('::ffff:') ? ip.slice(7) : ip;
}

/** The HTTP/2 server on the gRPC API port. */
export class ApiPort {
  readonly #o: ApiPortOptions;
  readonly #servers: Server[] = [];
  readonly #connections = new Set<H2Connection>();
  readonly #service: H2Client;
  #port = 0;

  constructor(options: ApiPortOptions) {
    this.#o = options;
    this.#service = new H2Client(() => netConnect(options.serviceSocket));
  }

  /** The bound port (after `listen`). */
  get port(): number {
    return this.#port;
  }

  /** Listens on `port` on every address (all interfaces when the list is empty). */
  async listen(port: number, addresses: readonly string[]): Promise<void> {
    const hosts: (string | undefined)[] = addresses.length === 0 ? [undefined] : [...addresses];
    let bound = port;
    for (const host of hosts) {
      // Nagle off: a call's last frames must not wait for the peer's delayed ACK.
      const server = createServer({ noDelay: true }, (socket) => this.#accept(socket));
      const h = host?.replace(/^\[(.*)\]$/, '$1');
      try {
        await new Promise<void>((resolve, reject) => {
          server.once('error', reject);
          server.listen({ port: bound, ...(h === undefined ? {} : { host: h }) }, () => {
            server.off('error', reject);
            resolve();
          });
        });
      } catch (err) {
        this.#o.logger.debug('gRPC API server could not listen', {
          address: host ?? '*',
          port: bound,
          error: (err as Error).message,
        });
        continue;
      }
      server.on('error', (err) => this.#o.logger.error('gRPC API server error', { error: err.message }));
      this.#servers.push(server);
      bound = (server.address() as AddressInfo).port;
      this.#port = bound;
      this.#o.logger.info('gRPC API server listening', { address: host ?? '*', port: bound });
    }
    if (this.#servers.length === 0)
      throw new Error(`could not listen on any endpoint (port ${port}, addresses ${hosts.join(',') || '*'})`);
  }

  /** Listens on the unix socket `path` instead (`--unix-domain-socket`). */
  async listenUnix(path: string): Promise<void> {
    const server = createServer((socket) => this.#accept(socket));
    await listenUnixSocket(server, path);
    server.on('error', (err) => this.#o.logger.error('gRPC API server error', { error: err.message }));
    this.#servers.push(server);
    this.#o.logger.info('gRPC API server listening on UNIX socket', { socket: path });
  }

  /** Stops accepting; open calls get `graceMs` to finish, then are cancelled. */
  async close(graceMs: number): Promise<void> {
    const closed = this.#servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve())));
    // GOAWAY: clients open new calls elsewhere; each connection ends once its calls are done.
    for (const c of this.#connections) c.close();
    const deadline = Date.now() + Math.max(0, graceMs);
    while (this.#inFlight() > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    for (const c of this.#connections) c.resetStreams(ErrorCode.CANCEL);
    for (const c of this.#connections) c.destroy();
    await Promise.race([Promise.all(closed), new Promise((r) => setTimeout(r, 200).unref())]);
    this.#service.close();
  }

  #inFlight(): number {
    let n = 0;
    for (const c of this.#connections) n += c.activeStreams;
    return n;
  }

  #accept(socket: Socket): void {
    if (socket.destroyed) return;
    const peer = bare(socket.remoteAddress);
    const local = bare(socket.localAddress);
    const conn = new H2Connection(socket, {
      role: 'server',
      onStream: (stream, headers) => this.#onStream(stream, headers, peer, local),
    });
    this.#connections.add(conn);
    conn.onClose = () => this.#connections.delete(conn);
  }

  #onStream(stream: H2Stream, headers: HeaderMap, peer: string, local: string): void {
    const path = headers[':path'] ?? '';
    if (!(headers['content-type'] ?? '').startsWith('application/grpc')) {
      stream.sendHeaders([[':status', '415']], true);
      return;
    }
    if (path.startsWith(SERVICE_PREFIX)) {
      if (this.#o.apiAllowlist !== undefined && !this.#o.apiAllowlist.servesGrpcMethod(path)) {
        // The token is checked first, so that an unauthenticated caller learns nothing of the list.
        this.#fail(stream, this.#checkToken(headers) ?? NOT_SERVED);
        return;
      }
      this.#toService(stream, headers, path, peer, local);
      return;
    }
    const target = headers['dapr-app-id'];
    if (target === undefined || target === '') {
      // daprd's proxy director, for a method it does not serve and no app to send it to.
      this.#fail(stream, {
        code: GrpcStatus.UNKNOWN,
        details: 'failed to proxy request: required metadata dapr-app-id not found',
      });
      return;
    }
    const denied = this.#checkToken(headers);
    if (denied !== undefined) {
      this.#fail(stream, denied);
      return;
    }
    // The caller's side is taken now: what arrives while the route is resolved is held.
    const caller = h2Caller(stream);
    this.#proxy(stream, caller, headers, path, target).catch((err: Error) =>
      this.#fail(stream, { code: GrpcStatus.UNKNOWN, details: err.message }),
    );
  }

  /** A Dapr service call, handed to grpc-js as it is (the token is grpc-js's to check). */
  #toService(stream: H2Stream, headers: HeaderMap, path: string, peer: string, local: string): void {
    const fields: Fields = [
      [':method', 'POST'],
      [':scheme', 'http'],
      [':path', path],
      [':authority', 'localhost'],
      ['te', 'trailers'],
      ...forwardedMetadata(headers, true).filter(
        ([n]) => n !== PEER_ADDRESS_HEADER && n !== LOCAL_ADDRESS_HEADER,
      ),
      [PEER_ADDRESS_HEADER, peer],
      [LOCAL_ADDRESS_HEADER, local],
    ];
    let service: H2Stream;
    try {
      service = this.#service.request(fields);
    } catch (err) {
      this.#fail(stream, { code: GrpcStatus.UNAVAILABLE, details: (err as Error).message });
      return;
    }
    relay(h2Caller(stream), h2Target(service));
  }

  /** daprd's API token check, for proxied calls (the Dapr service checks its own). */
  #checkToken(headers: HeaderMap): GrpcError | undefined {
    const token = this.#o.apiToken;
    if (token === undefined || token === '') return undefined;
    const given = headers['dapr-api-token'];
    if (given === undefined || given === '')
      return fromHttpStatus(401, 'missing api token in request metadata');
    if (given !== token) return fromHttpStatus(401, 'authentication error: api token mismatch');
    return undefined;
  }

  async #proxy(
    stream: H2Stream,
    caller: CallerSide,
    headers: HeaderMap,
    path: string,
    target: string,
  ): Promise<void> {
    const invoker = this.#o.invoker();
    if (invoker === undefined) {
      this.#fail(stream, {
        code: GrpcStatus.UNAVAILABLE,
        details: 'failed to proxy request: invoke API is not ready',
      });
      return;
    }
    const route = await invoker.route(target);
    const metadata = forwardedMetadata(headers).filter(
      ([n]) => n !== CALLER_ID_HEADER && n !== CALLEE_ID_HEADER,
    );
    if (stream.closed) return;
    if (route.address === undefined) {
      // Our own app: straight to it.
      const channel = this.#o.appChannel();
      if (channel?.proxyStream === undefined) {
        this.#fail(stream, {
          code: GrpcStatus.UNAVAILABLE,
          details:
            channel === undefined
              ? 'failed to proxy request: the app channel is not initialized'
              : 'failed to proxy request: the app does not speak gRPC (--app-protocol grpc or grpcs)',
        });
        return;
      }
      // A call for our own app is the call's last hop: a server span.
      const ended = allOf(
        traceProxiedCall(this.#o.tracer, 'SERVER', path, this.#o.appId, headers, metadata),
        meterProxiedCall('server', path, this.#o.appId),
      );
      relay(caller, h2Target(channel.proxyStream(path, metadata)), ended);
      return;
    }
    metadata.push([CALLER_ID_HEADER, this.#o.appId], [CALLEE_ID_HEADER, route.appId]);
    const ended = allOf(
      traceProxiedCall(this.#o.tracer, 'CLIENT', path, route.appId, headers, metadata),
      meterProxiedCall('server', path, this.#o.appId),
    );
    // daprd counts a call marked `dapr-stream: true` as streaming.
    const streaming = /^(1|true|yes|on|y)$/i.test(String(headers['dapr-stream'] ?? ''));
    const started = performance.now();
    if (invokeChannels.requestSent.hasSubscribers)
      invokeChannels.requestSent.publish({ destinationAppId: route.appId, streaming });
    const done = (code: number): void => {
      ended(code);
      if (invokeChannels.responseReceived.hasSubscribers)
        invokeChannels.responseReceived.publish({
          destinationAppId: route.appId,
          status: String(code),
          streaming,
          latencyMs: performance.now() - started,
        });
    };
    const address = route.address;
    const open = (): TargetSide => h2Target(invoker.openProxyStream(address, path, metadata));
    // daprd applies the target app's policy to a whole unary call, and none to a stream.
    const policy = streaming ? undefined : this.#o.resiliency?.forApp(route.appId, `${route.appId}:${path}`);
    if (policy !== undefined && !policy.isEmpty) {
      relayUnary(caller, open, policy, this.#o.maxBodyBytes, done);
      return;
    }
    let peer: TargetSide;
    try {
      peer = open();
    } catch (err) {
      done(GrpcStatus.UNAVAILABLE);
      this.#fail(stream, { code: GrpcStatus.UNAVAILABLE, details: (err as Error).message });
      return;
    }
    relay(caller, peer, done);
  }

  #fail(stream: H2Stream, error: GrpcError): void {
    if (stream.closed || stream.headersSent) return;
    stream.sendHeaders(statusFields(error, true), true);
  }
}
