/**
 * Client side of the internal API: one keep-alive gRPC channel per target address (plaintext or
 * mTLS with the workload identity, checking the server's SPIFFE trust domain), and
 * `callStream`, which sends an invocation as CallLocalStream chunks and returns the response head
 * with the body as a stream, both with backpressure.
 */
import { Readable } from 'node:stream';
import * as grpc from '@grpc/grpc-js';
import { type PeerPolicy, serverIdentityChecker } from '../../security/peer-verification.js';
import type { WorkloadIdentity } from '../../security/workload-identity.js';
import type { InvokeHead, RequestChunk, ResponseChunk, ResponseHead } from './invoke-messages.js';
import { CALL_LOCAL_STREAM_PATH, codecs } from './service-definition.js';

/** Options of `InternalClient`. */
export interface InternalClientOptions {
  /** mTLS identity; undefined = plaintext. */
  readonly identity?: WorkloadIdentity;
  /** Servers accepted (default: the identity's trust domain). */
  readonly peerPolicy?: PeerPolicy;
}

/** A response from another sidecar: head plus a body stream that must be consumed or destroyed. */
export interface InternalResponse {
  readonly head: ResponseHead;
  readonly body: Readable;
}

/** Largest payload chunk sent in one message (bigger buffers are split). */
const MAX_CHUNK = 64 * 1024;

/** Clients to other sidecars, one channel per address. */
export class InternalClient {
  readonly #o: InternalClientOptions;
  readonly #clients = new Map<string, grpc.Client>();
  readonly #md = new grpc.Metadata();

  constructor(options: InternalClientOptions = {}) {
    this.#o = options;
  }

  #client(address: string): grpc.Client {
    let c = this.#clients.get(address);
    if (c === undefined) {
      const id = this.#o.identity;
      let creds: grpc.ChannelCredentials;
      if (id === undefined) creds = grpc.credentials.createInsecure();
      else {
        const td = id.current()?.spiffeId.split('/')[2];
        const policy = this.#o.peerPolicy ?? { trustDomains: td === undefined ? [] : [td] };
        creds = grpc.experimental.createCertificateProviderChannelCredentials(
          id.certificateProvider(),
          id.certificateProvider(),
          { checkServerIdentity: serverIdentityChecker(policy) },
        );
      }
      c = new grpc.Client(address, creds, {
        'grpc.max_receive_message_length': -1,
        'grpc.max_send_message_length': -1,
        'grpc.keepalive_time_ms': 30_000,
        'grpc.enable_retries': 0,
        // Our name resolution already picked the instance; one subchannel per address.
        'grpc.use_local_subchannel_pool': 1,
      });
      this.#clients.set(address, c);
    }
    return c;
  }

  /**
   * Sends `head` and `body` to the sidecar at `address`. Resolves when the response head arrives;
   * rejects with the gRPC ServiceError (numeric `code`, e.g. 14 UNAVAILABLE) when the call fails
   * before that.
   */
  callStream(
    address: string,
    head: InvokeHead,
    body: Buffer | Readable | undefined,
    signal?: AbortSignal,
  ): Promise<InternalResponse> {
    const call = this.#client(address).makeBidiStreamRequest<RequestChunk, ResponseChunk>(
      CALL_LOCAL_STREAM_PATH,
      codecs.requestChunk.serialize,
      codecs.responseChunk.deserialize,
      this.#md,
      {},
    );
    const onAbort = (): void => call.cancel();
    signal?.addEventListener('abort', onAbort, { once: true });
    sendBody(call, head, body);
    return new Promise<InternalResponse>((resolve, reject) => {
      let out: Readable | undefined;
      let expect = 0;
      const cleanup = (): void => signal?.removeEventListener('abort', onAbort);
      call.on('data', (chunk: ResponseChunk) => {
        if (out === undefined) {
          if (chunk.head === undefined) {
            call.cancel();
            reject(new Error('response does not contain the required fields in the leading chunk'));
            return;
          }
          out = new Readable({ read: () => call.resume() });
          out.once('close', () => {
            if (!out?.readableEnded) call.cancel();
          });
          resolve({ head: chunk.head, body: out });
        }
        if (chunk.data !== undefined && chunk.data.length > 0) {
          if ((chunk.seq ?? 0) !== expect) {
            out.destroy(
              new Error(`invalid sequence number received: ${chunk.seq ?? 0} (expected: ${expect})`),
            );
            call.cancel();
            return;
          }
          expect++;
          if (!out.push(chunk.data)) call.pause();
        }
      });
      call.once('end', () => {
        cleanup();
        if (out === undefined)
          reject(Object.assign(new Error('stream ended without a response'), { code: grpc.status.INTERNAL }));
        else out.push(null);
      });
      call.once('error', (err: grpc.ServiceError) => {
        cleanup();
        if (out === undefined) reject(err);
        else out.destroy(err);
      });
    });
  }

  /** Closes every channel. */
  close(): void {
    for (const c of this.#clients.values()) c.close();
    this.#clients.clear();
  }
}

function sendBody(
  call: grpc.ClientDuplexStream<RequestChunk, ResponseChunk>,
  head: InvokeHead,
  body: Buffer | Readable | undefined,
): void {
  if (body === undefined || Buffer.isBuffer(body)) {
    if (body === undefined || body.length === 0) call.write({ head });
    else if (body.length <= MAX_CHUNK) call.write({ head, data: body, seq: 0 });
    else {
      call.write({ head });
      let seq = 0;
      for (let i = 0; i < body.length; i += MAX_CHUNK)
        call.write({ data: body.subarray(i, i + MAX_CHUNK), seq: seq++ });
    }
    call.end();
    return;
  }
  call.write({ head });
  let seq = 0;
  body.on('data', (data: Buffer) => {
    for (let i = 0; i < data.length; i += MAX_CHUNK) {
      if (!call.write({ data: data.subarray(i, i + MAX_CHUNK), seq: seq++ })) {
        body.pause();
        call.once('drain', () => body.resume());
      }
    }
  });
  body.once('end', () => call.end());
  body.once('error', () => call.cancel());
  call.once('error', () => body.destroy());
}
