/**
 * The sidecar-to-sidecar gRPC server on `--dapr-internal-grpc-port` (daprd's internal API):
 * `ServiceInvocation/CallLocalStream` (bodies as chunks, no size ceiling) and `CallLocal` (unary,
 * what older callers use). Over mTLS the caller's SPIFFE ID comes from its certificate and feeds
 * access control; then the call goes to the app channel and the answer streams back.
 */
import { PassThrough, type Readable } from 'node:stream';
import * as grpc from '@grpc/grpc-js';
import type { AccessControlList } from '../../acl/access-control.js';
import type { AppChannel, AppResponse } from '../../channel/app-channel.js';
import type { Logger } from '../../components/component.js';
import { CALLER_ID_HEADER, metadataToHeaders, responseMetadata } from '../../invoke/headers.js';
import { invokeChannels } from '../../invoke/invoke-events.js';
import { type PeerPolicy, verifyPeerCertificate } from '../../security/peer-verification.js';
import type { SpiffeId } from '../../security/spiffe-id.js';
import type { WorkloadIdentity } from '../../security/workload-identity.js';
import type { InvokeHead, RequestChunk, ResponseChunk } from './invoke-messages.js';
import {
  SERVICE_INVOCATION_DEFINITION,
  type UnaryRequest,
  type UnaryResponse,
} from './service-definition.js';

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

type SurfaceCall = { getAuthContext(): { sslPeerCertificate?: import('node:tls').PeerCertificate } | null };

type GrpcError = Partial<grpc.StatusObject> & { code: grpc.status; details: string };

function grpcError(code: grpc.status, details: string): GrpcError {
  return { code, details, metadata: new grpc.Metadata() };
}

/** The internal gRPC server. */
export class InternalServer {
  readonly #o: InternalServerOptions;
  readonly #server = new grpc.Server({
    'grpc.max_receive_message_length': -1,
    'grpc.max_send_message_length': -1,
    'grpc.keepalive_permit_without_calls': 1,
  });
  #port = 0;

  constructor(options: InternalServerOptions) {
    this.#o = options;
    this.#server.addService(SERVICE_INVOCATION_DEFINITION, {
      CallLocal: (
        call: grpc.ServerUnaryCall<UnaryRequest, UnaryResponse>,
        cb: grpc.sendUnaryData<UnaryResponse>,
      ) => void this.#callLocal(call, cb),
      CallLocalStream: (call: grpc.ServerDuplexStream<RequestChunk, ResponseChunk>) =>
        this.#callLocalStream(call),
    });
  }

  /** The bound port (after `listen`). */
  get port(): number {
    return this.#port;
  }

  /** Binds `host:port` (port 0 picks one). */
  async listen(port: number, host = '0.0.0.0'): Promise<number> {
    const id = this.#o.identity;
    const creds =
      id === undefined
        ? grpc.ServerCredentials.createInsecure()
        : grpc.experimental.createCertificateProviderServerCredentials(
            id.certificateProvider(),
            id.certificateProvider(),
            true,
          );
    this.#port = await new Promise<number>((resolve, reject) =>
      this.#server.bindAsync(`${host}:${port}`, creds, (err, p) => (err ? reject(err) : resolve(p))),
    );
    return this.#port;
  }

  /** Stops accepting; in-flight calls get `graceMs` to finish, then are cancelled. */
  async close(graceMs = 0): Promise<void> {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.#server.forceShutdown();
        resolve();
      }, graceMs);
      this.#server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** The caller's verified SPIFFE ID (mTLS), or undefined (plaintext, or not verifiable). */
  #caller(call: SurfaceCall): SpiffeId | undefined {
    if (this.#o.identity === undefined) return undefined;
    const cert = call.getAuthContext()?.sslPeerCertificate;
    if (cert === undefined) return undefined;
    try {
      const td = this.#o.identity.current()?.spiffeId.split('/')[2];
      return verifyPeerCertificate(
        cert,
        this.#o.peerPolicy ?? { trustDomains: td === undefined ? [] : [td] },
      );
    } catch (err) {
      this.#o.logger.debug('peer identity rejected', { error: (err as Error).message });
      return undefined;
    }
  }

  /** ACL check; returns a gRPC error to send, or undefined when allowed. */
  #authorize(call: SurfaceCall, head: InvokeHead): GrpcError | undefined {
    const acl = this.#o.acl;
    if (acl === undefined) return undefined;
    const caller = this.#caller(call);
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
    return decision.allowed ? undefined : grpcError(grpc.status.PERMISSION_DENIED, decision.message);
  }

  #invokeApp(head: InvokeHead, body: Buffer | Readable, signal: AbortSignal): Promise<AppResponse> {
    const channel = this.#o.appChannel();
    if (channel === undefined)
      throw Object.assign(new Error('app channel is not initialized'), { grpc: grpc.status.INTERNAL });
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

  async #callLocal(
    call: grpc.ServerUnaryCall<UnaryRequest, UnaryResponse>,
    cb: grpc.sendUnaryData<UnaryResponse>,
  ): Promise<void> {
    const { head, body } = call.request;
    const denied = this.#authorize(call, head);
    if (denied !== undefined) {
      cb(denied);
      return;
    }
    const caller = this.#received(head);
    const abort = new AbortController();
    call.once('cancelled', () => abort.abort());
    try {
      const res = await this.#invokeApp(head, body, abort.signal);
      const chunks: Buffer[] = [];
      for await (const c of res.body) chunks.push(c as Buffer);
      this.#sent(caller, res.status);
      cb(null, {
        head: {
          status: res.status,
          message: '',
          headers: responseMetadata(res.headers),
          contentType: headerString(res.headers['content-type']),
        },
        body: Buffer.concat(chunks),
      });
    } catch (err) {
      this.#sent(caller, grpc.status.INTERNAL);
      cb(grpcError(grpc.status.INTERNAL, `error invoking app channel: ${(err as Error).message}`));
    }
  }

  #callLocalStream(call: grpc.ServerDuplexStream<RequestChunk, ResponseChunk>): void {
    const abort = new AbortController();
    let finished = false;
    const fail = (e: GrpcError): void => {
      if (finished) return;
      finished = true;
      call.emit('error', e);
    };
    call.once('cancelled', () => {
      finished = true;
      abort.abort();
    });
    call.once('error', () => abort.abort());
    call.once('data', (first: RequestChunk) => {
      const head = first.head;
      if (head === undefined) {
        fail(
          grpcError(
            grpc.status.INVALID_ARGUMENT,
            'failed to decode the internal invoke request: request does not contain the required fields in the leading chunk',
          ),
        );
        return;
      }
      const denied = this.#authorize(call, head);
      if (denied !== undefined) {
        fail(denied);
        return;
      }
      const caller = this.#received(head);
      const body = new PassThrough();
      let expect = 0;
      const take = (chunk: RequestChunk): void => {
        if (chunk.head !== undefined) {
          body.destroy(new Error('request metadata found in non-leading chunk'));
          return;
        }
        if (chunk.data === undefined) return;
        if ((chunk.seq ?? 0) !== expect) {
          body.destroy(
            new Error(`invalid sequence number received: ${chunk.seq ?? 0} (expected: ${expect})`),
          );
          return;
        }
        expect++;
        if (!body.write(chunk.data)) {
          call.pause();
          body.once('drain', () => call.resume());
        }
      };
      take({ ...(first.data === undefined ? {} : { data: first.data, seq: first.seq ?? 0 }) });
      call.on('data', take);
      call.once('end', () => body.end());
      this.#invokeApp(head, body, abort.signal).then(
        (res) => this.#streamResponse(call, res, caller, () => finished),
        (err: Error) => {
          this.#sent(caller, grpc.status.INTERNAL);
          fail(grpcError(grpc.status.INTERNAL, `error invoking app channel: ${err.message}`));
        },
      );
    });
  }

  #streamResponse(
    call: grpc.ServerDuplexStream<RequestChunk, ResponseChunk>,
    res: AppResponse,
    caller: string,
    isFinished: () => boolean,
  ): void {
    this.#sent(caller, res.status);
    const head = {
      status: res.status,
      message: '',
      headers: responseMetadata(res.headers),
      contentType: headerString(res.headers['content-type']),
    };
    let headSent = false;
    let seq = 0;
    const src = res.body;
    src.on('data', (data: Buffer) => {
      if (isFinished()) {
        src.destroy();
        return;
      }
      const chunk: ResponseChunk = headSent ? { data, seq: seq++ } : { head, data, seq: seq++ };
      headSent = true;
      if (!call.write(chunk)) {
        src.pause();
        call.once('drain', () => src.resume());
      }
    });
    src.once('end', () => {
      if (isFinished()) return;
      if (!headSent) call.write({ head });
      call.end();
    });
    src.once('error', (err) => {
      if (isFinished()) return;
      call.emit('error', grpcError(grpc.status.INTERNAL, `error reading the app response: ${err.message}`));
    });
  }
}

function headerString(v: string | string[] | undefined): string {
  return v === undefined ? '' : typeof v === 'string' ? v : (v[0] ?? '');
}
