/**
 * The app-facing Dapr gRPC API (daprd's `--dapr-grpc-port`, service `dapr.proto.runtime.v1.Dapr`)
 * on @grpc/grpc-js. Each method decodes, calls the universal API (the same code the HTTP API
 * calls) and encodes. With an API token set (`DAPR_API_TOKEN`), every call must carry it in
 * `dapr-api-token`, as in daprd; it is removed before the call goes further.
 */

import { randomBytes } from 'node:crypto';
import { readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import type { AppChannel } from '../../channel/app-channel.js';
import { Cancellation } from '../../channel/cancellation.js';
import { traceparentFromBin } from '../../channel/grpc-metadata.js';
import type { Logger } from '../../components/component.js';
import { DaprError } from '../../errors/dapr-error.js';
import { channels } from '../../observability/events.js';
import type { Span, Tracer } from '../../observability/tracing/tracer.js';
import { processAlive } from '../../runtime/process-alive.js';
import { GRPC_CODE_NAMES } from '../internal/grpc-framing.js';
import type { ApiAllowlist } from '../universal/api-allowlist.js';
import type { ApiContext } from '../universal/context.js';
import { getMetadata, type MetadataResult, setMetadata } from '../universal/metadata.js';
import { shutdown } from '../universal/shutdown.js';
import { ApiPort, LOCAL_ADDRESS_HEADER, PEER_ADDRESS_HEADER } from './api-port.js';
import { publishGrpcServerCall } from './call-metrics.js';
import {
  DAPR_SERVICE_NAME,
  type InvokeServiceRequestMessage,
  loadDaprService,
  type SetMetadataRequestMessage,
} from './dapr-proto.js';
import { fromDaprError, fromHttpStatus, type GrpcError } from './grpc-errors.js';
import { invokeOverGrpc } from './invoke-service.js';
import { measuredService, messageSize } from './message-size.js';
import { secretsMethods } from './secrets-service.js';
import { stateMethods } from './state-service.js';

/** Options of the gRPC API server. */
export interface GrpcApiServerOptions {
  /** `--max-body-size`: the largest message received or sent. */
  readonly maxBodyBytes: number;
  readonly apiToken?: string;
  /** `--enable-api-logging`: one info line per call. */
  readonly enableApiLogging?: boolean;
  /** Our app's channel: proxied gRPC calls for our own app id go to it. */
  readonly appChannel: () => AppChannel | undefined;
  readonly logger: Logger;
  /** Spans for API calls. */
  readonly tracer?: Tracer;
  /** Configuration `spec.api` allow/deny lists. */
  readonly apiAllowlist?: ApiAllowlist;
}

/** A listening gRPC server with graceful close. */
export interface GrpcApiServer {
  /** Listens on `port` on every address (all interfaces when the list is empty). Port 0 picks one. */
  listen(port: number, addresses: readonly string[]): Promise<void>;
  /** Listens on the unix socket `path` instead (`--unix-domain-socket`). */
  listenUnix(path: string): Promise<void>;
  /** Stops accepting, waits up to `graceMs` for in-flight calls, then cancels what is left. */
  close(graceMs: number): Promise<void>;
  /** The bound port (after `listen`). */
  port(): number;
}

/** One method's work: resolves to the response with its header and trailer metadata, or an error status. */
type Handler<Req> = (
  req: Req,
  call: grpc.ServerUnaryCall<Req, unknown>,
  cancel: Cancellation,
) => Promise<
  { response: unknown; metadata?: grpc.Metadata; trailers?: grpc.Metadata | undefined } | { error: GrpcError }
>;

const SOCKET_NAME = /^outrigger-grpc-(\d+)-[0-9a-f]+\.sock$/;

/** Removes the unix sockets of sidecars that ended without closing (killed, or crashed). */
async function sweepStaleSockets(): Promise<void> {
  const dir = tmpdir();
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return;
  }
  for (const name of names) {
    const m = SOCKET_NAME.exec(name);
    if (m !== null && !processAlive(Number(m[1]))) await rm(join(dir, name), { force: true });
  }
}

/** A header the API port adds (api-port.ts), taken out of the metadata that travels on. */
function takeHeader(md: grpc.Metadata, name: string): string {
  const v = md.get(name)[0];
  md.remove(name);
  return typeof v === 'string' ? v : '';
}

/** The token check (daprd's checkAPITokenInContext): undefined when the call may go on. */
function checkToken(md: grpc.Metadata, token: string | undefined): GrpcError | undefined {
  if (token === undefined) return undefined;
  const given = md.get('dapr-api-token');
  if (given.length === 0) return fromHttpStatus(401, 'missing api token in request metadata');
  if (given[0] !== token) return fromHttpStatus(401, 'authentication error: api token mismatch');
  md.remove('dapr-api-token');
  return undefined;
}

function toGrpcError(err: unknown): GrpcError {
  if (err instanceof DaprError) return fromDaprError(err);
  return { code: grpc.status.INTERNAL, details: err instanceof Error ? err.message : String(err) };
}

/** GetMetadata's answer in the proto's shape. */
function metadataMessage(m: MetadataResult): Record<string, unknown> {
  const app = m.appConnectionProperties;
  return {
    id: m.id,
    active_actors_count: [],
    registered_components: (m.components ?? []).map((c) => ({
      name: c.name,
      type: c.type,
      version: c.version,
      capabilities: c.capabilities ?? [],
    })),
    extended_metadata: m.extended,
    subscriptions: (m.subscriptions ?? []).map((s) => ({
      pubsub_name: s.pubsubname,
      topic: s.topic,
      metadata: s.metadata ?? {},
      rules: { rules: (s.rules ?? []).map((r) => ({ match: r.match ?? '', path: r.path })) },
      dead_letter_topic: s.deadLetterTopic ?? '',
      type: s.type,
    })),
    http_endpoints: (m.httpEndpoints ?? []).map((e) => ({ name: e.name })),
    app_connection_properties: {
      port: app.port ?? 0,
      protocol: app.protocol ?? '',
      channel_address: app.channelAddress ?? '',
      max_concurrency: app.maxConcurrency ?? 0,
      ...(app.health === undefined
        ? {}
        : {
            health: {
              health_check_path: app.health.healthCheckPath ?? '',
              health_probe_interval: app.health.healthProbeInterval ?? '',
              health_probe_timeout: app.health.healthProbeTimeout ?? '',
              health_threshold: app.health.healthThreshold ?? 0,
            },
          }),
    },
    runtime_version: m.runtimeVersion,
    enabled_features: m.enabledFeatures ?? [],
    actor_runtime: {
      runtime_status: m.actorRuntime.runtimeStatus,
      active_actors: [],
      host_ready: m.actorRuntime.hostReady,
      placement: '',
    },
  };
}

/** The caller's trace context: `traceparent`, else OpenCensus' `grpc-trace-bin`. */
function incomingTraceparent(md: grpc.Metadata): string | undefined {
  const text = md.get('traceparent')[0];
  if (typeof text === 'string') return text;
  const bin = md.get('grpc-trace-bin')[0];
  return Buffer.isBuffer(bin) ? traceparentFromBin(bin) : undefined;
}

/** The state or secret store a request names (`store_name`, or `storeName` in a transaction). */
function storeOf(method: string, request: unknown): { kind: string; name: string } | undefined {
  const kind = method.includes('Secret') ? 'secrets' : method.includes('State') ? 'state' : undefined;
  if (kind === undefined || request === null || typeof request !== 'object') return undefined;
  const r = request as { store_name?: unknown; storeName?: unknown };
  const name = r.store_name ?? r.storeName;
  return typeof name === 'string' ? { kind, name } : undefined;
}

/** Ends a gRPC API call's span with daprd's attributes (an invocation is `CallLocal/<app id>/<method>`). */
function endApiSpan(span: Span, route: string, request: unknown, code: number, message: string): void {
  const attributes: Record<string, string> = {};
  const method = route.slice(route.lastIndexOf('/') + 1);
  const store = storeOf(method, request);
  if (store !== undefined) {
    // daprd's AppendSpanAttributes of the state and secret requests.
    attributes['db.system'] = store.kind;
    attributes['db.name'] = store.name;
    attributes['db.statement'] = route;
    attributes['db.connection_string'] = store.kind;
  } else if (method === 'InvokeService') {
    const req = request as Partial<InvokeServiceRequestMessage> | undefined;
    const id = req?.id ?? '';
    attributes['rpc.service'] = 'ServiceInvocation';
    attributes['net.peer.name'] = id;
    span.setName(`CallLocal/${id}/${req?.message?.method ?? ''}`);
  }
  attributes['dapr.protocol'] = 'grpc';
  attributes['dapr.api'] = route;
  attributes['dapr.status_code'] = GRPC_CODE_NAMES[code] ?? String(code);
  span.end(attributes, code === grpc.status.OK ? undefined : message);
}

/** The Dapr gRPC API over `ctx`. */
export function createGrpcApiServer(ctx: ApiContext, opts: GrpcApiServerOptions): GrpcApiServer {
  const apiLog = opts.logger.child({ scope: 'dapr.runtime.grpc.api-info' });
  const server = new grpc.Server({
    'grpc.max_receive_message_length': opts.maxBodyBytes,
    'grpc.max_send_message_length': opts.maxBodyBytes,
  });
  const token = opts.apiToken === undefined || opts.apiToken === '' ? undefined : opts.apiToken;
  const inFlight = new Set<Cancellation>();

  const unary =
    <Req>(name: string, handler: Handler<Req>): grpc.handleUnaryCall<Req, unknown> =>
    (call, callback) => {
      const started = performance.now();
      const route = `/${DAPR_SERVICE_NAME}/${name}`;
      const cancel = new Cancellation();
      inFlight.add(cancel);
      call.on('cancelled', () => cancel.cancel());
      const span = opts.tracer?.start(route, 'CLIENT', incomingTraceparent(call.metadata));
      if (span !== undefined) {
        // The span's context travels on (to the callee, components) in place of the caller's.
        call.metadata.set('traceparent', span.traceparent);
        call.metadata.remove('grpc-trace-bin');
      }
      const finish = (code: number, message = '', response?: unknown): void => {
        inFlight.delete(cancel);
        if (span?.recording === true) endApiSpan(span, route, call.request, code, message);
        if (opts.enableApiLogging === true) {
          // daprd's fields: the full method, user agent, whole milliseconds and the numeric code.
          const fields: Record<string, unknown> = { method: route };
          const ua = call.metadata.get('user-agent')[0];
          if (typeof ua === 'string') fields.useragent = ua;
          fields.duration = Math.trunc(performance.now() - started);
          fields.code = code;
          apiLog.info('gRPC API Called', fields);
        }
        if (channels.apiRequest.hasSubscribers)
          publishGrpcServerCall(
            route,
            ctx.appId,
            code,
            performance.now() - started,
            messageSize(call.request),
            messageSize(response),
          );
      };
      const fail = (error: GrpcError): void => {
        finish(error.code, error.details);
        callback(error);
      };
      const denied = checkToken(call.metadata, token);
      if (denied !== undefined) {
        fail(denied);
        return;
      }
      handler(call.request, call, cancel).then(
        (out) => {
          if ('error' in out) {
            fail(out.error);
            return;
          }
          if (out.metadata !== undefined) call.sendMetadata(out.metadata);
          // grpc-js serializes the answer inside the callback: its size is known after it.
          callback(null, out.response, out.trailers);
          finish(grpc.status.OK, '', out.response);
        },
        (err: unknown) => {
          const error = toGrpcError(err);
          if (err instanceof DaprError && channels.apiError.hasSubscribers)
            channels.apiError.publish({ code: err.code, protocol: 'grpc' });
          fail(error);
        },
      );
    };

  const state = stateMethods(ctx);
  const secrets = secretsMethods(ctx);
  server.addService(measuredService(loadDaprService()), {
    InvokeService: unary<InvokeServiceRequestMessage>('InvokeService', async (req, call, cancel) => {
      const out = await invokeOverGrpc(ctx.invoker?.(), req, {
        metadata: call.metadata,
        peer: takeHeader(call.metadata, PEER_ADDRESS_HEADER),
        localIp: takeHeader(call.metadata, LOCAL_ADDRESS_HEADER),
        cancel,
        maxBodyBytes: opts.maxBodyBytes,
      });
      return out.ok
        ? { response: out.response, metadata: out.metadata, trailers: out.trailers }
        : { error: out.error };
    }),
    GetMetadata: unary('GetMetadata', async () => ({ response: metadataMessage(getMetadata(ctx)) })),
    SetMetadata: unary<SetMetadataRequestMessage>('SetMetadata', async (req) => {
      setMetadata(ctx, { key: req.key, value: req.value });
      return { response: {} };
    }),
    Shutdown: unary('Shutdown', async () => {
      shutdown(ctx);
      return { response: {} };
    }),
    GetState: unary('GetState', state.GetState),
    GetBulkState: unary('GetBulkState', state.GetBulkState),
    SaveState: unary('SaveState', state.SaveState),
    QueryStateAlpha1: unary('QueryStateAlpha1', state.QueryStateAlpha1),
    DeleteState: unary('DeleteState', state.DeleteState),
    DeleteBulkState: unary('DeleteBulkState', state.DeleteBulkState),
    ExecuteStateTransaction: unary('ExecuteStateTransaction', state.ExecuteStateTransaction),
    GetSecret: unary('GetSecret', secrets.GetSecret),
    GetBulkSecret: unary('GetBulkSecret', secrets.GetBulkSecret),
  });

  // grpc-js answers only the methods it was given: it serves them on a private unix socket, and
  // the port (api-port.ts) hands it their calls and proxies the rest.
  const socket = join(tmpdir(), `outrigger-grpc-${process.pid}-${randomBytes(6).toString('hex')}.sock`);
  const port = new ApiPort({
    appId: ctx.appId,
    serviceSocket: socket,
    invoker: () => ctx.invoker?.(),
    appChannel: opts.appChannel,
    resiliency: ctx.resiliency,
    maxBodyBytes: opts.maxBodyBytes,
    logger: opts.logger,
    tracer: opts.tracer,
    apiAllowlist: opts.apiAllowlist,
    ...(token === undefined ? {} : { apiToken: token }),
  });

  const bindService = async (): Promise<void> => {
    await sweepStaleSockets();
    await new Promise<void>((resolve, reject) =>
      server.bindAsync(`unix:${socket}`, grpc.ServerCredentials.createInsecure(), (err) =>
        err === null ? resolve() : reject(err),
      ),
    );
  };
  return {
    async listen(portNumber, addresses) {
      await bindService();
      await port.listen(portNumber, addresses);
    },
    async listenUnix(path) {
      await bindService();
      await port.listenUnix(path);
    },
    async close(graceMs) {
      await port.close(graceMs);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(
          () => {
            for (const c of inFlight) c.cancel();
            server.forceShutdown();
            resolve();
          },
          Math.max(0, graceMs),
        );
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
      await rm(socket, { force: true });
    },
    port: () => port.port,
  };
}
