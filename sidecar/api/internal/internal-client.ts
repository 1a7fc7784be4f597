/**
 * Client side of the internal API: one keep-alive HTTP/2 session per target address (plaintext,
 * or mTLS with the workload identity, checking the server's SPIFFE trust domain), speaking the
 * gRPC wire protocol directly (see internal-server.ts for why no gRPC library sits on this path).
 * `callStream` sends an invocation as CallLocalStream chunks and resolves with the response head
 * and the body as a stream, with backpressure both ways.
 */
import {
  type ClientHttp2Session,
  type ClientHttp2Stream,
  connect,
  constants,
  type IncomingHttpHeaders,
} from 'node:http2';
import { connect as netConnect } from 'node:net';
import { Readable } from 'node:stream';
import { connect as tlsConnect } from 'node:tls';
import type { PeerPolicy } from '../../security/peer-verification.js';
import type { WorkloadIdentity } from '../../security/workload-identity.js';
import { decodeGrpcMessage, GrpcStatus, GrpcStatusError, MessageReader } from './grpc-framing.js';
import {
  decodeResponseChunk,
  frameRequestChunk,
  type InvokeHead,
  type ResponseHead,
} from './invoke-messages.js';
import { CALL_LOCAL_STREAM_PATH } from './service-definition.js';

/** Options of `InternalClient`. */
export interface InternalClientOptions {
  /** mTLS identity; undefined = plaintext. */
  readonly identity?: WorkloadIdentity;
  /** Servers accepted (default: the identity's trust domain). */
  readonly peerPolicy?: PeerPolicy;
}

/**
 * A response from another sidecar: head plus the body, a Buffer when the whole response had
 * arrived within the tick of its head (small answers), otherwise a stream that must be consumed
 * or destroyed.
 */
export interface InternalResponse {
  readonly head: ResponseHead;
  readonly body: Buffer | Readable;
}

/** Largest payload chunk sent in one message (bigger buffers are split). */
const MAX_CHUNK = 64 * 1024;

const REQUEST_HEADERS = {
  [constants.HTTP2_HEADER_METHOD]: 'POST',
  [constants.HTTP2_HEADER_PATH]: CALL_LOCAL_STREAM_PATH,
  'content-type': 'application/grpc',
  te: 'trailers',
};

function statusOf(headers: IncomingHttpHeaders): GrpcStatusError | undefined {
  const raw = headers['grpc-status'];
  if (raw === undefined) return undefined;
  const code = Number(raw);
  if (code === 0) return undefined;
  return new GrpcStatusError(code, decodeGrpcMessage(headers['grpc-message'] as string | undefined));
}

/** `host:port` or `[v6]:port` → [host, port]. */
function splitAddress(address: string): [string, string] {
  const i = address.lastIndexOf(':');
  const host = address.slice(0, i);
  return [host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host, address.slice(i + 1)];
}

/** Clients to other sidecars, one HTTP/2 session per address. */
export class InternalClient {
  readonly #o: InternalClientOptions;
  readonly #sessions = new Map<string, ClientHttp2Session>();
  readonly #offChange: (() => void) | undefined;

  constructor(options: InternalClientOptions = {}) {
    this.#o = options;
    // New certificate or bundle: new connections use it; current sessions finish their streams.
    this.#offChange = options.identity?.onChange(() => {
      for (const s of this.#sessions.values()) s.close();
      this.#sessions.clear();
    });
  }

  #session(address: string): ClientHttp2Session {
    const existing = this.#sessions.get(address);
    if (existing !== undefined && !existing.closed && !existing.destroyed) return existing;
    const id = this.#o.identity;
    const settings = { initialWindowSize: 1 << 20 };
    const [host = '', portText = ''] = splitAddress(address);
    const port = Number(portText);
    // Our own sockets, to turn Nagle off: a call's last frames (data, then the gRPC trailers)
    // are small separate writes that would otherwise wait for the peer's delayed ACK.
    let session: ClientHttp2Session;
    if (id === undefined)
      session = connect(`http://${address}`, {
        settings,
        createConnection: () => netConnect({ host, port, noDelay: true }),
      });
    else {
      const td = id.current()?.spiffeId.split('/')[2];
      const tls = id.tlsClientOptions(this.#o.peerPolicy ?? { trustDomains: td === undefined ? [] : [td] });
      session = connect(`https://${address}`, {
        settings,
        createConnection: () => {
          const socket = tlsConnect({ ...tls, host, port, ALPNProtocols: ['h2'] });
          socket.setNoDelay(true);
          return socket;
        },
      });
    }
    const forget = (): void => {
      if (this.#sessions.get(address) === session) this.#sessions.delete(address);
    };
    session.once('close', forget);
    session.once('goaway', forget);
    session.on('error', forget);
    session.unref();
    this.#sessions.set(address, session);
    return session;
  }

  /**
   * Sends `head` and `body` to the sidecar at `address`. Resolves when the response head arrives;
   * rejects with a GrpcStatusError (`code` 14 UNAVAILABLE when the sidecar cannot be reached).
   */
  callStream(
    address: string,
    head: InvokeHead,
    body: Buffer | Readable | undefined,
    signal?: AbortSignal,
  ): Promise<InternalResponse> {
    return new Promise<InternalResponse>((resolve, reject) => {
      let session: ClientHttp2Session;
      let call: ClientHttp2Stream;
      try {
        session = this.#session(address);
        // No `signal` option: http2 binds an AsyncResource per request for it, which is costly.
        call = session.request(REQUEST_HEADERS);
      } catch (err) {
        reject(new GrpcStatusError(GrpcStatus.UNAVAILABLE, (err as Error).message, { cause: err }));
        return;
      }
      let out: Readable | undefined;
      let first: ResponseHead | undefined;
      let pending: Buffer[] = [];
      let settled = false;
      let expect = 0;
      const reader = new MessageReader();
      const onAbort = (): void =>
        failure(Object.assign(new Error('The operation was aborted'), { name: 'AbortError' }));
      if (signal !== undefined) {
        if (signal.aborted) {
          call.close(constants.NGHTTP2_CANCEL);
          reject(Object.assign(new Error('The operation was aborted'), { name: 'AbortError' }));
          return;
        }
        signal.addEventListener('abort', onAbort, { once: true });
        call.once('close', () => signal.removeEventListener('abort', onAbort));
      }
      const promote = (): void => {
        if (settled || first === undefined) return;
        const stream = new Readable({ read: () => call.resume() });
        stream.once('close', () => {
          if (!stream.readableEnded && !call.destroyed) call.close(constants.NGHTTP2_CANCEL);
        });
        for (const p of pending) stream.push(p);
        pending = [];
        out = stream;
        settled = true;
        resolve({ head: first, body: stream });
      };
      const failure = (err: Error): void => {
        if (!settled) {
          settled = true;
          reject(err);
        } else if (out !== undefined && !out.destroyed) out.destroy(err);
        if (!call.destroyed) call.close(constants.NGHTTP2_CANCEL);
      };
      call.once('response', (headers) => {
        const status = statusOf(headers);
        if (status !== undefined) failure(status);
        else if (headers[':status'] !== 200)
          failure(new GrpcStatusError(GrpcStatus.UNKNOWN, `HTTP status ${String(headers[':status'])}`));
      });
      call.on('data', (c: Buffer) => {
        let messages: Buffer[];
        try {
          messages = reader.push(c);
        } catch (err) {
          failure(err as Error);
          return;
        }
        for (const m of messages) {
          const chunk = decodeResponseChunk(m);
          if (first === undefined) {
            if (chunk.head === undefined) {
              failure(
                new GrpcStatusError(
                  GrpcStatus.INTERNAL,
                  'response does not contain the required fields in the leading chunk',
                ),
              );
              return;
            }
            first = chunk.head;
            // Give the rest of a small answer one tick to arrive; then stream whatever follows.
            setImmediate(promote);
          }
          if (chunk.data !== undefined && chunk.data.length > 0) {
            if ((chunk.seq ?? 0) !== expect) {
              failure(
                new GrpcStatusError(
                  GrpcStatus.INTERNAL,
                  `invalid sequence number received: ${chunk.seq ?? 0} (expected: ${expect})`,
                ),
              );
              return;
            }
            expect++;
            if (out === undefined) pending.push(chunk.data);
            else if (!out.push(chunk.data)) call.pause();
          }
        }
      });
      call.once('trailers', (trailers) => {
        const status = statusOf(trailers);
        if (status !== undefined) failure(status);
      });
      call.once('end', () => {
        if (!settled) {
          if (first === undefined)
            failure(new GrpcStatusError(GrpcStatus.INTERNAL, 'stream ended without a response'));
          else {
            settled = true;
            resolve({
              head: first,
              body: pending.length === 1 ? (pending[0] as Buffer) : Buffer.concat(pending),
            });
          }
        } else if (out !== undefined && !out.destroyed) out.push(null);
      });
      call.once('error', (err: Error & { code?: string }) => {
        const unreachable =
          err.code === 'ECONNREFUSED' ||
          err.code === 'ERR_HTTP2_STREAM_CANCEL' ||
          err.code === 'ECONNRESET' ||
          err.code === 'ERR_HTTP2_GOAWAY_SESSION';
        failure(
          err.name === 'AbortError'
            ? err
            : new GrpcStatusError(unreachable ? GrpcStatus.UNAVAILABLE : GrpcStatus.INTERNAL, err.message, {
                cause: err,
              }),
        );
      });
      sendBody(call, head, body);
    });
  }

  /** Closes every session. */
  close(): void {
    this.#offChange?.();
    for (const s of this.#sessions.values()) s.close();
    this.#sessions.clear();
  }
}

function sendBody(call: ClientHttp2Stream, head: InvokeHead, body: Buffer | Readable | undefined): void {
  if (body === undefined || Buffer.isBuffer(body)) {
    if (body === undefined || body.length === 0) call.end(frameRequestChunk({ head }));
    else if (body.length <= MAX_CHUNK) call.end(frameRequestChunk({ head, data: body, seq: 0 }));
    else {
      call.write(frameRequestChunk({ head }));
      let seq = 0;
      for (let i = 0; i < body.length; i += MAX_CHUNK)
        call.write(frameRequestChunk({ data: body.subarray(i, i + MAX_CHUNK), seq: seq++ }));
      call.end();
    }
    return;
  }
  call.write(frameRequestChunk({ head }));
  let seq = 0;
  body.on('data', (data: Buffer) => {
    let ok = true;
    for (let i = 0; i < data.length; i += MAX_CHUNK)
      ok = call.write(frameRequestChunk({ data: data.subarray(i, i + MAX_CHUNK), seq: seq++ })) && ok;
    if (!ok) {
      body.pause();
      call.once('drain', () => body.resume());
    }
  });
  body.once('end', () => call.end());
  body.once('error', () => call.close(constants.NGHTTP2_CANCEL));
  call.once('close', () => {
    if (!body.readableEnded) body.destroy();
  });
}
