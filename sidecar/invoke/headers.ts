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
 * One-element value lists shared between calls (`singleValue`): per header name, the list made
 * for the value it last had. Most headers repeat their value from call to call (user-agent, content-type, the app
 * ids, the forwarding ones), and a list per header was most of a call's metadata garbage. The
 * lists are frozen: Metadata lists must be replaced, never changed in place.
 */
const lastValue = new Map<string, readonly string[]>();
/** Header names remembered at most (a caller can send any names). */
const MAX_REMEMBERED_NAMES = 256;

/** `[value]` as the list shared by the latest calls whose `name` had that value (frozen). */
export function singleValue(name: string, value: string): string[] {
  const last = lastValue.get(name);
  if (last !== undefined && last[0] === value) return last as string[];
  const list = Object.freeze([value]);
  if (last !== undefined || lastValue.size < MAX_REMEMBERED_NAMES) lastValue.set(name, list);
  return list as string[];
}

/**
 * The caller's HTTP headers as invocation metadata, plus daprd's additions. `remoteIp` is the
 * caller app's address (X-Forwarded-For), `localIp` this sidecar's (Forwarded `by=`). Single
 * values are frozen lists shared between calls (see `singleValue`).
 */
export function requestMetadata(
  headers: IncomingHttpHeaders,
  caller: { appId: string; namespace: string },
  calleeAppId: string,
  remoteIp: string,
  localIp: string,
): Metadata {
  const md: Metadata = {};
  // for-in rather than Object.keys: no key array per call (IncomingHttpHeaders has no inherited keys).
  for (const key in headers) {
    if (DROPPED.has(key)) continue;
    const v = headers[key];
    if (v === undefined) continue;
    md[key] = typeof v === 'string' ? singleValue(key, v) : [...v];
  }
  if (md.traceparent === undefined) md.traceparent = [newTraceparent()];
  md[CALLER_ID_HEADER] = singleValue(CALLER_ID_HEADER, caller.appId);
  md[CALLER_NAMESPACE_HEADER] = singleValue(CALLER_NAMESPACE_HEADER, caller.namespace);
  md[CALLEE_ID_HEADER] = singleValue(CALLEE_ID_HEADER, calleeAppId);
  const forwardedFor = md['x-forwarded-for'];
  md['x-forwarded-for'] =
    forwardedFor === undefined ? singleValue(FORWARDED_FOR_KEY, remoteIp) : [...forwardedFor, remoteIp];
  if (md['x-forwarded-host'] === undefined) md['x-forwarded-host'] = HOST_NAME_LIST;
  const fwd = forwarded(remoteIp, localIp);
  md.forwarded = md.forwarded === undefined ? singleValue(FORWARDED_KEY, fwd) : [...md.forwarded, fwd];
  return md;
}

/** Keys of `singleValue` for the values daprd adds (apart from those of the caller's own headers). */
const FORWARDED_FOR_KEY = ' x-forwarded-for';
const FORWARDED_KEY = ' forwarded';
const HOST_NAME_LIST = Object.freeze([HOST_NAME]) as string[];

/** The Forwarded element daprd adds; the last one made is reused while the addresses repeat. */
let lastForwarded = { remoteIp: '', localIp: '', value: '' };
function forwarded(remoteIp: string, localIp: string): string {
  const last = lastForwarded;
  if (last.remoteIp === remoteIp && last.localIp === localIp && last.value !== '') return last.value;
  const value = `for=${forwardedValue(remoteIp)};by=${forwardedValue(localIp)};host=${HOST_NAME}`;
  lastForwarded = { remoteIp, localIp, value };
  return value;
}

function forwardedValue(ip: string): string {
  const clean = ip.startsWith('::ffff:') ? ip.slice(7) : ip;
  return clean.includes(':') ? `"[${clean}]"` : clean;
}

/** Response headers from the app as metadata (hop-by-hop ones dropped; single values shared, see `singleValue`). */
export function responseMetadata(headers: IncomingHttpHeaders): Metadata {
  const md: Metadata = {};
  for (const key in headers) {
    if (isHopByHop(key)) continue;
    const v = headers[key];
    if (v === undefined) continue;
    md[key] = typeof v === 'string' ? singleValue(key, v) : [...v];
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
  // for-in rather than Object.keys: no key array per call (Metadata objects have no inherited keys).
  for (const key in md) {
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
