/**
 * Spans for the HTTP API, as daprd's HTTPTraceMiddleware makes them: every request except the
 * health endpoints is a CLIENT span, a child of the caller's `traceparent`, named by its path and,
 * for an invocation, `CallLocal/<app id>/<method>`. The span's context replaces the request's
 * `traceparent`, so the next hop (a component, the callee's sidecar) is its child, and goes back
 * in the response's `traceparent` unless the answer carries one.
 */
import {
  type IncomingMessage,
  type OutgoingHttpHeader,
  type OutgoingHttpHeaders,
  type RequestListener,
  ServerResponse,
  STATUS_CODES,
} from 'node:http';
import type { Span, Tracer } from '../../observability/tracing/tracer.js';

const SPAN = Symbol('outrigger.span');
const TRACEPARENT = Symbol('outrigger.traceparent');
const INVOCATION = Symbol('outrigger.invocation');

interface TracedResponse extends ServerResponse {
  [SPAN]?: Span;
  /** The span's traceparent, for the response head (until it is written). */
  [TRACEPARENT]?: string | undefined;
  [INVOCATION]?: { targetId: string; method: string };
}

/** Records that the request is an invocation of `targetId`'s `method` (names its span). */
export function markInvocation(res: ServerResponse, targetId: string, method: string): void {
  const traced = res as TracedResponse;
  if (traced[SPAN]?.recording === true) traced[INVOCATION] = { targetId, method };
}

/** daprd's span status for an HTTP status: an error from 400 up. */
export function httpStatusError(status: number): string | undefined {
  return status >= 400 ? `Code(${status}): ${STATUS_CODES[status] ?? 'Unknown'}` : undefined;
}

/** Wraps the API's request listener with a span per request. */
export function withTracing(listener: RequestListener, tracer: Tracer): RequestListener {
  return (req, res) => {
    const url = req.url ?? '/';
    // daprd: strings.Contains(path, "/healthz").
    if (url.includes('/healthz')) {
      listener(req, res);
      return;
    }
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    const incoming = req.headers.traceparent;
    const span = tracer.start(path, 'CLIENT', Array.isArray(incoming) ? incoming[0] : incoming);
    req.headers.traceparent = span.traceparent;
    (res as TracedResponse)[TRACEPARENT] = span.traceparent;
    res.writeHead = writeHeadWithTraceparent;
    if (span.recording) {
      (res as TracedResponse)[SPAN] = span;
      res.once('close', () => endSpan(span, req, res as TracedResponse, path));
    }
    listener(req, res);
  };
}

const nodeWriteHead = ServerResponse.prototype.writeHead as (
  this: ServerResponse,
  statusCode: number,
  reason?: unknown,
  headers?: unknown,
) => ServerResponse;

type Head = OutgoingHttpHeaders | OutgoingHttpHeader[] | undefined;

/** Whether `headers` (writeHead's, any case) name a traceparent. */
function namesTraceparent(headers: Head): boolean {
  if (headers === undefined || headers === null) return false;
  if (Array.isArray(headers)) {
    for (let i = 0; i < headers.length; i += 2)
      if (String(headers[i]).toLowerCase() === 'traceparent') return true;
    return false;
  }
  if (headers.traceparent !== undefined) return true;
  for (const key in headers) if (key.length === 11 && key.toLowerCase() === 'traceparent') return true;
  return false;
}

/**
 * The response's writeHead while it carries a span: the span's traceparent goes into the head
 * unless the response names its own (an app's traceparent, passed through, takes precedence).
 * Node merges the head with headers set earlier by one setHeader call each, which for an
 * invocation's answer cost ~1.6 KB per response; so the header is added to the head's own object
 * here, when there is one (the API's handlers pass objects they made for this response).
 */
function writeHeadWithTraceparent(
  this: TracedResponse,
  statusCode: number,
  reason?: string | OutgoingHttpHeaders | OutgoingHttpHeader[],
  headers?: OutgoingHttpHeaders | OutgoingHttpHeader[],
): ServerResponse {
  const traceparent = this[TRACEPARENT];
  if (traceparent !== undefined) {
    this[TRACEPARENT] = undefined;
    const given: Head = typeof reason === 'string' ? headers : reason;
    if (!this.hasHeader('traceparent') && !namesTraceparent(given)) {
      if (given === undefined || given === null) this.setHeader('traceparent', traceparent);
      else if (Array.isArray(given)) given.push('traceparent', traceparent);
      else given.traceparent = traceparent;
    }
  }
  return nodeWriteHead.call(this, statusCode, reason, headers);
}

function endSpan(span: Span, req: IncomingMessage, res: TracedResponse, path: string): void {
  const method = req.method ?? 'GET';
  const status = res.statusCode;
  const attributes: Record<string, string> = {};
  // Users' own `dapr-` headers become attributes (daprd's userDefinedHTTPHeaders); the token never does.
  for (const key of Object.keys(req.headers))
    if (key.startsWith('dapr-') && key !== 'dapr-api-token') {
      const v = req.headers[key];
      attributes[key] = Array.isArray(v) ? (v[0] ?? '') : (v ?? '');
    }
  const invocation = res[INVOCATION];
  if (invocation !== undefined) {
    attributes['rpc.service'] = 'ServiceInvocation';
    attributes['net.peer.name'] = invocation.targetId;
    span.setName(`CallLocal/${invocation.targetId}/${invocation.method}`);
  } else {
    // /v1.0/state/<store>/...: the building block and its component (daprd's getAPIComponent).
    const [, , kind, component] = path.split('/', 4);
    if ((kind === 'state' || kind === 'secrets') && component !== undefined && component !== '') {
      attributes['db.system'] = kind;
      attributes['db.name'] = decoded(component);
      attributes['db.statement'] = `${method} ${path}`;
      attributes['db.connection_string'] = kind;
    }
  }
  attributes['dapr.protocol'] = 'http';
  attributes['dapr.api'] = `${method} ${path}`;
  attributes['dapr.status_code'] = String(status);
  span.end(attributes, httpStatusError(status));
}

function decoded(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
