/**
 * Header handling for service invocation (daprd pkg/messaging/v1/util.go and
 * pkg/messaging/direct_messaging.go): what crosses from the caller's HTTP request into the
 * internal metadata, what daprd adds (caller/callee ids, forwarding headers, traceparent), and what
 * goes back to the caller from the app's response.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { hostname } from 'node:os';
import type { Metadata } from '../api/internal/invoke-messages.js';
import { formatTraceparent, newSpanId, newTraceId } from '../observability/tracing/trace-context.js';

/** Headers daprd adds toward the callee app. */
export const CALLER_ID_HEADER = 'dapr-caller-app-id';
/** The callee app id. */
export const CALLEE_ID_HEADER = 'dapr-callee-app-id';
/** The caller's namespace. */
export const CALLER_NAMESPACE_HEADER = 'dapr-caller-namespace';

/** Hop-by-hop and sidecar-only headers never forwarded (RFC 9110 §7.6.1 plus Dapr's own). */
const DROPPED = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'host',
  'dapr-app-id',
  'dapr-api-token',
  'proxy-authorization',
]);

/** Whether a response header must not be copied to the caller. */
export function isHopByHop(name: string): boolean {
  return DROPPED.has(name) && name !== 'host';
}

const HOST_NAME = hostname();

/**
 * A fresh W3C traceparent for a call that arrives without one and outside a span (the API
 * servers start a span for every call, whose context is used instead): a new trace, sampled.
 */
export function newTraceparent(): string {
  return formatTraceparent({ traceId: newTraceId(), spanId: newSpanId(), sampled: true });
}

/**
 * The caller's HTTP headers as invocation metadata, plus daprd's additions. `remoteIp` is the
 * caller app's address (X-Forwarded-For), `localIp` this sidecar's (Forwarded `by=`).
 */
export function requestMetadata(
  headers: IncomingHttpHeaders,
  caller: { appId: string; namespace: string },
  calleeAppId: string,
  remoteIp: string,
  localIp: string,
): Metadata {
  const md: Metadata = {};
  for (const key of Object.keys(headers)) {
    if (DROPPED.has(key)) continue;
    const v = headers[key];
    if (v === undefined) continue;
    md[key] = typeof v === 'string' ? [v] : [...v];
  }
  if (md.traceparent === undefined) md.traceparent = [newTraceparent()];
  md[CALLER_ID_HEADER] = [caller.appId];
  md[CALLER_NAMESPACE_HEADER] = [caller.namespace];
  md[CALLEE_ID_HEADER] = [calleeAppId];
  const forwardedFor = md['x-forwarded-for'];
  md['x-forwarded-for'] = forwardedFor === undefined ? [remoteIp] : [...forwardedFor, remoteIp];
  if (md['x-forwarded-host'] === undefined) md['x-forwarded-host'] = [HOST_NAME];
  const fwd = `for=${forwardedValue(remoteIp)};by=${forwardedValue(localIp)};host=${HOST_NAME}`;
  md.forwarded = md.forwarded === undefined ? [fwd] : [...md.forwarded, fwd];
  return md;
}

function forwardedValue(ip: string): string {
  const clean = ip.startsWith('::ffff:') ? ip.slice(7) : ip;
  return clean.includes(':') ? `"[${clean}]"` : clean;
}

/** Response headers from the app as metadata (hop-by-hop ones dropped). */
export function responseMetadata(headers: IncomingHttpHeaders): Metadata {
  const md: Metadata = {};
  for (const key of Object.keys(headers)) {
    if (isHopByHop(key)) continue;
    const v = headers[key];
    if (v === undefined) continue;
    md[key] = typeof v === 'string' ? [v] : [...v];
  }
  return md;
}

/**
 * Metadata back to headers for an HTTP request or response (single values flattened), as daprd's
 * InternalMetadataToHTTPHeader: binary (`-bin`) entries are left out, and gRPC's reserved names
 * (`grpc-*`, and the pseudo-headers `:method`, `:scheme`, `:path`, `:authority`) travel with a
 * `dapr-` prefix.
 */
export function metadataToHeaders(md: Metadata): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const key of Object.keys(md)) {
    if (DROPPED.has(key) || key.endsWith('-bin') || (key.startsWith(':') && !RESERVED_PSEUDO.has(key)))
      continue;
    const v = md[key] as string[];
    if (v.length === 0) continue;
    out[reservedToDapr(key)] = v.length === 1 ? (v[0] as string) : v;
  }
  return out;
}

function reservedToDapr(key: string): string {
  if (key.startsWith('grpc-')) return `dapr-${key}`;
  if (key.startsWith(':')) return `dapr-${key.slice(1)}`;
  return key;
}

const RESERVED_PSEUDO = new Set([':method', ':scheme', ':path', ':authority']);
