import diagnosticsChannel from 'node:diagnostics_channel';

/**
 * Core code publishes events on these diagnostics channels; metrics, tracing and API logging
 * subscribe. Building blocks never import prom-client.
 */
export const channels = {
  /** An API request finished: {protocol, method, route (template), status, durationMs, appId}. */
  apiRequest: diagnosticsChannel.channel('outrigger:api:request'),
  /** An error response was sent: {code, protocol}. */
  apiError: diagnosticsChannel.channel('outrigger:api:error'),
  /** A component finished loading: {name, type, success}. */
  componentLoaded: diagnosticsChannel.channel('outrigger:component:loaded'),
  /** A call to the app finished: {method, path, status, durationMs}. */
  appCall: diagnosticsChannel.channel('outrigger:app:call'),
  /** A gRPC call to the app finished: {method, status (code name), durationMs}. */
  appGrpcCall: diagnosticsChannel.channel('outrigger:app:grpc-call'),
  /** A health probe of the app finished: AppHealthProbeEvent. */
  appHealthProbe: diagnosticsChannel.channel('outrigger:app:health-probe'),
  /** A building block's call to a component finished: ComponentCallEvent. */
  componentCall: diagnosticsChannel.channel('outrigger:component:call'),
} as const;

/** Payload of `apiRequest`. */
export interface ApiRequestEvent {
  readonly protocol: 'http' | 'grpc';
  readonly method: string;
  /** The route template (HTTP) or the full method (gRPC). */
  readonly route: string;
  /** The request path, cleaned, without the query (HTTP); the full method (gRPC). */
  readonly path: string;
  readonly status: number;
  readonly durationMs: number;
  readonly appId: string;
  /** HTTP: the request's Content-Length (0 when absent); gRPC: the request message's size. */
  readonly requestBytes: number;
  /** HTTP: the response body's size; gRPC: the response message's size (0 on error). */
  readonly responseBytes: number;
  /** A proxied gRPC call (daprd counts it and its latency, not its sizes). */
  readonly proxied?: boolean;
}

/** Payload of `apiError`. */
export interface ApiErrorEvent {
  readonly code: string;
  readonly protocol: 'http' | 'grpc';
}

/** Payload of `componentLoaded`. */
export interface ComponentLoadedEvent {
  readonly name: string;
  readonly type: string;
  readonly success: boolean;
}

/** Payload of `appCall`. */
export interface AppCallEvent {
  readonly method: string;
  readonly path: string;
  readonly status: number;
  readonly durationMs: number;
  /** The request body's size when known up front (0 for a stream of unknown length). */
  readonly sentBytes: number;
  /** The response's Content-Length (0 when absent or on error). */
  readonly receivedBytes: number;
}

/** Payload of `appGrpcCall`. */
export interface AppGrpcCallEvent {
  /** Full method, e.g. `/dapr.proto.runtime.v1.AppCallback/OnInvoke`. */
  readonly method: string;
  /** Status code name as grpc-go prints it (`OK`, `NotFound`, ...). */
  readonly status: string;
  readonly durationMs: number;
  /** The request message's size. */
  readonly sentBytes: number;
  /** The response message's size (0 on error). */
  readonly receivedBytes: number;
  /** A proxied gRPC call (daprd counts it and its latency, not its sizes). */
  readonly proxied?: boolean;
}

/** Payload of `appHealthProbe`. */
export interface AppHealthProbeEvent {
  readonly protocol: 'http' | 'grpc';
  /** The HTTP status (500 when the app did not answer), or the gRPC status code name. */
  readonly status: string;
  readonly durationMs: number;
}

/** daprd's component operation names (`operation` label of `dapr_component_*`). */
export type ComponentOperation =
  | 'get'
  | 'set'
  | 'delete'
  | 'query'
  | 'transaction'
  | 'bulk_get'
  | 'bulk_delete';

/** Payload of `componentCall`. */
export interface ComponentCallEvent {
  readonly kind: 'state' | 'secret';
  /** The component's name. */
  readonly component: string;
  readonly operation: ComponentOperation;
  readonly success: boolean;
  readonly durationMs: number;
}
