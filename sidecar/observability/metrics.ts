import type diagnosticsChannel from 'node:diagnostics_channel';
import { createServer, type Server } from 'node:http';
import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client';
import { GRPC_CODE_NAMES } from '../api/internal/grpc-framing.js';
import { registerInvocationMetrics } from '../invoke/invoke-metrics.js';
import {
  type ApiErrorEvent,
  type ApiRequestEvent,
  type AppCallEvent,
  type AppGrpcCallEvent,
  type ComponentLoadedEvent,
  channels,
} from './events.js';
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

/** Options for `SidecarMetrics`. */
export interface MetricsOptions {
  readonly appId: string;
  /** Configuration `spec.metric.latencyDistributionBuckets` when given. */
  readonly latencyBucketsMs?: readonly number[];
  /** Configuration `spec.metric.recordErrorCodes` (daprd default false); Outrigger records by default. */
  readonly recordErrorCodes?: boolean;
}

/** The sidecar's metrics: a registry, the Dapr metric families, and the channel subscriptions. */
export class SidecarMetrics {
  /** The registry `/metrics` renders. */
  readonly registry = new Registry();
  readonly #appId: string;
  readonly #unsubscribe: (() => void)[] = [];

  constructor(options: MetricsOptions) {
    this.#appId = options.appId;
    const buckets =
      options.latencyBucketsMs !== undefined && options.latencyBucketsMs.length > 0
        ? [...options.latencyBucketsMs]
        : LATENCY_BUCKETS_MS;
    const registers = [this.registry];
    const requestCount = new Counter({
      name: 'dapr_http_server_request_count',
      help: 'Number of HTTP requests started in server.',
      labelNames: ['app_id', 'method', 'path', 'status'] as const,
      registers,
    });
    const latency = new Histogram({
      name: 'dapr_http_server_latency',
      help: 'HTTP request end-to-end latency in server, in milliseconds.',
      labelNames: ['app_id', 'method', 'path', 'status'] as const,
      buckets,
      registers,
    });
    const grpcCount = new Counter({
      name: 'dapr_grpc_io_server_completed_rpcs',
      help: 'Count of RPCs by method and status.',
      labelNames: ['app_id', 'grpc_server_method', 'grpc_server_status'] as const,
      registers,
    });
    const componentLoaded = new Counter({
      name: 'dapr_runtime_component_loaded',
      help: 'The number of successfully loaded components.',
      labelNames: ['app_id', 'success'] as const,
      registers,
    });
    const componentInitFail = new Counter({
      name: 'dapr_runtime_component_init_fail_total',
      help: 'The number of component initialization failures.',
      labelNames: ['app_id', 'component', 'reason'] as const,
      registers,
    });
    const errorCodes = new Counter({
      name: 'dapr_error_code_total',
      help: 'Number of times an error with a specific error code was returned.',
      labelNames: ['app_id', 'category', 'error_code'] as const,
      registers,
    });
    const clientCount = new Counter({
      name: 'dapr_http_client_completed_count',
      help: 'Count of completed requests to the app.',
      labelNames: ['app_id', 'method', 'path', 'status'] as const,
      registers,
    });
    const clientLatency = new Histogram({
      name: 'dapr_http_client_roundtrip_latency',
      help: 'Time between first byte of request headers sent to the app and last byte of response received, in milliseconds.',
      labelNames: ['app_id', 'method', 'path', 'status'] as const,
      buckets,
      registers,
    });
    const grpcClientCount = new Counter({
      name: 'dapr_grpc_io_client_completed_rpcs',
      help: 'Count of RPCs by method and status.',
      labelNames: ['app_id', 'grpc_client_method', 'grpc_client_status'] as const,
      registers,
    });
    const grpcClientLatency = new Histogram({
      name: 'dapr_grpc_io_client_roundtrip_latency',
      help: 'Distribution of round-trip latency, by method, in milliseconds.',
      labelNames: ['app_id', 'grpc_client_method', 'grpc_client_status'] as const,
      buckets,
      registers,
    });
    collectDefaultMetrics({ register: this.registry });
    this.#unsubscribe.push(registerInvocationMetrics(this.registry, this.#appId, buckets));
    this.#unsubscribe.push(registerSecurityMetrics(this.registry, this.#appId));

    this.#on(channels.apiRequest, (e: ApiRequestEvent) => {
      if (e.protocol === 'grpc') {
        grpcCount.inc({
          app_id: this.#appId,
          grpc_server_method: e.route,
          grpc_server_status: GRPC_CODE_NAMES[e.status] ?? String(e.status),
        });
        return;
      }
      const labels = { app_id: this.#appId, method: e.method, path: e.route, status: String(e.status) };
      requestCount.inc(labels);
      latency.observe(labels, e.durationMs);
    });
    this.#on(channels.apiError, (e: ApiErrorEvent) => {
      if (options.recordErrorCodes === false) return;
      errorCodes.inc({ app_id: this.#appId, category: errorCategory(e.code), error_code: e.code });
    });
    this.#on(channels.componentLoaded, (e: ComponentLoadedEvent) => {
      componentLoaded.inc({ app_id: this.#appId, success: String(e.success) });
      if (!e.success)
        componentInitFail.inc({ app_id: this.#appId, component: `${e.name} (${e.type})`, reason: 'init' });
    });
    this.#on(channels.appCall, (e: AppCallEvent) => {
      const labels = { app_id: this.#appId, method: e.method, path: e.path, status: String(e.status) };
      clientCount.inc(labels);
      clientLatency.observe(labels, e.durationMs);
    });
    this.#on(channels.appGrpcCall, (e: AppGrpcCallEvent) => {
      const labels = { app_id: this.#appId, grpc_client_method: e.method, grpc_client_status: e.status };
      grpcClientCount.inc(labels);
      grpcClientLatency.observe(labels, e.durationMs);
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
