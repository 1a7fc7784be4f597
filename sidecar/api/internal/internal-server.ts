/**
 * The sidecar-to-sidecar gRPC server on `--dapr-internal-grpc-port` (daprd's internal API):
 * `dapr.proto.internals.v1.ServiceInvocation/CallLocalStream` (bodies as chunks, no size ceiling)
 * and `CallLocal` (unary). It speaks the gRPC wire protocol directly on node:http2 — a gRPC
 * library adds several layers of streams and interceptors per call that cost more than the whole
 * hop (see bench/invoke.ts) — so any gRPC client (grpc-js, grpc-go) can call it.
 *
 * Over mTLS the server requires a client certificate chaining to the trust bundle, keeps up with
 * certificate rotation, and reads the caller's SPIFFE ID from the connection for access control.
 */
import {
  createSecureServer,
  createServer,
  type Http2SecureServer,
  type Http2Server,
  type IncomingHttpHeaders,
  type ServerHttp2Stream,
} from 'node:http2';
import type { AddressInfo, Socket } from 'node:net';
import { PassThrough, type Readable } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import type { AccessControlList } from '../../acl/access-control.js';
import type { AppChannel, AppResponse } from '../../channel/app-channel.js';
import type { Logger } from '../../components/component.js';
import { CALLER_ID_HEADER, metadataToHeaders, responseMetadata } from '../../invoke/headers.js';
import { invokeChannels } from '../../invoke/invoke-events.js';
import type { SpiffeId } from '../../pki/spiffe-id.js';
import { type PeerPolicy, verifyPeerCertificate } from '../../security/peer-verification.js';
import type { WorkloadIdentity } from '../../security/workload-identity.js';
import { encodeGrpcMessage, frame, GrpcStatus, GrpcStatusError, MessageReader } from './grpc-framing.js';
import {
  decodeInvokeRequest,
  decodeRequestChunk,
  encodeInvokeResponse,
  frameResponseChunk,
  type InvokeHead,
  type ResponseHead,
} from './invoke-messages.js';
import { ProtoDecodeError } from './proto-wire.js';
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
}

const GRPC_HEADERS = { ':status': 200, 'content-type': 'application/grpc' } as const;

/** daprd's wording for an internal request without its message (messages.ErrInternalInvokeRequest). */
const MISSING_FIELDS =
  'failed to decode the internal invoke request: request does not contain the required fields';

/** A request whose protobuf cannot be decoded: InvalidArgument, never an uncaught throw. */
function malformedRequest(err: unknown): GrpcStatusError {
  return new GrpcStatusError(
    GrpcStatus.INVALID_ARGUMENT,
    `failed to decode the internal invoke request: ${(err as Error).message}`,
    { cause: err },
  );
}

/** The internal gRPC server. */
export class InternalServer {
  readonly #o: InternalServerOptions;
  readonly #server: Http2Server | Http2SecureServer;
  readonly #streams = new Set<ServerHttp2Stream>();
  readonly #peers = new WeakMap<object, SpiffeId | undefined>();
  #detach: (() => void) | undefined;
  #port = 0;

  constructor(options: InternalServerOptions) {
    this.#o = options;
    const id = options.identity;
    const settings = { initialWindowSize: 1 << 20 };
    if (id === undefined) this.#server = createServer({ settings });
    else {
      const secure = createSecureServer({ ...id.tlsServerOptions(), settings, allowHTTP1: false });
      const td = id.current()?.spiffeId.split('/')[2];
      this.#detach = id.attachServer(
        secure,
        options.peerPolicy ?? { trustDomains: td === undefined ? [] : [td] },
        (err) => options.logger.debug('internal connection rejected', { error: err.message }),
      );
      this.#server = secure;
    }
    this.#server.on('stream', (stream, headers) => this.#onStream(stream, headers));
    // Nagle off: a call ends with small separate writes (data, then the gRPC trailers).
    this.#server.on('connection', (socket: Socket) => socket.setNoDelay(true));
    this.#server.on('sessionError', () => {});
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
    if (this.#streams.size > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, graceMs);
        const check = setInterval(() => {
          if (this.#streams.size === 0) {
            clearTimeout(timer);
            clearInterval(check);
            resolve();
          }
        }, 20);
        timer.unref();
        check.unref();
      });
    }
    for (const s of this.#streams) s.close(0x8);
    // Idle client sessions keep the server open; end them.
    (this.#server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
    await Promise.race([closed, new Promise((r) => setTimeout(r, 200).unref())]);
  }

  #caller(stream: ServerHttp2Stream): SpiffeId | undefined {
    if (this.#o.identity === undefined) return undefined;
    const session = stream.session;
    if (session === undefined) return undefined;
    if (this.#peers.has(session)) return this.#peers.get(session);
    // http2 hands out a proxy of the TLS socket, so read the certificate rather than a socket-keyed map.
    let id: SpiffeId | undefined;
    try {
      id = verifyPeerCertificate((session.socket as TLSSocket).getPeerCertificate(), this.#policy());
    } catch (err) {
      this.#o.logger.debug('peer identity not usable', { error: (err as Error).message });
    }
    this.#peers.set(session, id);
    return id;
  }

  #policy(): PeerPolicy {
    if (this.#o.peerPolicy !== undefined) return this.#o.peerPolicy;
    const td = this.#o.identity?.current()?.spiffeId.split('/')[2];
    return { trustDomains: td === undefined ? [] : [td] };
  }

  #authorize(stream: ServerHttp2Stream, head: InvokeHead): GrpcStatusError | undefined {
    const acl = this.#o.acl;
    if (acl === undefined) return undefined;
    const caller = this.#caller(stream);
    const decision = acl.check(caller, head.method, head.verb, this.#o.httpProtocol);
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

  #onStream(stream: ServerHttp2Stream, headers: IncomingHttpHeaders): void {
    const path = headers[':path'];
    const ct = headers['content-type'] ?? '';
    this.#streams.add(stream);
    stream.once('close', () => this.#streams.delete(stream));
    stream.on('error', () => {});
    if (!ct.startsWith('application/grpc')) {
      stream.respond({ ':status': 415 }, { endStream: true });
      return;
    }
    if (path === CALL_LOCAL_STREAM_PATH) this.#callLocalStream(stream);
    else if (path === CALL_LOCAL_PATH) this.#callLocal(stream);
    else this.#fail(stream, new GrpcStatusError(GrpcStatus.UNIMPLEMENTED, `unknown method ${String(path)}`));
  }

  /** Ends the call with a status: trailers-only before the headers, trailers after. */
  #fail(stream: ServerHttp2Stream, err: GrpcStatusError): void {
    if (stream.destroyed || stream.closed) return;
    const status = { 'grpc-status': String(err.code), 'grpc-message': encodeGrpcMessage(err.details) };
    if (!stream.headersSent) stream.respond({ ...GRPC_HEADERS, ...status }, { endStream: true });
    else if (!stream.writableEnded) {
      stream.once('wantTrailers', () => stream.sendTrailers(status));
      stream.end();
    }
  }

  #invokeApp(head: InvokeHead, body: Buffer | Readable, signal: AbortSignal): Promise<AppResponse> {
    const channel = this.#o.appChannel();
    if (channel === undefined) return Promise.reject(new Error('app channel is not initialized'));
    return channel.invoke({
      method: head.verb === 'NONE' ? 'POST' : head.verb,
      path: `/${head.method}`,
      query: head.query,
      headers: metadataToHeaders(head.metadata),
      body,
      signal,
    });
  }

  #received(head: InvokeHead): string {
    const caller = head.metadata[CALLER_ID_HEADER]?.[0] ?? 'unknown';
    if (invokeChannels.requestReceived.hasSubscribers)
      invokeChannels.requestReceived.publish({ sourceAppId: caller });
    return caller;
  }

  #sent(caller: string, status: number): void {
    if (invokeChannels.responseSent.hasSubscribers)
      invokeChannels.responseSent.publish({ sourceAppId: caller, status: String(status) });
  }

  #abortOn(stream: ServerHttp2Stream): AbortController {
    const abort = new AbortController();
    stream.once('close', () => {
      if (!stream.writableFinished) abort.abort();
    });
    return abort;
  }

  #callLocal(stream: ServerHttp2Stream): void {
    const reader = new MessageReader();
    const parts: Buffer[] = [];
    stream.on('data', (c: Buffer) => {
      try {
        parts.push(...reader.push(c));
      } catch (err) {
        this.#fail(stream, err as GrpcStatusError);
      }
    });
    stream.once('end', () => {
      const msg = parts[0];
      if (msg === undefined) {
        this.#fail(stream, new GrpcStatusError(GrpcStatus.INVALID_ARGUMENT, 'missing request message'));
        return;
      }
      let decoded: ReturnType<typeof decodeInvokeRequest>;
      try {
        decoded = decodeInvokeRequest(msg);
      } catch (err) {
        this.#fail(stream, malformedRequest(err));
        return;
      }
      const { head, body } = decoded;
      if (head.method === '') {
        this.#fail(stream, new GrpcStatusError(GrpcStatus.INVALID_ARGUMENT, MISSING_FIELDS));
        return;
      }
      const denied = this.#authorize(stream, head);
      if (denied !== undefined) {
        this.#fail(stream, denied);
        return;
      }
      const caller = this.#received(head);
      const abort = this.#abortOn(stream);
      this.#invokeApp(head, body, abort.signal)
        .then(async (res) => {
          const chunks: Buffer[] = [];
          for await (const c of res.body) chunks.push(c as Buffer);
          this.#sent(caller, res.status);
          stream.respond(GRPC_HEADERS, { waitForTrailers: true });
          stream.once('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
          stream.end(frame(encodeInvokeResponse(responseHead(res), Buffer.concat(chunks))));
        })
        .catch((err: Error) => {
          this.#sent(caller, GrpcStatus.INTERNAL);
          this.#fail(
            stream,
            new GrpcStatusError(GrpcStatus.INTERNAL, `error invoking app channel: ${err.message}`),
          );
        });
    });
  }

  #callLocalStream(stream: ServerHttp2Stream): void {
    const reader = new MessageReader();
    // Until a second payload chunk or the end of the request arrives, the body is held as a
    // Buffer: a request that fits in one message (the common case) goes to the app with a
    // Content-Length and no stream plumbing; anything longer switches to a PassThrough.
    let head: InvokeHead | undefined;
    let caller = '';
    let firstData: Buffer | undefined;
    let body: PassThrough | undefined;
    let expect = 0;
    let failed = false;
    let ended = false;
    let promoteScheduled = false;
    const start = (b: Buffer | PassThrough): void => {
      const abort = this.#abortOn(stream);
      this.#invokeApp(head as InvokeHead, b, abort.signal).then(
        (res) => this.#streamResponse(stream, res, caller),
        (err: Error) => {
          this.#sent(caller, GrpcStatus.INTERNAL);
          this.#fail(
            stream,
            new GrpcStatusError(GrpcStatus.INTERNAL, `error invoking app channel: ${err.message}`),
          );
        },
      );
    };
    const fail = (err: GrpcStatusError): void => {
      failed = true;
      stream.removeAllListeners('data');
      stream.resume();
      body?.destroy(err);
      this.#fail(stream, err);
    };
    const promote = (): void => {
      const b = new PassThrough();
      body = b;
      if (firstData !== undefined) b.write(firstData);
      firstData = undefined;
      start(b);
    };
    // A caller that streams slowly must not wait for its second chunk: after this tick the
    // request starts as a stream anyway (a complete one-message request has ended by then).
    const schedulePromote = (): void => {
      if (promoteScheduled) return;
      promoteScheduled = true;
      setImmediate(() => {
        if (body === undefined && !ended && !failed) promote();
      });
    };
    const onMessage = (msg: Buffer): void => {
      const chunk = decodeRequestChunk(msg);
      if (head === undefined) {
        if (chunk.head === undefined) {
          fail(new GrpcStatusError(GrpcStatus.INVALID_ARGUMENT, `${MISSING_FIELDS} in the leading chunk`));
          return;
        }
        head = chunk.head;
        const denied = this.#authorize(stream, head);
        if (denied !== undefined) {
          fail(denied);
          return;
        }
        caller = this.#received(head);
        schedulePromote();
      } else if (chunk.head !== undefined) {
        fail(new GrpcStatusError(GrpcStatus.INVALID_ARGUMENT, 'request metadata found in non-leading chunk'));
        return;
      }
      if (chunk.data === undefined || chunk.data.length === 0) return;
      if ((chunk.seq ?? 0) !== expect) {
        fail(
          new GrpcStatusError(
            GrpcStatus.INVALID_ARGUMENT,
            `invalid sequence number received: ${chunk.seq ?? 0} (expected: ${expect})`,
          ),
        );
        return;
      }
      expect++;
      if (body === undefined) {
        if (firstData === undefined) {
          firstData = chunk.data;
          return;
        }
        promote();
      }
      const sink = body as PassThrough;
      if (!sink.write(chunk.data)) {
        stream.pause();
        sink.once('drain', () => stream.resume());
      }
    };
    stream.on('data', (c: Buffer) => {
      try {
        for (const m of reader.push(c)) {
          if (failed) return;
          onMessage(m);
        }
      } catch (err) {
        fail(
          err instanceof GrpcStatusError
            ? err
            : err instanceof ProtoDecodeError
              ? malformedRequest(err)
              : new GrpcStatusError(GrpcStatus.INTERNAL, (err as Error).message),
        );
      }
    });
    stream.once('end', () => {
      ended = true;
      if (failed) return;
      if (body !== undefined) body.end();
      else if (head === undefined)
        fail(new GrpcStatusError(GrpcStatus.INVALID_ARGUMENT, 'missing request message'));
      else start(firstData ?? Buffer.alloc(0));
    });
  }

  #streamResponse(stream: ServerHttp2Stream, res: AppResponse, caller: string): void {
    this.#sent(caller, res.status);
    if (stream.destroyed) {
      res.body.destroy();
      return;
    }
    const head = responseHead(res);
    let headSent = false;
    let seq = 0;
    let trailers: Record<string, string> = { 'grpc-status': '0' };
    stream.respond(GRPC_HEADERS, { waitForTrailers: true });
    stream.once('wantTrailers', () => stream.sendTrailers(trailers));
    const src = res.body;
    stream.once('close', () => src.destroy());
    src.on('data', (data: Buffer) => {
      const msg = frameResponseChunk(headSent ? { data, seq: seq++ } : { head, data, seq: seq++ });
      headSent = true;
      if (!stream.write(msg)) {
        src.pause();
        stream.once('drain', () => src.resume());
      }
    });
    src.once('end', () => {
      if (stream.destroyed) return;
      if (!headSent) stream.end(frameResponseChunk({ head }));
      else stream.end();
    });
    src.once('error', (err) => {
      trailers = {
        'grpc-status': String(GrpcStatus.INTERNAL),
        'grpc-message': encodeGrpcMessage(`error reading the app response: ${err.message}`),
      };
      if (!stream.destroyed && !stream.writableEnded) stream.end();
    });
  }
}

function responseHead(res: AppResponse): ResponseHead {
  const ct = res.headers['content-type'];
  return {
    status: res.status,
    message: '',
    headers: responseMetadata(res.headers),
    contentType: ct === undefined ? '' : typeof ct === 'string' ? ct : (ct[0] ?? ''),
  };
}
