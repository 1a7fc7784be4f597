/**
 * The sidecar-to-sidecar gRPC server on `--dapr-internal-grpc-port` (daprd's internal API):
 * `dapr.proto.internals.v1.ServiceInvocation/CallLocalStream` (bodies as chunks, no size ceiling)
 * and `CallLocal` (unary). It speaks the gRPC wire protocol directly over our own HTTP/2 layer
 * (`h2/`): a gRPC library adds several layers of streams and interceptors per call, and
 * node:http2 a Duplex, an AsyncResource and an event-loop turn, which together cost more than
 * the rest of the hop (see bench/invoke.ts). Any gRPC client (grpc-js, grpc-go) can call it.
 *
 * Over mTLS the server requires a client certificate chaining to the trust bundle, keeps up with
 * certificate rotation, and reads the caller's SPIFFE ID from the connection for access control.
 */
import { type AddressInfo, createServer as createNetServer, type Server, type Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { createServer as createTlsServer, type TLSSocket } from 'node:tls';
import type { AccessControlList } from '../../acl/access-control.js';
import type { AppChannel, AppResponse } from '../../channel/app-channel.js';
import type { Cancellation } from '../../channel/cancellation.js';
import type { Logger } from '../../components/component.js';
import { CALLER_ID_HEADER, metadataToHeaders } from '../../invoke/headers.js';
import { invokeChannels } from '../../invoke/invoke-events.js';
import type { Tracer } from '../../observability/tracing/tracer.js';
import type { SpiffeId } from '../../pki/spiffe-id.js';
import { type PeerPolicy, peerIdentity } from '../../security/peer-verification.js';
import type { WorkloadIdentity } from '../../security/workload-identity.js';
import { allOf, meterProxiedCall, meterUnaryCall } from '../grpc/call-metrics.js';
import { forwardedMetadata, h2Caller, h2Target, relay } from '../grpc/grpc-proxy.js';
import { traceProxiedCall } from '../grpc/proxy-tracing.js';
import { frame, GrpcStatus, GrpcStatusError, MessageReader } from './grpc-framing.js';
import { H2Connection } from './h2/connection.js';
import { ErrorCode } from './h2/frames.js';
import type { HeaderMap } from './h2/stream.js';
import {
  abortOn,
  type Call,
  callReceived,
  failCall,
  GRPC_HEADERS,
  MISSING_FIELDS,
  malformedRequest,
  responseSent,
  TRAILERS_OK,
  traceCall,
} from './internal-call.js';
import {
  appResponseHead,
  decodeInvokeRequest,
  encodeInvokeResponse,
  type InvokeHead,
} from './invoke-messages.js';
import { LocalStreamCall, type LocalStreamHost } from './local-stream-call.js';
import { CALL_LOCAL_PATH, CALL_LOCAL_STREAM_PATH } from './service-definition.js';

/** Options of `InternalServer`. */
export interface InternalServerOptions {
  readonly appId: string;
  /** The app channel once the app is reachable (undefined: calls fail like daprd's ErrChannelNotFound). */
  readonly appChannel: () => AppChannel | undefined;
  /** The app speaks HTTP (ACL operations compare lower-case, verbs apply). */
  readonly httpProtocol: boolean;
  readonly acl?: AccessControlList;
  /** mTLS identity; undefined = plaintext (self-hosted default). */
  readonly identity?: WorkloadIdentity;
  /** Peers accepted over mTLS (default: the identity's own trust domain). */
  readonly peerPolicy?: PeerPolicy;
  readonly logger: Logger;
  /** Spans for the calls received (daprd's internal gRPC server spans). */
  readonly tracer?: Tracer;
}

/** The internal gRPC server. */
export class InternalServer {
  readonly #o: InternalServerOptions;
  readonly #localStreamHost: LocalStreamHost;
  readonly #server: Server;
  readonly #connections = new Set<H2Connection>();
  #detach: (() => void) | undefined;
  #port = 0;

  constructor(options: InternalServerOptions) {
    this.#o = options;
    this.#localStreamHost = {
      invokeApp: (head, body, signal) => this.#invokeApp(head, body, signal),
      authorize: (call, head) => this.#authorize(call, head),
      get tracer() {
        return options.tracer;
      },
      get appId() {
        return options.appId;
      },
    };
    const id = options.identity;
    if (id === undefined)
      this.#server = createNetServer({ noDelay: true }, (s) => this.#accept(s, undefined));
    else {
      const secure = createTlsServer({ ...id.tlsServerOptions(), ALPNProtocols: ['h2'] }, (s) =>
        this.#accept(s, s),
      );
      const td = id.current()?.spiffeId.split('/')[2];
      // Runs before #accept: a socket it rejects is destroyed by then.
      this.#detach = id.attachServer(
        secure,
        options.peerPolicy ?? { trustDomains: td === undefined ? [] : [td] },
        (err) => options.logger.debug('internal connection rejected', { error: err.message }),
      );
      this.#server = secure;
    }
    this.#server.on('tlsClientError', (err: Error) =>
      options.logger.debug('internal TLS handshake failed', { error: err.message }),
    );
  }

  /** The bound port (after `listen`). */
  get port(): number {
    return this.#port;
  }

  /** Binds `host:port` (port 0 picks one). */
  async listen(port: number, host = '0.0.0.0'): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(port, host, () => {
        this.#server.off('error', reject);
        resolve();
      });
    });
    this.#port = (this.#server.address() as AddressInfo).port;
    return this.#port;
  }

  /** Stops accepting; in-flight calls get `graceMs` to finish, then are cancelled. */
  async close(graceMs = 0): Promise<void> {
    this.#detach?.();
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    // GOAWAY: clients open new calls elsewhere; each connection ends once its calls are done.
    for (const c of this.#connections) c.close();
    if (this.#inFlight() > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, graceMs);
        const check = setInterval(() => {
          if (this.#inFlight() === 0) {
            clearTimeout(timer);
            clearInterval(check);
            resolve();
          }
        }, 20);
        timer.unref();
        check.unref();
      });
    }
    for (const c of this.#connections) c.resetStreams(ErrorCode.CANCEL);
    for (const c of this.#connections) c.destroy();
    await Promise.race([closed, new Promise((r) => setTimeout(r, 200).unref())]);
  }

  /** Calls in progress: every open stream is one. */
  #inFlight(): number {
    let n = 0;
    for (const c of this.#connections) n += c.activeStreams;
    return n;
  }

  #accept(socket: Socket, tls: TLSSocket | undefined): void {
    if (socket.destroyed) return;
    socket.setNoDelay(true);
    let caller: SpiffeId | undefined;
    if (tls !== undefined) {
      caller = peerIdentity(tls);
      if (caller === undefined) this.#o.logger.debug('peer identity not usable');
    }
    const conn = new H2Connection(socket, {
      role: 'server',
      onStream: (stream, headers) => this.#onStream({ stream, caller, onClose: undefined }, headers),
    });
    this.#connections.add(conn);
    conn.onClose = () => this.#connections.delete(conn);
  }

  #authorize(
    call: Call,
    head: Pick<InvokeHead, 'method' | 'verb'>,
    httpProtocol = this.#o.httpProtocol,
  ): GrpcStatusError | undefined {
    const acl = this.#o.acl;
    if (acl === undefined) return undefined;
    const caller = this.#o.identity === undefined ? undefined : call.caller;
    const decision = acl.check(caller, head.method, head.verb, httpProtocol);
    if (invokeChannels.aclDecision.hasSubscribers)
      invokeChannels.aclDecision.publish({
        allowed: decision.allowed,
        policy: decision.policy,
        appId: caller?.appId ?? '',
        trustDomain: caller?.trustDomain ?? '',
        namespace: caller?.namespace ?? '',
        operation: head.method,
        verb: head.verb,
      });
    return decision.allowed ? undefined : new GrpcStatusError(GrpcStatus.PERMISSION_DENIED, decision.message);
  }

  #onStream(call: Call, headers: HeaderMap): void {
    const { stream } = call;
    const path = headers[':path'];
    const ct = headers['content-type'] ?? '';
    stream.onClose = () => call.onClose?.(stream.endSent);
    if (!ct.startsWith('application/grpc')) {
      // Not a gRPC client: an HTTP answer, read to the end of the request (no NO_ERROR reset, so
      // the connection goes on checking the request's frames: RFC 9113 §8.1 makes that reset a MAY).
      stream.drainRequest = true;
      stream.sendHeaders([
        [':status', '415'],
        ['content-type', 'text/plain; charset=utf-8'],
      ]);
      stream.end(Buffer.from(`invalid gRPC request content-type "${ct}"\n`));
      return;
    }
    if (path === CALL_LOCAL_STREAM_PATH) this.#callLocalStream(call);
    else if (path === CALL_LOCAL_PATH) this.#callLocal(call);
    else if (headers['dapr-app-id'] !== undefined && path !== undefined)
      this.#proxyToApp(call, path, headers);
    else failCall(stream, new GrpcStatusError(GrpcStatus.UNIMPLEMENTED, `unknown method ${String(path)}`));
  }

  /**
   * A proxied gRPC call for our app (daprd's proxy director, local side): access control on the
   * full method name (gRPC: no verb), then the call is relayed to the app as it is.
   */
  #proxyToApp(call: Call, path: string, headers: HeaderMap): void {
    const { stream } = call;
    const target = headers['dapr-app-id'] ?? '';
    if (target.split('.')[0] !== this.#o.appId) {
      failCall(
        stream,
        new GrpcStatusError(
          GrpcStatus.NOT_FOUND,
          `failed to proxy request: app ${target} is not served here`,
        ),
      );
      return;
    }
    const denied = this.#authorize(call, { method: path, verb: 'NONE' }, false);
    if (denied !== undefined) {
      failCall(stream, denied);
      return;
    }
    const channel = this.#o.appChannel();
    if (channel?.proxyStream === undefined) {
      failCall(
        stream,
        new GrpcStatusError(
          GrpcStatus.UNAVAILABLE,
          channel === undefined
            ? 'failed to proxy request: the app channel is not initialized'
            : 'failed to proxy request: the app does not speak gRPC (--app-protocol grpc or grpcs)',
        ),
      );
      return;
    }
    const caller = headers[CALLER_ID_HEADER] ?? 'unknown';
    if (invokeChannels.requestReceived.hasSubscribers)
      invokeChannels.requestReceived.publish({ sourceAppId: caller });
    const metadata = forwardedMetadata(headers);
    const ended = allOf(
      traceProxiedCall(this.#o.tracer, 'SERVER', path, caller, headers, metadata),
      meterProxiedCall('client', path, this.#o.appId),
    );
    const answered = (code: number): void => {
      ended(code);
      responseSent(call, caller, code);
    };
    let app: ReturnType<NonNullable<AppChannel['proxyStream']>>;
    try {
      app = channel.proxyStream(path, metadata);
    } catch (err) {
      answered(GrpcStatus.UNAVAILABLE);
      failCall(stream, new GrpcStatusError(GrpcStatus.UNAVAILABLE, (err as Error).message));
      return;
    }
    relay(h2Caller(stream), h2Target(app), answered);
  }

  #invokeApp(head: InvokeHead, body: Buffer | Readable, signal: Cancellation): Promise<AppResponse> {
    const channel = this.#o.appChannel();
    if (channel === undefined) return Promise.reject(new Error('app channel is not initialized'));
    return channel.invoke({
      method: head.verb === 'NONE' ? 'POST' : head.verb,
      path: `/${head.method}`,
      query: head.query,
      headers: metadataToHeaders(head.metadata),
      body,
      signal,
      contentType: head.contentType,
      metadata: head.metadata,
      verb: head.verb,
    });
  }

  #callLocal(call: Call): void {
    const { stream } = call;
    const reader = new MessageReader();
    const parts: Buffer[] = [];
    stream.onData = (c) => {
      try {
        parts.push(...reader.push(c));
      } catch (err) {
        failCall(stream, err as GrpcStatusError);
      }
    };
    stream.onEnd = () => {
      const msg = parts[0];
      const metered = meterUnaryCall(CALL_LOCAL_PATH, this.#o.appId, msg?.length ?? 0);
      const fail = (err: GrpcStatusError): void => {
        metered(err.code, 0);
        failCall(stream, err);
      };
      if (msg === undefined) {
        fail(new GrpcStatusError(GrpcStatus.INVALID_ARGUMENT, 'missing request message'));
        return;
      }
      let decoded: ReturnType<typeof decodeInvokeRequest>;
      try {
        decoded = decodeInvokeRequest(msg);
      } catch (err) {
        fail(malformedRequest(err));
        return;
      }
      const { head, body } = decoded;
      if (head.method === '') {
        fail(new GrpcStatusError(GrpcStatus.INVALID_ARGUMENT, MISSING_FIELDS));
        return;
      }
      const denied = this.#authorize(call, head);
      if (denied !== undefined) {
        fail(denied);
        return;
      }
      const caller = callReceived(head);
      traceCall(call, this.#o.tracer, this.#o.appId, head, CALL_LOCAL_PATH);
      this.#invokeApp(head, body, abortOn(call))
        .then(async (res) => {
          const chunks: Buffer[] = [];
          for await (const c of res.body) chunks.push(c as Buffer);
          responseSent(call, caller, res.grpcStatus?.code ?? res.status);
          if (stream.closed) return;
          const answer = encodeInvokeResponse(appResponseHead(res), Buffer.concat(chunks));
          metered(GrpcStatus.OK, answer.length);
          stream.sendHeaders(GRPC_HEADERS);
          stream.end(frame(answer), TRAILERS_OK);
        })
        .catch((err: Error) => {
          responseSent(call, caller, GrpcStatus.INTERNAL);
          fail(new GrpcStatusError(GrpcStatus.INTERNAL, `error invoking app channel: ${err.message}`));
        });
    };
  }

  #callLocalStream(call: Call): void {
    new LocalStreamCall(this.#localStreamHost, call);
  }
}
