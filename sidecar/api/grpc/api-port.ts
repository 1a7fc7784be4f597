/**
 * The gRPC API port (`--dapr-grpc-port`). It serves two kinds of calls, as daprd's gRPC server
 * does with its unknown-service handler:
 * - `dapr.proto.runtime.v1.Dapr` methods, implemented on @grpc/grpc-js (server.ts). grpc-js
 *   answers only the methods it knows, so it listens on a private unix socket and this port hands
 *   it those calls, HTTP/2 stream by stream, with the caller's address in `outrigger-peer-address`;
 * - any other method with `dapr-app-id` metadata: proxied (grpc-proxy.ts) to our own app, or to
 *   a sidecar of the target app over the internal API, which passes it to its app.
 */

import {
  type ClientHttp2Session,
  createServer,
  type Http2Server,
  type Http2Session,
  connect as http2Connect,
  type IncomingHttpHeaders,
  type ServerHttp2Stream,
} from 'node:http2';
import type { AddressInfo } from 'node:net';
import { connect as netConnect } from 'node:net';
import type { AppChannel } from '../../channel/app-channel.js';
import type { Logger } from '../../components/component.js';
import { CALLEE_ID_HEADER, CALLER_ID_HEADER } from '../../invoke/headers.js';
import { invokeChannels } from '../../invoke/invoke-events.js';
import type { ServiceInvoker } from '../../invoke/invoker.js';
import type { ResiliencyProvider } from '../../resiliency/provider.js';
import { GrpcStatus } from '../internal/grpc-framing.js';
import { DAPR_SERVICE_NAME } from './dapr-proto.js';
import { fromHttpStatus, type GrpcError } from './grpc-errors.js';
import {
  type Fields,
  forwardedMetadata,
  h2Target,
  nodeCaller,
  nodeTarget,
  relay,
  relayUnary,
  statusFields,
  type TargetSide,
} from './grpc-proxy.js';

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
}

const SERVICE_PREFIX = `/${DAPR_SERVICE_NAME}/`;

function bare(ip: string | undefined): string {
  if (ip === undefined) return '';
  return ip.startsWith('::ffff:') ? ip.slice(7) : ip;
}

/** The HTTP/2 server on the gRPC API port. */
export class ApiPort {
  readonly #o: ApiPortOptions;
  readonly #servers: Http2Server[] = [];
  readonly #sessions = new Set<Http2Session>();
  #service: ClientHttp2Session | undefined;
  #port = 0;

  constructor(options: ApiPortOptions) {
    this.#o = options;
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
      const server = createServer();
      server.on('session', (s: Http2Session) => {
        this.#sessions.add(s);
        s.on('close', () => this.#sessions.delete(s));
        s.on('error', () => {});
      });
      server.on('stream', (stream, headers) => this.#onStream(stream, headers));
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

  /** Stops accepting; open calls get `graceMs` to finish, then their connections are destroyed. */
  async close(graceMs: number): Promise<void> {
    const closed = this.#servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve())));
    for (const s of this.#sessions) s.close();
    const timer = new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, graceMs)).unref());
    await Promise.race([Promise.all(closed), timer]);
    for (const s of this.#sessions) s.destroy();
    await Promise.all(closed);
    this.#service?.close();
  }

  #onStream(stream: ServerHttp2Stream, headers: IncomingHttpHeaders): void {
    const path = headers[':path'] ?? '';
    if (path.startsWith(SERVICE_PREFIX)) {
      this.#toService(stream, headers, path);
      return;
    }
    const target = headers['dapr-app-id'];
    if (typeof target !== 'string' || target === '') {
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
    this.#proxy(stream, headers, path, target).catch((err: Error) =>
      this.#fail(stream, { code: GrpcStatus.UNKNOWN, details: err.message }),
    );
  }

  /** A Dapr service call, handed to grpc-js as it is (the token is grpc-js's to check). */
  #toService(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, path: string): void {
    const fields: Fields = forwardedMetadata(headers, true).filter(
      ([n]) => n !== PEER_ADDRESS_HEADER && n !== LOCAL_ADDRESS_HEADER,
    );
    fields.push(
      [PEER_ADDRESS_HEADER, bare(stream.session?.socket.remoteAddress)],
      [LOCAL_ADDRESS_HEADER, bare(stream.session?.socket.localAddress)],
    );
    let service = this.#service;
    if (service === undefined || service.closed || service.destroyed) {
      const opened = http2Connect('http://localhost', {
        createConnection: () => netConnect(this.#o.serviceSocket),
      });
      opened.on('error', () => {});
      opened.on('close', () => {
        if (this.#service === opened) this.#service = undefined;
      });
      this.#service = opened;
      service = opened;
    }
    const headersOut: Record<string, string | string[]> = {
      ':method': 'POST',
      ':path': path,
      te: 'trailers',
    };
    for (const [n, v] of fields) {
      const had = headersOut[n];
      headersOut[n] = had === undefined ? v : Array.isArray(had) ? [...had, v] : [had, v];
    }
    relay(nodeCaller(stream), nodeTarget(service.request(headersOut)));
  }

  /** daprd's API token check, for proxied calls (the Dapr service checks its own). */
  #checkToken(headers: IncomingHttpHeaders): GrpcError | undefined {
    const token = this.#o.apiToken;
    if (token === undefined || token === '') return undefined;
    const given = headers['dapr-api-token'];
    if (given === undefined) return fromHttpStatus(401, 'missing api token in request metadata');
    if (given !== token) return fromHttpStatus(401, 'authentication error: api token mismatch');
    return undefined;
  }

  async #proxy(
    stream: ServerHttp2Stream,
    headers: IncomingHttpHeaders,
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
    if (stream.destroyed) return;
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
      relay(nodeCaller(stream), nodeTarget(channel.proxyStream(path, metadata)));
      return;
    }
    metadata.push([CALLER_ID_HEADER, this.#o.appId], [CALLEE_ID_HEADER, route.appId]);
    // daprd counts a call marked `dapr-stream: true` as streaming.
    const streaming = /^(1|true|yes|on|y)$/i.test(String(headers['dapr-stream'] ?? ''));
    const started = performance.now();
    if (invokeChannels.requestSent.hasSubscribers)
      invokeChannels.requestSent.publish({ destinationAppId: route.appId, streaming });
    const done = (code: number): void => {
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
      relayUnary(nodeCaller(stream), open, policy, this.#o.maxBodyBytes, done);
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
    relay(nodeCaller(stream), peer, done);
  }

  #fail(stream: ServerHttp2Stream, error: GrpcError): void {
    if (stream.destroyed || stream.headersSent) return;
    const headers: Record<string, string> = {};
    for (const [n, v] of statusFields(error, true)) headers[n] = v;
    stream.respond(headers, { endStream: true });
  }
}
