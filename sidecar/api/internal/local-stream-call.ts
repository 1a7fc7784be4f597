/**
 * One CallLocalStream call on the internal server (`internal-server.ts`): the request's chunks
 * read, checked and passed to the app as they arrive, and the app's answer streamed back.
 */
import { PassThrough, type Readable } from 'node:stream';
import type { AppResponse } from '../../channel/app-channel.js';
import type { Cancellation } from '../../channel/cancellation.js';
import type { Tracer } from '../../observability/tracing/tracer.js';
import { GrpcStatus, GrpcStatusError, MessageReader, sequenceError } from './grpc-framing.js';
import type { H2Stream } from './h2/stream.js';
import {
  abortOn,
  type Call,
  callReceived,
  failCall,
  MISSING_FIELDS,
  malformedRequest,
  responseSent,
  streamResponse,
  traceCall,
} from './internal-call.js';
import { decodeRequestChunk, type InvokeHead } from './invoke-messages.js';
import { ProtoDecodeError } from './proto-wire.js';
import { CALL_LOCAL_STREAM_PATH } from './service-definition.js';

/** What a CallLocalStream call needs of its server. */
export interface LocalStreamHost {
  invokeApp(head: InvokeHead, body: Buffer | Readable, signal: Cancellation): Promise<AppResponse>;
  authorize(call: Call, head: InvokeHead): GrpcStatusError | undefined;
  readonly tracer: Tracer | undefined;
  readonly appId: string;
}

/**
 * One CallLocalStream call: its state and the stream's callbacks in one object (one allocation
 * instead of a closure per step and a context holding their variables).
 *
 * Until a second payload chunk or the end of the request arrives, the body is held as a Buffer: a
 * request that fits in one message (the common case) goes to the app with a Content-Length and
 * no stream plumbing; anything longer switches to a PassThrough.
 */
export class LocalStreamCall {
  readonly #host: LocalStreamHost;
  readonly #call: Call;
  readonly #reader = new MessageReader();
  #head: InvokeHead | undefined;
  #caller = '';
  #firstData: Buffer | undefined;
  #body: PassThrough | undefined;
  #expect = 0;
  #failed = false;
  #ended = false;
  #promoteScheduled = false;

  constructor(host: LocalStreamHost, call: Call) {
    this.#host = host;
    this.#call = call;
    const stream = call.stream;
    stream.context = this;
    stream.onData = onLocalStreamData;
    stream.onEnd = onLocalStreamEnd;
    const previous = call.onClose;
    call.onClose = (finished) => {
      previous?.(finished);
      this.#closed();
    };
  }

  data(c: Buffer): void {
    try {
      for (const m of this.#reader.push(c)) {
        if (this.#failed) return;
        this.#message(m);
      }
    } catch (err) {
      this.#fail(
        err instanceof GrpcStatusError
          ? err
          : err instanceof ProtoDecodeError
            ? malformedRequest(err)
            : new GrpcStatusError(GrpcStatus.INTERNAL, (err as Error).message),
      );
    }
  }

  end(): void {
    this.#ended = true;
    if (this.#failed) return;
    if (this.#body !== undefined) this.#body.end();
    else if (this.#head === undefined)
      this.#fail(new GrpcStatusError(GrpcStatus.INVALID_ARGUMENT, 'missing request message'));
    else this.#start(this.#firstData ?? Buffer.alloc(0));
  }

  /** The request as a stream, unless it ended or failed in the tick of its first chunk. */
  promoteIfWaiting(): void {
    if (this.#body === undefined && !this.#ended && !this.#failed && !this.#call.stream.closed)
      this.#promote();
  }

  #closed(): void {
    const body = this.#body;
    if (!this.#ended && body !== undefined && !body.destroyed)
      body.destroy(new Error('the caller cancelled the call'));
  }

  #start(b: Buffer | PassThrough): void {
    const call = this.#call;
    this.#host.invokeApp(this.#head as InvokeHead, b, abortOn(call)).then(
      (res) => streamResponse(call, res, this.#caller),
      (err: Error) => {
        responseSent(call, this.#caller, GrpcStatus.INTERNAL);
        failCall(
          call.stream,
          new GrpcStatusError(GrpcStatus.INTERNAL, `error invoking app channel: ${err.message}`),
        );
      },
    );
  }

  #fail(err: GrpcStatusError): void {
    this.#failed = true;
    this.#call.stream.onData = undefined;
    this.#body?.destroy(err);
    failCall(this.#call.stream, err);
  }

  #promote(): void {
    const b = new PassThrough();
    this.#body = b;
    if (this.#firstData !== undefined) b.write(this.#firstData);
    this.#firstData = undefined;
    const stream = this.#call.stream;
    b.on('drain', () => stream.resume());
    this.#start(b);
  }

  #message(msg: Buffer): void {
    const chunk = decodeRequestChunk(msg);
    if (this.#head === undefined) {
      if (chunk.head === undefined) {
        this.#fail(
          new GrpcStatusError(GrpcStatus.INVALID_ARGUMENT, `${MISSING_FIELDS} in the leading chunk`),
        );
        return;
      }
      const head = chunk.head;
      this.#head = head;
      const denied = this.#host.authorize(this.#call, head);
      if (denied !== undefined) {
        this.#fail(denied);
        return;
      }
      this.#caller = callReceived(head);
      traceCall(this.#call, this.#host.tracer, this.#host.appId, head, CALL_LOCAL_STREAM_PATH);
      // A slow caller must not wait for its second chunk: once the socket read that brought the
      // first is processed (a one-message request has ended by then), the request starts as a stream.
      if (!this.#promoteScheduled) {
        this.#promoteScheduled = true;
        process.nextTick(promoteLocalStream, this);
      }
    } else if (chunk.head !== undefined) {
      this.#fail(
        new GrpcStatusError(GrpcStatus.INVALID_ARGUMENT, 'request metadata found in non-leading chunk'),
      );
      return;
    }
    if (chunk.data === undefined || chunk.data.length === 0) return;
    const outOfSequence = sequenceError(GrpcStatus.INVALID_ARGUMENT, chunk.seq, this.#expect);
    if (outOfSequence !== undefined) {
      this.#fail(outOfSequence);
      return;
    }
    this.#expect++;
    if (this.#body === undefined) {
      if (this.#firstData === undefined) {
        this.#firstData = chunk.data;
        return;
      }
      this.#promote();
    }
    // Backpressure: hold the stream's receive credit until the app has taken the data.
    if (!(this.#body as PassThrough).write(chunk.data)) this.#call.stream.pause();
  }
}

// The stream callbacks of every LocalStreamCall (shared functions: the call is the stream's context).
function onLocalStreamData(this: H2Stream, chunk: Buffer): void {
  (this.context as LocalStreamCall).data(chunk);
}
function onLocalStreamEnd(this: H2Stream): void {
  (this.context as LocalStreamCall).end();
}
function promoteLocalStream(call: LocalStreamCall): void {
  call.promoteIfWaiting();
}
