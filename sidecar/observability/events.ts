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
} as const;

/** Payload of `apiRequest`. */
export interface ApiRequestEvent {
  readonly protocol: 'http' | 'grpc';
  readonly method: string;
  readonly route: string;
  readonly status: number;
  readonly durationMs: number;
  readonly appId: string;
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
}

/** Payload of `appGrpcCall`. */
export interface AppGrpcCallEvent {
  /** Full method, e.g. `/dapr.proto.runtime.v1.AppCallback/OnInvoke`. */
  readonly method: string;
  /** Status code name as grpc-go prints it (`OK`, `NotFound`, ...). */
  readonly status: string;
  readonly durationMs: number;
}
