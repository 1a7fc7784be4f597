import {
  createServer,
  type IncomingMessage,
  type Server,
  type ServerOptions,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from '../../components/component.js';
import type { Tracer } from '../../observability/tracing/tracer.js';
import { listenUnixSocket } from '../../runtime/unix-socket.js';
import type { ApiAllowlist } from '../universal/api-allowlist.js';
import type { ApiContext } from '../universal/context.js';
import { buildApp } from './app.js';
import { AllowedOrigins, withCors } from './cors.js';
import { INVOKE_ROUTE, withInvokeFastPath } from './invoke-routes.js';
import type { RouteSpec } from './route.js';
import { healthRoutes, metadataGetRoute, runtimeRoutes } from './runtime-routes.js';
import { secretsRoutes } from './secrets-routes.js';
import { stateRoutes } from './state-routes.js';
import { withTracing } from './tracing.js';

/** Options of the HTTP API server (flags `--max-body-size`, `--enable-api-logging`, env `DAPR_API_TOKEN`). */
export interface HttpApiServerOptions {
  readonly maxBodyBytes: number;
  /**
   * `--read-buffer-size`: daprd's `MaxHeaderBytes`. Go's server reads up to that many bytes of
   * request line and headers plus 4096 bytes of slack before it answers 431, so that is our limit.
   */
  readonly readBufferBytes: number;
  readonly apiToken?: string;
  /** Configuration `spec.api` allow/deny lists: routes they leave out are not served (404). */
  readonly apiAllowlist?: ApiAllowlist;
  /** `--allowed-origins` (CORS); absent: no CORS handling, as on daprd's public port. */
  readonly allowedOrigins?: string;
  readonly enableApiLogging: boolean;
  /** `spec.logging.apiLogging.obfuscateURLs` and `.omitHealthChecks`. */
  readonly apiLoggingObfuscateUrls?: boolean;
  readonly apiLoggingOmitHealthChecks?: boolean;
  readonly logger: Logger;
  /** Spans for API calls (absent: none, as on the public health port). */
  readonly tracer?: Tracer;
}

/** A listening HTTP server with graceful close. */
export interface HttpApiServer {
  /** Listens on `port` on every address (all interfaces when the list is empty). Port 0 picks one. */
  listen(port: number, addresses: readonly string[]): Promise<void>;
  /** Listens on the unix socket `path` instead (`--unix-domain-socket`). */
  listenUnix(path: string): Promise<void>;
  /** Stops accepting, waits up to `graceMs` for in-flight requests, then destroys what is left. */
  close(graceMs: number): Promise<void>;
  /** Requests being served right now. */
  inFlight(): number;
  /** The bound ports, one per listening address. */
  address(): { port: number }[];
}

/** The app-facing Dapr HTTP API (daprd's `--dapr-http-port`). */
export function createHttpApiServer(ctx: ApiContext, opts: HttpApiServerOptions): HttpApiServer {
  const routeOpts = { maxBodyBytes: opts.maxBodyBytes };
  const routes: RouteSpec[] = [
    ...stateRoutes(ctx, routeOpts),
    ...secretsRoutes(ctx),
    metadataGetRoute(ctx),
    ...runtimeRoutes(ctx, routeOpts),
    ...healthRoutes(ctx),
  ];
  const allow = opts.apiAllowlist;
  return serve(
    allow === undefined ? routes : routes.filter((r) => allow.servesHttpRoute(r.path)),
    ctx,
    opts,
    'Dapr HTTP API',
    allow === undefined || allow.servesHttpRoute(INVOKE_ROUTE),
  );
}

/** The public health port (`--dapr-public-port`): healthz, healthz/outbound and GET metadata only, no token. */
export function createPublicHealthServer(ctx: ApiContext, opts: HttpApiServerOptions): HttpApiServer {
  const allow = opts.apiAllowlist;
  const routes: RouteSpec[] = [...healthRoutes(ctx), metadataGetRoute(ctx)].filter(
    (r) => allow === undefined || allow.servesHttpRoute(r.path),
  );
  return serve(
    routes,
    ctx,
    {
      maxBodyBytes: opts.maxBodyBytes,
      readBufferBytes: opts.readBufferBytes,
      enableApiLogging: false,
      logger: opts.logger,
    },
    'public health',
  );
}

/** What Go's net/http reads past `MaxHeaderBytes` before it gives up on a request's headers. */
const GO_HEADER_SLACK_BYTES = 4096;

/**
 * The HTTP server's limits, as daprd's `http.Server`: headers within `--read-buffer-size` (plus
 * Go's slack) and within 10 s (`ReadHeaderTimeout`), and no limit on how long a whole request may
 * take, so a long upload streamed to `invoke` is not cut (Node's default `requestTimeout` would end
 * it after 5 min).
 */
export function apiServerLimits(readBufferBytes: number): ServerOptions {
  return {
    keepAliveTimeout: 30_000,
    maxHeaderSize: readBufferBytes + GO_HEADER_SLACK_BYTES,
    headersTimeout: 10_000,
    requestTimeout: 0,
    // How often Node checks headersTimeout (default 30 s, which would make 10 s up to 40 s).
    connectionsCheckingInterval: 1_000,
  };
}

/** Go's net/http answer to a request it cannot read, before closing (`errorHeaders`). */
function goRefusal(status: string): string {
  return `HTTP/1.1 ${status}\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n${status}`;
}

/**
 * A connection whose request cannot be read, answered as Go's server in daprd answers it: headers
 * over the limit get 431, a malformed request 400, both with Go's plain-text body; headers that
 * did not arrive within `ReadHeaderTimeout` get no answer, the connection is just closed (Node
 * would send 408).
 */
export function refuseUnreadableRequest(err: Error & { code?: string }, socket: Duplex): void {
  // As Node's own handler: never write into a response already under way on this connection.
  const inFlight = (socket as { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT' || inFlight?.headersSent === true || !socket.writable) {
    socket.destroy();
    return;
  }
  const status =
    err.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : '400 Bad Request';
  socket.end(goRefusal(status), () => socket.destroy());
}

function serve(
  routes: readonly RouteSpec[],
  ctx: ApiContext,
  opts: HttpApiServerOptions,
  label: string,
  withInvoke = false,
): HttpApiServer {
  const app = buildApp(routes, {
    ...(withInvoke && ctx.invoker !== undefined ? { invoker: ctx.invoker } : {}),
    appId: ctx.appId,
    enableApiLogging: opts.enableApiLogging,
    ...(opts.apiLoggingObfuscateUrls === undefined
      ? {}
      : { apiLoggingObfuscateUrls: opts.apiLoggingObfuscateUrls }),
    ...(opts.apiLoggingOmitHealthChecks === undefined
      ? {}
      : { apiLoggingOmitHealthChecks: opts.apiLoggingOmitHealthChecks }),
    logger: opts.logger,
    ...(opts.apiToken === undefined ? {} : { apiToken: opts.apiToken }),
  });
  // Invocations bypass express (latency); API logging still sees them through the middleware.
  const listener =
    withInvoke && ctx.invoker !== undefined && !opts.enableApiLogging
      ? withInvokeFastPath(app, {
          appId: ctx.appId,
          invoker: ctx.invoker,
          ...(opts.apiToken === undefined ? {} : { apiToken: opts.apiToken }),
        })
      : app;
  const withOrigins =
    opts.allowedOrigins === undefined
      ? listener
      : withCors(listener, new AllowedOrigins(opts.allowedOrigins));
  const traced = opts.tracer === undefined ? withOrigins : withTracing(withOrigins, opts.tracer);
  const servers: Server[] = [];
  let active = 0;
  let closing = false;
  let drained: (() => void) | undefined;

  const track = (_req: IncomingMessage, res: ServerResponse): void => {
    active++;
    // While closing, answer in-flight requests and then end their keep-alive connections.
    if (closing) res.setHeader('Connection', 'close');
    res.on('close', () => {
      active--;
      if (closing && active === 0) drained?.();
    });
  };

  const newServer = (): Server => {
    const server = createServer(apiServerLimits(opts.readBufferBytes), traced);
    server.on('request', track);
    server.on('clientError', refuseUnreadableRequest);
    return server;
  };
  const listenOne = (port: number, host: string | undefined): Promise<Server> =>
    new Promise((resolve, reject) => {
      const server = newServer();
      const onError = (err: Error): void => reject(err);
      server.once('error', onError);
      // daprd writes IPv6 listen addresses in brackets (`[::1]`); Node wants them bare.
      const bare = host?.replace(/^\[(.*)\]$/, '$1');
      server.listen({ port, ...(bare === undefined ? {} : { host: bare }) }, () => {
        server.off('error', onError);
        server.on('error', (err) => opts.logger.error(`${label} server error`, { error: err.message }));
        resolve(server);
      });
    });

  return {
    async listen(port, addresses) {
      const hosts: (string | undefined)[] = addresses.length === 0 ? [undefined] : [...addresses];
      let bound = port;
      for (const host of hosts) {
        try {
          const s = await listenOne(bound, host);
          servers.push(s);
          // With port 0 every address shares the port the first one got.
          bound = (s.address() as AddressInfo).port;
          opts.logger.info(`${label} server listening`, { address: host ?? '*', port: bound });
        } catch (err) {
          opts.logger.debug(`${label} server could not listen`, {
            address: host ?? '*',
            port: bound,
            error: (err as Error).message,
          });
        }
      }
      if (servers.length === 0)
        throw new Error(
          `could not listen on any endpoint (port ${port}, addresses ${hosts.join(',') || '*'})`,
        );
    },
    async listenUnix(path) {
      const server = newServer();
      await listenUnixSocket(server, path);
      server.on('error', (err) => opts.logger.error(`${label} server error`, { error: err.message }));
      servers.push(server);
      opts.logger.info(`${label} server listening on UNIX socket`, { socket: path });
    },
    async close(graceMs) {
      closing = true;
      const closed = servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve())));
      for (const s of servers) s.closeIdleConnections();
      if (active > 0) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, Math.max(0, graceMs));
          drained = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
      for (const s of servers) s.closeAllConnections();
      await Promise.all(closed);
    },
    inFlight: () => active,
    address: () => servers.map((s) => ({ port: (s.address() as AddressInfo).port })),
  };
}
