import type diagnosticsChannel from 'node:diagnostics_channel';
import { createServer, type Server } from 'node:http';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { GRPC_CODE_NAMES } from '../api/internal/grpc-framing.js';
import { registerInvocationMetrics } from '../invoke/invoke-metrics.js';
import type { MetricRuleSpec } from '../spec/configuration.js';
import {
  type ApiErrorEvent,
  type ApiRequestEvent,
  type AppCallEvent,
  type AppGrpcCallEvent,
  type AppHealthProbeEvent,
  type ComponentCallEvent,
  type ComponentLoadedEvent,
  channels,
} from './events.js';
import { HttpMetricLabels, type HttpMetricsSpec } from './http-metric-labels.js';
import { familyMakers } from './metric-families.js';
import { applyMetricRules } from './metric-rules.js';
import { registerSecurityMetrics } from './security-metrics.js';

/**
 * Prometheus metrics with Dapr's names (docs: operations/observability/metrics), fed only from the
 * diagnostics channels in events.ts. Each sidecar owns one Registry; nothing is global.
 */

/** Latency buckets in milliseconds (Dapr's default distribution). */
const LATENCY_BUCKETS_MS = [
  1, 2, 3, 4, 5, 6, 8, 10, 13, 16, 20, 25, 30, 40, 50, 65, 80, 100, 130, 160, 200, 250, 300, 400, 500, 650,
  800, 1000, 2000, 5000, 10000, 20000, 50000, 100000,
];

/** Body and message size buckets in bytes (daprd's default size distribution, 1 KiB to 4 GiB). */
const SIZE_BUCKETS = [
  1024, 2048, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864, 268435456, 1073741824,
  4294967296,
];

/** Options for `SidecarMetrics`. */
export interface MetricsOptions {
  readonly appId: string;
  /** The sidecar's namespace (`namespace` label of the component metrics). */
  readonly namespace?: string;
  /** Configuration `spec.metric.latencyDistributionBuckets` when given. */
  readonly latencyBucketsMs?: readonly number[];
  /** Configuration `spec.metric.recordErrorCodes` (daprd's default: false). */
  readonly recordErrorCodes?: boolean;
  /** Configuration `spec.metric.http` (daprd's defaults: increased cardinality, no path matching). */
  readonly http?: HttpMetricsSpec;
  /** Configuration `spec.metric.rules`. */
  readonly rules?: readonly MetricRuleSpec[];
}

/** The sidecar's metrics: a registry, the Dapr metric families, and the channel subscriptions. */
export class SidecarMetrics {
  /** The registry `/metrics` renders. */
  readonly registry = new Registry();
  /** Names in `rules` that no metric has. */
  readonly unknownRuleMetrics: readonly string[];
  readonly #unsubscribe: (() => void)[] = [];

  constructor(options: MetricsOptions) {
    const appId = options.appId;
    const buckets =
      options.latencyBucketsMs !== undefined && options.latencyBucketsMs.length > 0
        ? [...options.latencyBucketsMs]
        : LATENCY_BUCKETS_MS;
    const labeler = new HttpMetricLabels(
      options.http ?? { increasedCardinality: true, pathMatching: [], excludeVerbs: false },
    );
    const { counter, histogram } = familyMakers(this.registry);

    const httpLabels = ['app_id', 'method', 'path', 'status'] as const;
    const http = {
      requestCount: counter(
        'dapr_http_server_request_count',
        'Number of HTTP requests started in server.',
        httpLabels,
      ),
      responseCount: counter('dapr_http_server_response_count', 'The number of HTTP responses.', httpLabels),
      latency: histogram(
        'dapr_http_server_latency',
        'HTTP request end-to-end latency in server, in milliseconds.',
        httpLabels,
        buckets,
      ),
      requestBytes: histogram(
        'dapr_http_server_request_bytes',
        'HTTP request body size if set as ContentLength (uncompressed) in server.',
        ['app_id'],
        SIZE_BUCKETS,
      ),
      responseBytes: histogram(
        'dapr_http_server_response_bytes',
        'HTTP response body size (uncompressed) in server.',
        ['app_id'],
        SIZE_BUCKETS,
      ),
    };
    const app = {
      completed: counter(
        'dapr_http_client_completed_count',
        'Count of completed requests to the app.',
        httpLabels,
      ),
      latency: histogram(
        'dapr_http_client_roundtrip_latency',
        'Time between first byte of request headers sent to the app and last byte of response received, in milliseconds.',
        httpLabels,
        buckets,
      ),
      sentBytes: histogram(
        'dapr_http_client_sent_bytes',
        'Total bytes sent in request body (not including headers).',
        httpLabels,
        SIZE_BUCKETS,
      ),
      receivedBytes: histogram(
        'dapr_http_client_received_bytes',
        'Total bytes received in response bodies (not including headers but including error responses with bodies).',
        ['app_id'],
        SIZE_BUCKETS,
      ),
    };
    const grpcServerLabels = ['app_id', 'grpc_server_method', 'grpc_server_status'] as const;
    const grpcServer = {
      completed: counter(
        'dapr_grpc_io_server_completed_rpcs',
        'Count of RPCs by method and status.',
        grpcServerLabels,
      ),
      latency: histogram(
        'dapr_grpc_io_server_server_latency',
        'Distribution of server latency in milliseconds, by method.',
        grpcServerLabels,
        buckets,
      ),
      receivedBytes: histogram(
        'dapr_grpc_io_server_received_bytes_per_rpc',
        'Distribution of received bytes per RPC, by method.',
        ['app_id', 'grpc_server_method'],
        SIZE_BUCKETS,
      ),
      sentBytes: histogram(
        'dapr_grpc_io_server_sent_bytes_per_rpc',
        'Distribution of total sent bytes per RPC, by method.',
        ['app_id', 'grpc_server_method'],
        SIZE_BUCKETS,
      ),
    };
    const grpcClientLabels = ['app_id', 'grpc_client_method', 'grpc_client_status'] as const;
    const grpcClient = {
      completed: counter(
        'dapr_grpc_io_client_completed_rpcs',
        'Count of RPCs by method and status.',
        grpcClientLabels,
      ),
      latency: histogram(
        'dapr_grpc_io_client_roundtrip_latency',
        'Distribution of round-trip latency, by method, in milliseconds.',
        grpcClientLabels,
        buckets,
      ),
      sentBytes: histogram(
        'dapr_grpc_io_client_sent_bytes_per_rpc',
        'Distribution of bytes sent per RPC, by method.',
        ['app_id', 'grpc_client_method'],
        SIZE_BUCKETS,
      ),
      receivedBytes: histogram(
        'dapr_grpc_io_client_received_bytes_per_rpc',
        'Distribution of bytes received per RPC, by method.',
        ['app_id', 'grpc_client_method'],
        SIZE_BUCKETS,
      ),
    };
    const probes = {
      http: {
        completed: counter(
          'dapr_http_healthprobes_completed_count',
          'Count of completed health probes to the app.',
          ['app_id', 'status'],
        ),
        latency: histogram(
          'dapr_http_healthprobes_roundtrip_latency',
          'Time between first byte of health probes headers sent to last byte of response received, in milliseconds.',
          ['app_id', 'status'],
          buckets,
        ),
      },
      grpc: {
        completed: counter(
          'dapr_grpc_io_healthprobes_completed_count',
          'Count of completed health probes to the app.',
          ['app_id', 'grpc_client_status'],
        ),
        latency: histogram(
          'dapr_grpc_io_healthprobes_roundtrip_latency',
          'Distribution of health probe round-trip latency, in milliseconds.',
          ['app_id', 'grpc_client_status'],
          buckets,
        ),
      },
    };
    const components = {
      loaded: counter('dapr_runtime_component_loaded', 'The number of successfully loaded components.', [
        'app_id',
      ]),
      initialized: counter('dapr_runtime_component_init_total', 'The number of initialized components.', [
        'app_id',
        'component',
      ]),
      initFailed: counter(
        'dapr_runtime_component_init_fail_total',
        'The number of component initialization failures.',
        ['app_id', 'component', 'reason'],
      ),
    };
    const componentCallLabels = ['app_id', 'component', 'namespace', 'operation', 'success'] as const;
    const componentCalls = {
      state: {
        count: counter(
          'dapr_component_state_count',
          'The number of operations performed on the state component.',
          componentCallLabels,
        ),
        latency: histogram(
          'dapr_component_state_latencies',
          'The latency of the response from the state component.',
          componentCallLabels,
          buckets,
        ),
      },
      secret: {
        count: counter(
          'dapr_component_secret_count',
          'The number of operations performed on the secret component.',
          componentCallLabels,
        ),
        latency: histogram(
          'dapr_component_secret_latencies',
          'The latency of the response from the secret component.',
          componentCallLabels,
          buckets,
        ),
      },
    };
    const errorCodes = counter(
      'dapr_error_code_total',
      'Number of times an error with a specific error code was returned.',
      ['app_id', 'category', 'error_code'],
    );
    collectDefaultMetrics({ register: this.registry });
    this.#unsubscribe.push(registerInvocationMetrics(this.registry, appId, buckets));
    this.#unsubscribe.push(registerSecurityMetrics(this.registry, appId));
    this.unknownRuleMetrics = applyMetricRules(this.registry, options.rules ?? []);

    this.#on(channels.apiRequest, (e: ApiRequestEvent) => {
      if (e.protocol === 'grpc') {
        const status = GRPC_CODE_NAMES[e.status] ?? String(e.status);
        const labels = { app_id: appId, grpc_server_method: e.route, grpc_server_status: status };
        grpcServer.completed.inc(labels);
        grpcServer.latency.observe(labels, e.durationMs);
        if (e.proxied === true) return;
        const byMethod = { app_id: appId, grpc_server_method: e.route };
        grpcServer.receivedBytes.observe(byMethod, e.requestBytes);
        grpcServer.sentBytes.observe(byMethod, e.responseBytes);
        return;
      }
      const labels = {
        app_id: appId,
        method: labeler.method(e.method),
        path: labeler.apiPath(e.path),
        status: String(e.status),
      };
      http.requestCount.inc(labels);
      http.responseCount.inc(labels);
      http.latency.observe(labels, e.durationMs);
      const byApp = { app_id: appId };
      http.requestBytes.observe(byApp, e.requestBytes);
      http.responseBytes.observe(byApp, e.responseBytes);
    });
    this.#on(channels.apiError, (e: ApiErrorEvent) => {
      if (options.recordErrorCodes !== true) return;
      errorCodes.inc({ app_id: appId, category: errorCategory(e.code), error_code: e.code });
    });
    this.#on(channels.componentLoaded, (e: ComponentLoadedEvent) => {
      if (e.success) {
        components.loaded.inc({ app_id: appId });
        components.initialized.inc({ app_id: appId, component: e.type });
      } else components.initFailed.inc({ app_id: appId, component: e.type, reason: 'init' });
    });
    this.#on(channels.appCall, (e: AppCallEvent) => {
      const method = labeler.method(e.method);
      const path = labeler.appPath(e.path);
      const labels = { app_id: appId, method, path, status: String(e.status) };
      app.completed.inc(labels);
      app.latency.observe(labels, e.durationMs);
      app.sentBytes.observe({ app_id: appId, method, path, status: '' }, e.sentBytes);
      app.receivedBytes.observe({ app_id: appId }, e.receivedBytes);
    });
    this.#on(channels.appGrpcCall, (e: AppGrpcCallEvent) => {
      const labels = { app_id: appId, grpc_client_method: e.method, grpc_client_status: e.status };
      grpcClient.completed.inc(labels);
      grpcClient.latency.observe(labels, e.durationMs);
      if (e.proxied === true) return;
      const byMethod = { app_id: appId, grpc_client_method: e.method };
      grpcClient.sentBytes.observe(byMethod, e.sentBytes);
      grpcClient.receivedBytes.observe(byMethod, e.receivedBytes);
    });
    this.#on(channels.appHealthProbe, (e: AppHealthProbeEvent) => {
      if (e.protocol === 'http') {
        const labels = { app_id: appId, status: e.status };
        probes.http.completed.inc(labels);
        probes.http.latency.observe(labels, e.durationMs);
      } else {
        const labels = { app_id: appId, grpc_client_status: e.status };
        probes.grpc.completed.inc(labels);
        probes.grpc.latency.observe(labels, e.durationMs);
      }
    });
    const namespace = options.namespace ?? '';
    this.#on(channels.componentCall, (e: ComponentCallEvent) => {
      const family = componentCalls[e.kind];
      const labels = {
        app_id: appId,
        component: e.component,
        namespace,
        operation: e.operation,
        success: String(e.success),
      };
      family.count.inc(labels);
      // daprd records whole milliseconds, and no latency for a call under one.
      const ms = Math.floor(e.durationMs);
      if (ms > 0) family.latency.observe(labels, ms);
    });
  }

  #on<T>(channel: diagnosticsChannel.Channel, handler: (event: T) => void): void {
    const listener = (message: unknown): void => handler(message as T);
    channel.subscribe(listener);
    this.#unsubscribe.push(() => channel.unsubscribe(listener));
  }

  /** Stops listening to the channels. */
  close(): void {
    for (const off of this.#unsubscribe.splice(0)) off();
  }
}

/** daprd's error-code categories (`dapr_error_code_total{category}`), derived from the code's building block. */
export function errorCategory(code: string): string {
  const c = code.toUpperCase();
  if (c.includes('STATE')) return 'state';
  if (c.includes('PUBSUB') || c.includes('TOPIC')) return 'pubsub';
  if (c.includes('SECRET')) return 'secrets';
  if (c.includes('ACTOR')) return 'actor';
  if (c.includes('BINDING')) return 'bindings';
  if (c.includes('HEALTH')) return 'health';
  if (c.includes('INVOKE') || c.includes('DIRECT')) return 'service-invocation';
  if (c.includes('CONFIGURATION')) return 'configuration';
  if (c.includes('LOCK')) return 'lock';
  if (c.includes('WORKFLOW')) return 'workflow';
  if (c.includes('CRYPTO')) return 'crypto';
  if (c.includes('METADATA')) return 'metadata';
  return 'common';
}

/** Serves the registry on `GET /` and `GET /metrics` (Prometheus text format). */
export function createMetricsServer(metrics: SidecarMetrics): Server {
  return createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' || (path !== '/' && path !== '/metrics')) {
      res.writeHead(404).end();
      return;
    }
    metrics.registry.metrics().then(
      (text) => {
        res.writeHead(200, { 'content-type': metrics.registry.contentType });
        res.end(text);
      },
      (err: unknown) => {
        res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(String(err));
      },
    );
  });
}
