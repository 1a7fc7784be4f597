/**
 * Service invocation, caller side (daprd pkg/messaging/direct_messaging.go + the HTTP handler's
 * resiliency wrapping): target → (URL | HTTPEndpoint | app id[.namespace]) → resiliency policy
 * (`forApp(target, "<target>:<method>")`, plus the built-in service retries when no app target
 * is defined) → name resolution (round robin, unreachable instances skipped) → internal gRPC
 * stream to the callee sidecar, or the local app channel when calling ourselves.
 *
 * Bodies stream end to end. A body is buffered only when a retry may replay it and its length is
 * known and within `--max-body-size` (daprd's `WithReplay`); otherwise the call gets one attempt.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { Readable } from 'node:stream';
import { GRPC_CODE_NAMES, httpStatusFromGrpc } from '../api/internal/grpc-framing.js';
import type { HeaderField } from '../api/internal/h2/hpack.js';
import type { H2Stream } from '../api/internal/h2/stream.js';
import type { InternalClient } from '../api/internal/internal-client.js';
import type { InvokeHead, Metadata } from '../api/internal/invoke-messages.js';
import { type AnyValue, statusJson } from '../api/internal/rpc-status.js';
import { type AppChannel, firstHeaderValue, takeWholeBody } from '../channel/app-channel.js';
import { type CancelSignal, toAbortSignal } from '../channel/cancellation.js';
import type { Logger } from '../components/component.js';
import type { NameResolver } from '../components/nameresolution/name-resolver.js';
import { DaprError } from '../errors/dapr-error.js';
import {
  BuiltInPolicies,
  isUnavailableOrUnauthenticated,
  type ResiliencyProvider,
  type RetryPolicy,
  type TargetPolicy,
} from '../resiliency/index.js';
import { AddressCache } from './address-cache.js';
import { metadataToHeaders, requestMetadata } from './headers.js';
import { callHttpEndpoint, type HttpEndpointTarget } from './http-endpoint-call.js';
import { invokeChannels } from './invoke-events.js';

/** One invocation as the API adapters hand it over. */
export interface InvokeRequest {
  /** App id, `app.namespace`, an HTTPEndpoint name or an `http(s)://` base URL. */
  readonly targetId: string;
  /** Method (path on the target, no leading `/`). */
  readonly method: string;
  /** HTTP verb, upper case. */
  readonly verb: string;
  /** Raw query string without `?`. */
  readonly query: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: Readable;
  /** Content-Length of the body when known (undefined: chunked/unknown). */
  readonly contentLength: number | undefined;
  /** The caller app's address. */
  readonly remoteIp: string;
  /** This sidecar's address on the caller's connection. */
  readonly localIp: string;
  readonly signal: CancelSignal;
}

/** A gRPC app's status, as it answered (code, message, and its `google.rpc.Status` details). */
export interface GrpcAppStatus {
  readonly code: number;
  readonly message: string;
  readonly details: readonly AnyValue[];
  /** Its response trailers (binary values in base64); an HTTP caller never sees them, as in daprd. */
  readonly trailers?: Readonly<Metadata>;
}

/** The callee's answer, passed through to the caller (small bodies arrive whole, as a Buffer). */
export interface InvokeResult {
  readonly status: number;
  readonly headers: Record<string, string | string[]>;
  readonly body: Buffer | Readable;
  /**
   * Set when the callee's app speaks gRPC: its status as it answered. `status` is then the HTTP
   * status the code maps to, and `body` the app's data (empty unless the code is OK).
   */
  readonly grpcStatus?: GrpcAppStatus;
  /**
   * A gRPC app's response header metadata as it travelled (binary values in base64). `headers` is
   * its HTTP form, which leaves binary entries out; the gRPC API answers with these.
   */
  readonly metadata?: Readonly<Metadata>;
}

function discard(r: InvokeResult): void {
  if (!Buffer.isBuffer(r.body)) r.body.destroy();
}

/**
 * A non-2xx/3xx answer is a failure for breakers and retries (its status is matched). A gRPC app's
 * error status is not: daprd's HTTP API returns it to the caller without retrying.
 */
function failedStatus(r: InvokeResult): number | undefined {
  return r.grpcStatus === undefined && (r.status < 200 || r.status > 399) ? r.status : undefined;
}

const NO_BODY = Buffer.alloc(0);

/** A gRPC app's answer: OK carries the data; an error status carries no body (the status is the answer). */
/** The metadata with the answer's content type in it, unless it holds one already. */
function withContentType(md: Readonly<Metadata>, contentType: string): Readonly<Metadata> {
  return contentType === '' || md['content-type'] !== undefined
    ? md
    : { ...md, 'content-type': [contentType] };
}

function fromGrpcApp(
  code: number,
  message: string,
  details: readonly AnyValue[] | undefined,
  metadata: Readonly<Metadata>,
  body: Buffer | Readable,
  trailers: Readonly<Metadata> | undefined,
): InvokeResult {
  const grpcStatus: GrpcAppStatus =
    trailers === undefined
      ? { code, message, details: details ?? [] }
      : { code, message, details: details ?? [], trailers };
  const headers = metadataToHeaders(metadata);
  if (code === 0) return { status: 200, headers, body, grpcStatus, metadata };
  if (!Buffer.isBuffer(body)) body.resume();
  return { status: httpStatusFromGrpc(code), headers, body: NO_BODY, grpcStatus, metadata };
}

/**
 * The answer as an HTTP caller gets it (daprd's onDirectMessage): a gRPC app's error status
 * becomes the HTTP status it maps to, with the status as protobuf JSON for the body
 * (`{"code":5,"message":"...","details":[...]}`). A status whose details cannot be rendered is a
 * malformed response (500 ERR_MALFORMED_RESPONSE), as in daprd. Anything else passes unchanged.
 */
export function forHttpCaller(result: InvokeResult): InvokeResult {
  const s = result.grpcStatus;
  if (s === undefined || s.code === 0) return result;
  let json: string;
  try {
    json = statusJson(s.code, s.message, s.details);
  } catch (err) {
    throw new DaprError('ERR_MALFORMED_RESPONSE', (err as Error).message, { httpStatus: 500, cause: err });
  }
  result.headers['content-type'] = 'application/json';
  return { status: result.status, headers: result.headers, body: Buffer.from(json) };
}

/** A streamed body cannot be replayed: no retry. */
function never(): boolean {
  return false;
}

/** Options of `ServiceInvoker`. */
export interface ServiceInvokerOptions {
  readonly appId: string;
  readonly namespace: string;
  /** Our internal gRPC port (Kubernetes resolution uses the same port on every sidecar). */
  readonly internalPort: number;
  readonly resolver: NameResolver;
  readonly client: InternalClient;
  readonly resiliency: ResiliencyProvider;
  /** The local app channel (self-invocation). */
  readonly appChannel: () => AppChannel | undefined;
  /** HTTPEndpoint resources by name. */
  readonly httpEndpoints: ReadonlyMap<string, HttpEndpointTarget>;
  readonly maxBodyBytes: number;
  readonly logger: Logger;
  /** How long a resolution result is served before it is refreshed (ms); default 2 s. */
  readonly resolveCacheMs?: number;
}

interface GrpcLikeError extends Error {
  code: number;
  details?: string;
}

function isGrpcError(err: unknown): err is GrpcLikeError {
  return err instanceof Error && typeof (err as { code?: unknown }).code === 'number';
}

/** The caller-side service invocation engine. */
export class ServiceInvoker {
  readonly #o: ServiceInvokerOptions;
  readonly #addresses: AddressCache;
  #rr = 0;
  readonly #policyCache = new Map<string, { policy: TargetPolicy; builtIn: RetryPolicy | undefined }>();

  constructor(options: ServiceInvokerOptions) {
    this.#o = options;
    this.#addresses = new AddressCache({
      resolver: options.resolver,
      port: options.internalPort,
      ttlMs: options.resolveCacheMs ?? 2_000,
    });
  }

  /** Invokes; rejects with a DaprError (ERR_DIRECT_INVOKE) on anything but a callee answer. */
  async invoke(req: InvokeRequest): Promise<InvokeResult> {
    const { targetId, method } = req;
    const isUrl = targetId.startsWith('http://') || targetId.startsWith('https://');
    const endpoint = isUrl ? { baseUrl: targetId, headers: [] } : this.#o.httpEndpoints.get(targetId);
    const key = isUrl
      ? `${targetId}/${method}`
      : endpoint !== undefined
        ? `${targetId}:${endpoint.baseUrl}`
        : `${targetId}:${method}`;
    const { policy, builtIn } = this.#policies(targetId, key, endpoint === undefined);
    const mayRetry = policy.hasRetries || (builtIn?.hasRetries ?? false);
    let body: Buffer | Readable = req.body;
    const len = req.contentLength;
    if (len === 0) body = Buffer.alloc(0);
    else if (mayRetry && len !== undefined && len <= this.#o.maxBodyBytes)
      body = await readAll(req.body, len);
    const replayable = Buffer.isBuffer(body);
    let target: { appId: string; namespace: string } | undefined;
    if (endpoint === undefined) target = this.#parseTarget(targetId);
    const streamingCount = { value: 0 };
    const timeout = policy.timeout;
    let started = 0;
    const attempt = (signal: CancelSignal): Promise<InvokeResult> => {
      if (timeout !== undefined) started = timeout.mark();
      if (endpoint !== undefined) return callHttpEndpoint(endpoint, req, body, toAbortSignal(signal));
      const t = target as { appId: string; namespace: string };
      const once = (s: CancelSignal): Promise<InvokeResult> => this.#callApp(t, req, body, s, streamingCount);
      return builtIn === undefined || !replayable ? once(signal) : withBuiltIn(builtIn, once, signal);
    };
    try {
      // No named or default policy applies: skip the policy machinery (daprd runs the call as is).
      if (policy.isEmpty) return await attempt(req.signal);
      // Fixed-shape options, not conditional spreads (which in the chunk decoders kept part of
      // each call's objects alive through two scavenges; see README, Performance).
      const signal = toAbortSignal(req.signal);
      const result = await policy.execute(
        attempt,
        replayable
          ? { signal, failureOf: failedStatus, dispose: discard }
          : { signal, dispose: discard, shouldRetry: never },
      );
      // The attempt's deadline also holds for a body still streaming (daprd answers inside it).
      if (timeout !== undefined && !Buffer.isBuffer(result.body)) timeout.cover(result.body, started);
      return result;
    } catch (err) {
      throw this.#toDaprError(targetId, err);
    }
  }

  /**
   * Where a proxied gRPC call to `targetId` goes: our own app (no address), or one sidecar of the
   * target app (round robin over what name resolution finds).
   */
  async route(targetId: string): Promise<{ appId: string; namespace: string; address?: string }> {
    const t = this.#parseTarget(targetId);
    if (t.appId === this.#o.appId && t.namespace === this.#o.namespace) return t;
    const addresses = await this.#addresses.addresses(t.appId, t.namespace, false);
    if (addresses.length === 0) throw new ResolveError(`couldn't find service: ${t.appId}`);
    return { ...t, address: addresses[this.#rr++ % addresses.length] as string };
  }

  /** A raw stream to the sidecar at `address` for a proxied gRPC call (see `InternalClient.openStream`). */
  openProxyStream(address: string, path: string, metadata: readonly HeaderField[]): H2Stream {
    return this.#o.client.openStream(address, path, metadata);
  }

  /** Policies per `<target>:<method>` key, reused across calls (breakers live in the provider). */
  #policies(
    targetId: string,
    key: string,
    sidecarTarget: boolean,
  ): { policy: TargetPolicy; builtIn: RetryPolicy | undefined } {
    let entry = this.#policyCache.get(key);
    if (entry === undefined) {
      if (this.#policyCache.size >= 1_000) this.#policyCache.clear();
      entry = {
        policy: this.#o.resiliency.forApp(targetId, key),
        builtIn:
          sidecarTarget && !this.#o.resiliency.hasAppTarget(targetId)
            ? this.#o.resiliency.builtIn(BuiltInPolicies.serviceRetries)
            : undefined,
      };
      this.#policyCache.set(key, entry);
    }
    return entry;
  }

  #parseTarget(targetId: string): { appId: string; namespace: string } {
    const parts = targetId.split('.');
    if (parts.length === 1) return { appId: targetId, namespace: this.#o.namespace };
    if (parts.length === 2 && parts[0] !== '' && parts[1] !== '')
      return { appId: parts[0] as string, namespace: parts[1] as string };
    // daprd's requestAppIDAndNamespace: "invalid app id <id>".
    throw new DaprError(
      'ERR_DIRECT_INVOKE',
      `failed to invoke, id: ${targetId}, err: invalid app id ${targetId}`,
    );
  }

  async #callApp(
    t: { appId: string; namespace: string },
    req: InvokeRequest,
    body: Buffer | Readable,
    signal: CancelSignal,
    counter: { value: number },
  ): Promise<InvokeResult> {
    const md = requestMetadata(
      req.headers,
      { appId: this.#o.appId, namespace: this.#o.namespace },
      t.appId,
      req.remoteIp,
      req.localIp,
    );
    if (t.appId === this.#o.appId && t.namespace === this.#o.namespace)
      return this.#callSelf(req, md, body, signal);
    const head: InvokeHead = {
      method: req.method,
      verb: req.verb,
      query: req.query,
      contentType: firstHeaderValue(req.headers['content-type']),
      metadata: md,
    };
    let addresses = await this.#addresses.addresses(t.appId, t.namespace, false);
    if (addresses.length === 0) throw new ResolveError(`couldn't find service: ${t.appId}`);
    const started = performance.now();
    const streaming = !Buffer.isBuffer(body);
    counter.value++;
    if (invokeChannels.requestSent.hasSubscribers)
      invokeChannels.requestSent.publish({ destinationAppId: t.appId, streaming });
    const tries = Buffer.isBuffer(body) ? addresses.length : 1;
    let lastErr: unknown;
    for (let i = 0; i < tries; i++) {
      const address = addresses[this.#rr++ % addresses.length] as string;
      try {
        const res = await this.#o.client.callStream(address, head, body, signal);
        this.#recv(t.appId, String(res.head.status), streaming, started);
        // An HTTP app answers with an HTTP status; a gRPC app's status is a gRPC code (below 100).
        if (res.head.status < 100)
          return fromGrpcApp(
            res.head.status,
            res.head.message,
            res.head.details,
            withContentType(res.head.headers, res.head.contentType),
            res.body,
            res.head.trailers,
          );
        const headers = metadataToHeaders(res.head.headers);
        if (res.head.contentType !== '' && headers['content-type'] === undefined)
          headers['content-type'] = res.head.contentType;
        return { status: res.head.status, headers, body: res.body };
      } catch (err) {
        lastErr = err;
        // Unreachable instance: forget the cached list and try the next one (replayable bodies only).
        if (isGrpcError(err) && err.code === 14) {
          addresses = await this.#addresses.addresses(t.appId, t.namespace, true);
          if (addresses.length === 0) break;
          continue;
        }
        break;
      }
    }
    this.#recv(
      t.appId,
      isGrpcError(lastErr) ? (GRPC_CODE_NAMES[lastErr.code] ?? String(lastErr.code)) : 'Unknown',
      streaming,
      started,
    );
    throw lastErr;
  }

  #recv(appId: string, status: string, streaming: boolean, started: number): void {
    if (invokeChannels.responseReceived.hasSubscribers)
      invokeChannels.responseReceived.publish({
        destinationAppId: appId,
        status,
        streaming,
        latencyMs: performance.now() - started,
      });
  }

  async #callSelf(
    req: InvokeRequest,
    md: Metadata,
    body: Buffer | Readable,
    signal: CancelSignal,
  ): Promise<InvokeResult> {
    const channel = this.#o.appChannel();
    if (channel === undefined) throw new Error('app channel is not initialized');
    const res = await channel.invoke({
      method: req.verb,
      path: `/${req.method}`,
      query: req.query,
      headers: metadataToHeaders(md),
      body,
      signal,
      contentType: firstHeaderValue(req.headers['content-type']),
      metadata: md,
    });
    const metadata = stripHop(res.headers);
    const grpc = res.grpcStatus;
    if (grpc !== undefined)
      return fromGrpcApp(grpc.code, grpc.message, grpc.details, metadata, res.body, grpc.trailers);
    return { status: res.status, headers: metadataToHeaders(metadata), body: res.body };
  }

  #toDaprError(targetId: string, err: unknown): DaprError {
    if (err instanceof DaprError) return err;
    let msg: string;
    let status = 500;
    if (isGrpcError(err)) {
      const name = GRPC_CODE_NAMES[err.code] ?? `Code(${err.code})`;
      msg = `rpc error: code = ${name} desc = ${err.details ?? err.message}`;
      if (err.code === 7) status = 403;
    } else msg = (err as Error).message.trimEnd(); // OpenSSL's messages end with a newline
    return new DaprError('ERR_DIRECT_INVOKE', `failed to invoke, id: ${targetId}, err: ${msg}`, {
      httpStatus: status,
      cause: err,
    });
  }
}

/**
 * Runs `once` under the built-in service retries, entering the retry machinery only after a first
 * attempt fails with a retryable code (most calls succeed: they skip its per-call cost). The first
 * failure is handed to the policy as its first attempt, so the attempts and delays are the policy's.
 */
function withBuiltIn(
  builtIn: RetryPolicy,
  once: (s: CancelSignal) => Promise<InvokeResult>,
  signal: CancelSignal,
): Promise<InvokeResult> {
  // A plain promise chain, not an async function: this wraps every call (fewer objects per call).
  return once(signal).catch((err: unknown) => {
    if (!isUnavailableOrUnauthenticated(err) || signal.aborted) throw err;
    let first = true;
    return builtIn.execute(
      (s) => {
        if (!first) return once(s);
        first = false;
        return Promise.reject(err);
      },
      { signal: toAbortSignal(signal) },
    );
  });
}

/** Name resolution found no instance. */
export class ResolveError extends Error {
  /** Stable code. */
  readonly code = 'ERR_NAME_RESOLUTION';
  constructor(message: string) {
    super(message);
    this.name = 'ResolveError';
  }
}

function stripHop(h: IncomingHttpHeaders): Metadata {
  const md: Metadata = {};
  for (const k of Object.keys(h)) {
    const v = h[k];
    if (v !== undefined) md[k] = typeof v === 'string' ? [v] : [...v];
  }
  return md;
}

/**
 * Reads a stream fully (used only for bodies that retries may replay); `length` is its declared
 * Content-Length, when it has one.
 */
export async function readAll(body: Readable, length?: number): Promise<Buffer> {
  // The HTTP parser hands over a request before it parses the body that came in the same read:
  // one microtask later a small body is all buffered (this runs for nearly every call that
  // retries may replay).
  await undefined;
  const whole = length === undefined ? undefined : takeWholeBody(body, length);
  if (whole !== undefined) return whole;
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    body.on('data', (c: Buffer) => chunks.push(c));
    body.once('end', () => resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks)));
    body.once('error', reject);
  });
}

export { Readable };
