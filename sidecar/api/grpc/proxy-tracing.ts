/**
 * Spans of proxied gRPC calls (daprd's GRPCTraceStreamServerInterceptor on a proxied call): named
 * by the full method, a CLIENT span on the caller's sidecar and a SERVER span where the call
 * reaches its app. The span's context replaces the call's `traceparent` and `grpc-trace-bin`, so
 * the next hop is its child.
 */
import { traceBin, traceparentFromBin } from '../../channel/grpc-metadata.js';
import { newTraceparent } from '../../invoke/headers.js';
import type { SpanKind, Tracer } from '../../observability/tracing/tracer.js';
import { GRPC_CODE_NAMES, GrpcStatus } from '../internal/grpc-framing.js';
import type { HeaderMap } from '../internal/h2/stream.js';
import type { Fields } from './grpc-proxy.js';

/** The caller's trace context: `traceparent`, else OpenCensus' `grpc-trace-bin` (base64). */
function incoming(headers: HeaderMap): string | undefined {
  const text = headers.traceparent;
  if (text !== undefined) return text;
  const bin = headers['grpc-trace-bin'];
  return bin === undefined ? undefined : traceparentFromBin(Buffer.from(bin, 'base64'));
}

/**
 * Starts the call's span and puts its context into `metadata` (in place of the caller's); returns
 * what ends it with the call's gRPC status. Without a tracer, the caller's context goes on as it
 * came, and a new one is added when there is none.
 */
export function traceProxiedCall(
  tracer: Tracer | undefined,
  kind: SpanKind,
  method: string,
  peerAppId: string,
  headers: HeaderMap,
  metadata: Fields,
): (code: number) => void {
  const parent = incoming(headers);
  const span = tracer?.start(method, kind, parent);
  const traceparent = span?.traceparent ?? parent ?? newTraceparent();
  for (let i = metadata.length - 1; i >= 0; i--) {
    const name = (metadata[i] as [string, string])[0];
    if (name === 'traceparent' || name === 'grpc-trace-bin') metadata.splice(i, 1);
  }
  metadata.push(['traceparent', traceparent]);
  const bin = traceBin(traceparent);
  if (bin !== undefined) metadata.push(['grpc-trace-bin', bin.toString('base64')]);
  if (span?.recording !== true) return () => {};
  return (code) => {
    const name = GRPC_CODE_NAMES[code] ?? String(code);
    span.end(
      {
        'rpc.service': 'ServiceInvocation',
        'net.peer.name': peerAppId,
        'dapr.protocol': 'grpc',
        'dapr.api': method,
        'dapr.status_code': name,
      },
      code === GrpcStatus.OK ? undefined : `Code(${name})`,
    );
  };
}
