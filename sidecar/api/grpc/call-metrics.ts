/**
 * daprd's gRPC metrics for the calls that do not pass through the gRPC API server's handlers:
 * proxied calls (its stream interceptors) and unary calls to the internal API.
 */
import { type ApiRequestEvent, type AppGrpcCallEvent, channels } from '../../observability/events.js';
import { GRPC_CODE_NAMES } from '../internal/grpc-framing.js';

/**
 * Publishes a proxied call for daprd's gRPC metrics, as its stream interceptors count one: where
 * the app's call arrives (`server`, the API port) and where the call goes to the app (`client`).
 * Returns what ends it with the call's gRPC status.
 */
export function meterProxiedCall(
  side: 'server' | 'client',
  method: string,
  appId: string,
): (code: number) => void {
  const started = performance.now();
  return (code) => {
    const durationMs = performance.now() - started;
    if (side === 'server') {
      publishGrpcServerCall(method, appId, code, durationMs, 0, 0, true);
    } else if (channels.appGrpcCall.hasSubscribers) {
      const event: AppGrpcCallEvent = {
        method,
        status: GRPC_CODE_NAMES[code] ?? `Code(${code})`,
        durationMs,
        sentBytes: 0,
        receivedBytes: 0,
        proxied: true,
      };
      channels.appGrpcCall.publish(event);
    }
  };
}

/** Calls each of `ends` with the call's status. */
export function allOf(...ends: ((code: number) => void)[]): (code: number) => void {
  return (code) => {
    for (const end of ends) end(code);
  };
}

/**
 * Publishes a unary call received on the internal API for daprd's gRPC server metrics (daprd's
 * internal server has the same unary interceptor as its API server). Returns what ends it with the
 * call's gRPC status and the answer's size.
 */
export function meterUnaryCall(
  method: string,
  appId: string,
  requestBytes: number,
): (code: number, responseBytes: number) => void {
  const started = performance.now();
  return (code, responseBytes) =>
    publishGrpcServerCall(method, appId, code, performance.now() - started, requestBytes, responseBytes);
}

/** Publishes one call a gRPC server of the sidecar answered (`apiRequest`, protocol grpc). */
export function publishGrpcServerCall(
  method: string,
  appId: string,
  code: number,
  durationMs: number,
  requestBytes: number,
  responseBytes: number,
  proxied = false,
): void {
  if (!channels.apiRequest.hasSubscribers) return;
  const event: ApiRequestEvent = {
    protocol: 'grpc',
    method: 'POST',
    route: method,
    path: method,
    status: code,
    durationMs,
    appId,
    requestBytes,
    responseBytes,
    ...(proxied ? { proxied } : {}),
  };
  channels.apiRequest.publish(event);
}
