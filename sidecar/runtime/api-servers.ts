import { createGrpcApiServer, type GrpcApiServer } from '../api/grpc/server.js';
import { createHttpApiServer, createPublicHealthServer, type HttpApiServer } from '../api/http/server.js';
import { ApiAllowlist, apiRuleWarnings } from '../api/universal/api-allowlist.js';
import type { ApiContext } from '../api/universal/context.js';
import type { AppChannel } from '../channel/app-channel.js';
import type { Logger } from '../components/component.js';
import { type ProfilingServer, startProfilingServer } from '../observability/profiling/profiling-server.js';
import type { Tracer } from '../observability/tracing/tracer.js';
import type { ConfigurationResource } from '../spec/configuration.js';
import type { Options } from './options.js';
import { apiSocketPath } from './unix-socket.js';

/** What the app-facing servers are built from. */
export interface ApiServerInputs {
  readonly options: Options;
  readonly config: ConfigurationResource;
  /** The root logger (each server takes its daprd scope from it). */
  readonly logger: Logger;
  /** The runtime's logger, for the "running on" lines. */
  readonly log: Logger;
  readonly tracer: Tracer | undefined;
  /** Our app's channel, once connected (proxied gRPC calls for our own app id use it). */
  readonly appChannel: () => AppChannel | undefined;
}

/**
 * The sidecar's app-facing servers: the HTTP API, the gRPC API, the public health port and the
 * profiling port, each where the flags put it (TCP addresses, or Unix sockets for the APIs), all
 * under the Configuration's API allowlist. Servers that did start are kept even when a later one
 * fails, so that `close` stops them.
 */
export class ApiServers {
  http: HttpApiServer | undefined;
  grpc: GrpcApiServer | undefined;
  public: HttpApiServer | undefined;
  profiling: ProfilingServer | undefined;

  async start(ctx: ApiContext, i: ApiServerInputs): Promise<void> {
    const o = i.options;
    const config = i.config;
    const enableApiLogging = o.enableApiLogging ?? config.apiLoggingEnabled ?? false;
    const httpLogger = i.logger.child({ scope: 'dapr.runtime.http' });
    for (const w of apiRuleWarnings(config.apiAllowed, config.apiDenied)) i.log.warn(w);
    const restricted = config.apiAllowed.length > 0 || config.apiDenied.length > 0;
    const allowlisted = restricted
      ? { apiAllowlist: new ApiAllowlist(config.apiAllowed, config.apiDenied) }
      : {};
    const token = o.apiToken === undefined ? {} : { apiToken: o.apiToken };
    const traced = i.tracer === undefined ? {} : { tracer: i.tracer };

    this.http = createHttpApiServer(ctx, {
      ...allowlisted,
      ...token,
      ...traced,
      maxBodyBytes: o.maxBodyBytes,
      readBufferBytes: o.readBufferBytes,
      allowedOrigins: o.allowedOrigins,
      enableApiLogging,
      apiLoggingObfuscateUrls: config.apiLoggingObfuscateUrls,
      apiLoggingOmitHealthChecks: config.apiLoggingOmitHealthChecks,
      logger: httpLogger,
    });
    if (o.unixDomainSocket === undefined) {
      await this.http.listen(o.daprHttpPort, o.listenAddresses);
      i.log.info(`HTTP server is running on port ${o.daprHttpPort}`);
    } else {
      const socket = apiSocketPath(o.unixDomainSocket, o.appId, 'http');
      await this.http.listenUnix(socket);
      i.log.info(`HTTP server is running on UNIX socket ${socket}`);
    }

    this.grpc = createGrpcApiServer(ctx, {
      ...allowlisted,
      ...token,
      ...traced,
      maxBodyBytes: o.maxBodyBytes,
      enableApiLogging,
      appChannel: i.appChannel,
      logger: i.logger.child({ scope: 'dapr.runtime.grpc.api' }),
    });
    if (o.unixDomainSocket === undefined) {
      await this.grpc.listen(o.daprGrpcPort, o.listenAddresses);
      i.log.info(`API gRPC server is running on port ${o.daprGrpcPort}`);
    } else {
      const socket = apiSocketPath(o.unixDomainSocket, o.appId, 'grpc');
      await this.grpc.listenUnix(socket);
      i.log.info(`API gRPC server is running on UNIX socket ${socket}`);
    }

    if (o.daprPublicPort !== undefined) {
      this.public = createPublicHealthServer(ctx, {
        ...allowlisted,
        maxBodyBytes: o.maxBodyBytes,
        readBufferBytes: o.readBufferBytes,
        enableApiLogging: false,
        logger: httpLogger,
      });
      await this.public.listen(
        o.daprPublicPort,
        o.daprPublicListenAddress === undefined ? [] : [o.daprPublicListenAddress],
      );
      i.log.info(`Public HTTP server is running on port ${o.daprPublicPort}`);
    }

    if (o.enableProfiling) {
      // daprd listens for profiling on the API's listen addresses.
      this.profiling = await startProfilingServer(
        o.profilePort,
        o.listenAddresses[0],
        i.logger.child({ scope: 'dapr.runtime.profiling' }),
      );
    }
  }

  /** Stops accepting; in-flight API calls get `graceMs` to finish. */
  async close(graceMs: number): Promise<void> {
    await Promise.all([
      this.http?.close(graceMs),
      this.grpc?.close(graceMs),
      this.public?.close(graceMs),
      this.profiling?.close(),
    ]);
  }
}
