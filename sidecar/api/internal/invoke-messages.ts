/**
 * `dapr.proto.internals.v1.ServiceInvocation` messages, field-compatible with Dapr's
 * service_invocation.proto and common.proto:
 * - InternalInvokeRequest {ver=1, metadata=2 map<string,ListStringValue>, message=3 InvokeRequest, actor=4}
 * - InvokeRequest {method=1, data=2 Any{type_url=1, value=2}, content_type=3, http_extension=4 {verb=1, querystring=2}}
 * - InternalInvokeResponse {status=1 Status{code=1, message=2, details=3 Any}, headers=2, trailers=3, message=4 InvokeResponse{data=1, content_type=2}}
 * - InternalInvokeRequestStream / InternalInvokeResponseStream {request|response=1, payload=2 StreamPayload{data=1, seq=2}}
 */
import { type AppResponse, firstHeaderValue } from '../../channel/app-channel.js';
import { responseMetadata, singleValue } from '../../invoke/headers.js';
import { ProtoCursor, ProtoWriter } from './proto-wire.js';
import { type AnyValue, readAny } from './rpc-status.js';

const EMPTY: Buffer = Buffer.alloc(0);
const NO_DETAILS: readonly AnyValue[] = [];

/** HTTPExtension.Verb values (common.proto). */
const VERBS = [
  'NONE',
  'GET',
  'HEAD',
  'POST',
  'PUT',
  'DELETE',
  'CONNECT',
  'OPTIONS',
  'TRACE',
  'PATCH',
] as const;

/** Headers or gRPC metadata: lower-case name → values. */
export type Metadata = Record<string, string[]>;

/** The leading part of an invocation (InternalInvokeRequest without the body). */
export interface InvokeHead {
  /** Method (path on the app, without the leading `/`). */
  readonly method: string;
  /** HTTP verb, upper case (`NONE` when the caller is not HTTP). */
  readonly verb: string;
  /** Raw query string without `?`. */
  readonly query: string;
  readonly contentType: string;
  readonly metadata: Metadata;
}

/** The leading part of a response (InternalInvokeResponse without the body). */
export interface ResponseHead {
  /** HTTP status from an HTTP app (or a gRPC code). */
  readonly status: number;
  readonly message: string;
  /** A gRPC app's error details (Status.details). */
  readonly details?: readonly AnyValue[];
  readonly headers: Metadata;
  /** A gRPC app's response trailers (InternalInvokeResponse.trailers). */
  readonly trailers?: Metadata;
  readonly contentType: string;
}

/** One message of CallLocalStream's request stream. */
export interface RequestChunk {
  readonly head?: InvokeHead;
  readonly data?: Buffer;
  readonly seq?: number;
}

/** One message of CallLocalStream's response stream. */
export interface ResponseChunk {
  readonly head?: ResponseHead;
  readonly data?: Buffer;
  readonly seq?: number;
}

function verbNumber(verb: string): number {
  const i = (VERBS as readonly string[]).indexOf(verb);
  return Math.max(i, 0);
}

// The encoders below use begin/end rather than nested(callback), and for-in rather than
// Object.keys: no closure or key array per field on a path every call takes (twice).
function writeMetadata(w: ProtoWriter, field: number, md: Metadata): void {
  for (const key in md) {
    const values = md[key] as string[];
    const entry = w.begin(field);
    w.string(1, key);
    const list = w.begin(2);
    for (let i = 0; i < values.length; i++) w.stringAlways(1, values[i] as string);
    w.end(list);
    w.end(entry);
  }
}

function writePayload(w: ProtoWriter, data: Buffer, seq: number): void {
  const p = w.begin(2);
  w.bytes(1, data).uint(2, seq);
  w.end(p);
}

/** Encodes an InternalInvokeRequest (with the body inline in `message.data.value` when given). */
export function encodeInvokeRequest(head: InvokeHead, body?: Buffer): Buffer {
  const w = new ProtoWriter(sizeHint(body));
  writeInternalRequest(w, head, body);
  return w.finish();
}

function writeInternalRequest(w: ProtoWriter, head: InvokeHead, body?: Buffer): void {
  w.uint(1, 1);
  writeMetadata(w, 2, head.metadata);
  const msg = w.begin(3);
  writeInvokeRequest(w, head, body);
  w.end(msg);
}

/** The fields of common.v1.InvokeRequest. */
function writeInvokeRequest(msg: ProtoWriter, head: AppInvokeHead, body?: Buffer): void {
  msg.string(1, head.method);
  if (body !== undefined && body.length > 0) {
    const any = msg.begin(2);
    msg.bytes(2, body);
    msg.end(any);
  }
  msg.string(3, head.contentType);
  const ext = msg.begin(4);
  msg.uint(1, verbNumber(head.verb)).string(2, head.query);
  msg.end(ext);
}

/** What a gRPC app's `AppCallback/OnInvoke` receives of a call (InvokeHead without the metadata). */
export type AppInvokeHead = Omit<InvokeHead, 'metadata'>;

/** Encodes a common.v1.InvokeRequest alone: the message of `AppCallback/OnInvoke`. */
export function encodeAppInvokeRequest(head: AppInvokeHead, body: Buffer): Buffer {
  const w = new ProtoWriter(sizeHint(body));
  writeInvokeRequest(w, head, body);
  return w.finish();
}

/**
 * Decodes a common.v1.InvokeResponse (`AppCallback/OnInvoke`'s answer): `data` (its value and
 * type URL) and `content_type`.
 */
export function decodeAppInvokeResponse(buf: Buffer): { data: Buffer; typeUrl: string; contentType: string } {
  const c = new ProtoCursor(buf);
  let data: Buffer = EMPTY;
  let typeUrl = '';
  let contentType = '';
  while (c.next()) {
    if (c.field === 1 && c.wire === 2) {
      const any = c.sub();
      while (any.next()) {
        if (any.field === 1 && any.wire === 2) typeUrl = any.string();
        else if (any.field === 2 && any.wire === 2) data = any.bytes();
        else any.skip();
      }
    } else if (c.field === 2 && c.wire === 2) contentType = c.string();
    else c.skip();
  }
  return { data, typeUrl, contentType };
}

function sizeHint(body?: Buffer): number {
  return 512 + (body?.length ?? 0);
}

/** Decodes an InternalInvokeRequest; `body` is `message.data.value` (unary CallLocal). */
export function decodeInvokeRequest(buf: Buffer): { head: InvokeHead; body: Buffer } {
  const head = readInternalRequest(new ProtoCursor(buf));
  return { head, body: takeBody() };
}

// The decoders below read nested messages with the cursor's enter/leave instead of sub() (no
// cursor per field), and hand secondary results through these two slots instead of a wrapper
// object or tuple per message: the callee decodes every call's head on its hot path.
/** `message.data.value` of the last request or response head read; see `takeBody`. */
let decodedBody: Buffer = EMPTY;
/** `seq` of the last StreamPayload read by `readPayload`. */
let decodedSeq = 0;

function takeBody(): Buffer {
  const body = decodedBody;
  decodedBody = EMPTY;
  return body;
}

/** A MetadataEntry-like map entry {key=1, ListStringValue{values=1}=2} at the cursor, added to `into`. */
function readMetadataInto(c: ProtoCursor, into: Metadata): void {
  const outer = c.enter();
  let key = '';
  // The usual single value is held as a string: its list is a shared one (`singleValue`).
  let first: string | undefined;
  let values: string[] | undefined;
  while (c.next()) {
    if (c.field === 1 && c.wire === 2) key = c.recentString();
    else if (c.field === 2 && c.wire === 2) {
      const listEnd = c.enter();
      while (c.next()) {
        // (a local: TypeScript would keep the outer loop's narrowing of c.field across c.next())
        const field: number = c.field;
        if (field === 1 && c.wire === 2) {
          const v = c.recentString();
          if (first === undefined) first = v;
          else if (values === undefined) values = [first, v];
          else values.push(v);
        } else c.skip();
      }
      c.leave(listEnd);
    } else c.skip();
  }
  c.leave(outer);
  const list = values ?? (first === undefined ? [] : singleValue(key, first));
  const existing = into[key];
  // A repeated key adds to a new list: lists may be shared, never changed in place.
  into[key] = existing === undefined ? list : existing.concat(list);
}

/** `value` of an Any at the cursor. */
function readAnyValue(c: ProtoCursor): Buffer {
  const outer = c.enter();
  let value: Buffer = EMPTY;
  while (c.next()) {
    if (c.field === 2 && c.wire === 2) value = c.bytes();
    else c.skip();
  }
  c.leave(outer);
  return value;
}

/** An InternalInvokeRequest's head (the cursor's whole range); its body goes to `decodedBody`. */
function readInternalRequest(c: ProtoCursor): InvokeHead {
  const metadata: Metadata = {};
  let method = '';
  let verb = 'NONE';
  let query = '';
  let contentType = '';
  let body: Buffer = EMPTY;
  while (c.next()) {
    if (c.field === 2 && c.wire === 2) readMetadataInto(c, metadata);
    else if (c.field === 3 && c.wire === 2) {
      const m = c.enter();
      while (c.next()) {
        const field: number = c.field;
        if (c.wire !== 2) c.skip();
        else if (field === 1) method = c.string();
        else if (field === 3) contentType = c.string();
        else if (field === 2) body = readAnyValue(c);
        else if (field === 4) {
          const h = c.enter();
          while (c.next()) {
            const f: number = c.field;
            const wire: number = c.wire;
            if (f === 1 && wire === 0) verb = VERBS[c.varint()] ?? 'NONE';
            else if (f === 2 && wire === 2) query = c.string();
            else c.skip();
          }
          c.leave(h);
        } else c.skip();
      }
      c.leave(m);
    } else c.skip();
  }
  decodedBody = body;
  return { method, verb, query, contentType, metadata };
}

/** Encodes an InternalInvokeResponse (body inline when given). */
export function encodeInvokeResponse(head: ResponseHead, body?: Buffer): Buffer {
  const w = new ProtoWriter(sizeHint(body));
  writeInternalResponse(w, head, body);
  return w.finish();
}

function writeInternalResponse(w: ProtoWriter, head: ResponseHead, body?: Buffer): void {
  const st = w.begin(1);
  w.uint(1, head.status).string(2, head.message);
  const details = head.details ?? NO_DETAILS;
  for (let i = 0; i < details.length; i++) {
    const d = details[i] as AnyValue;
    const any = w.begin(3);
    w.string(1, d.typeUrl).bytes(2, d.value);
    w.end(any);
  }
  w.end(st);
  writeMetadata(w, 2, head.headers);
  if (head.trailers !== undefined) writeMetadata(w, 3, head.trailers);
  const msg = w.begin(4);
  if (body !== undefined && body.length > 0) {
    const any = w.begin(1);
    w.bytes(2, body);
    w.end(any);
  }
  w.string(2, head.contentType);
  w.end(msg);
}

/** Decodes an InternalInvokeResponse; `body` is `message.data.value`. */
export function decodeInvokeResponse(buf: Buffer): { head: ResponseHead; body: Buffer } {
  const head = readInternalResponse(new ProtoCursor(buf));
  return { head, body: takeBody() };
}

/** An InternalInvokeResponse's head (the cursor's whole range); its body goes to `decodedBody`. */
function readInternalResponse(c: ProtoCursor): ResponseHead {
  let status = 0;
  let message = '';
  let details: readonly AnyValue[] = NO_DETAILS;
  const headers: Metadata = {};
  let trailers: Metadata | undefined;
  let contentType = '';
  let body: Buffer = EMPTY;
  while (c.next()) {
    if (c.wire !== 2) c.skip();
    else if (c.field === 1) {
      const st = c.enter();
      while (c.next()) {
        const field: number = c.field;
        const wire: number = c.wire;
        if (field === 1 && wire === 0) status = c.varint();
        else if (field === 2 && wire === 2) message = c.string();
        else if (field === 3 && wire === 2) details = [...details, readAny(c.sub())];
        else c.skip();
      }
      c.leave(st);
    } else if (c.field === 2) readMetadataInto(c, headers);
    else if (c.field === 3) {
      trailers ??= {};
      readMetadataInto(c, trailers);
    } else if (c.field === 4) {
      const m = c.enter();
      while (c.next()) {
        const field: number = c.field;
        const wire: number = c.wire;
        if (field === 2 && wire === 2) contentType = c.string();
        else if (field === 1 && wire === 2) body = readAnyValue(c);
        else c.skip();
      }
      c.leave(m);
    } else c.skip();
  }
  decodedBody = body;
  return trailers === undefined
    ? { status, message, details, headers, contentType }
    : { status, message, details, headers, trailers, contentType };
}

/** Encodes one InternalInvokeRequestStream message. */
export function encodeRequestChunk(chunk: RequestChunk): Buffer {
  return requestChunkWriter(chunk, 0).finish();
}

/** Encodes one InternalInvokeRequestStream message as a gRPC frame (5-byte header + message). */
export function frameRequestChunk(chunk: RequestChunk): Buffer {
  return requestChunkWriter(chunk, 5).framed();
}

function requestChunkWriter(chunk: RequestChunk, reserve: number): ProtoWriter {
  const w = new ProtoWriter(sizeHint(chunk.data), reserve);
  const h = chunk.head;
  if (h !== undefined) {
    const r = w.begin(1);
    writeInternalRequest(w, h);
    w.end(r);
  }
  if (chunk.data !== undefined) writePayload(w, chunk.data, chunk.seq ?? 0);
  return w;
}

/** Decodes one InternalInvokeRequestStream message. */
export function decodeRequestChunk(buf: Buffer): RequestChunk {
  const c = new ProtoCursor(buf);
  let head: InvokeHead | undefined;
  let data: Buffer | undefined;
  let seq = 0;
  while (c.next()) {
    if (c.field === 1 && c.wire === 2) {
      const outer = c.enter();
      head = readInternalRequest(c);
      decodedBody = EMPTY; // a streamed request's body travels in payloads
      c.leave(outer);
    } else if (c.field === 2 && c.wire === 2) {
      data = readPayload(c);
      seq = decodedSeq;
    } else c.skip();
  }
  return chunkOf(head, data, seq);
}

/**
 * A chunk from what was decoded, as one of four fixed-shape literals. Not with object spread: the
 * spread of two conditional literals made V8 keep a fraction of every call's objects through two
 * young-generation GCs (promoted ~50 KB per scavenge in a loop of this decoder alone, measured
 * with --trace-gc-nvp), which fed the old generation and its mark-compacts.
 */
function chunkOf<H>(
  head: H | undefined,
  data: Buffer | undefined,
  seq: number,
): { head?: H; data?: Buffer; seq?: number } {
  if (head === undefined) return data === undefined ? {} : { data, seq };
  return data === undefined ? { head } : { head, data, seq };
}

/** A StreamPayload at the cursor: returns its data; its seq goes to `decodedSeq`. */
function readPayload(c: ProtoCursor): Buffer {
  const outer = c.enter();
  let data: Buffer = EMPTY;
  let seq = 0;
  while (c.next()) {
    if (c.field === 1 && c.wire === 2) data = c.bytes();
    else if (c.field === 2 && c.wire === 0) seq = c.varint();
    else c.skip();
  }
  c.leave(outer);
  decodedSeq = seq;
  return data;
}

/** Encodes one InternalInvokeResponseStream message. */
export function encodeResponseChunk(chunk: ResponseChunk): Buffer {
  return responseChunkWriter(chunk, 0).finish();
}

/** Encodes one InternalInvokeResponseStream message as a gRPC frame. */
export function frameResponseChunk(chunk: ResponseChunk): Buffer {
  return responseChunkWriter(chunk, 5).framed();
}

function responseChunkWriter(chunk: ResponseChunk, reserve: number): ProtoWriter {
  const w = new ProtoWriter(sizeHint(chunk.data), reserve);
  const h = chunk.head;
  if (h !== undefined) {
    const r = w.begin(1);
    writeInternalResponse(w, h);
    w.end(r);
  }
  if (chunk.data !== undefined) writePayload(w, chunk.data, chunk.seq ?? 0);
  return w;
}

/** Decodes one InternalInvokeResponseStream message. */
export function decodeResponseChunk(buf: Buffer): ResponseChunk {
  const c = new ProtoCursor(buf);
  let head: ResponseHead | undefined;
  let data: Buffer | undefined;
  let seq = 0;
  while (c.next()) {
    if (c.field === 1 && c.wire === 2) {
      const outer = c.enter();
      head = readInternalResponse(c);
      decodedBody = EMPTY;
      c.leave(outer);
    } else if (c.field === 2 && c.wire === 2) {
      data = readPayload(c);
      seq = decodedSeq;
    } else c.skip();
  }
  return chunkOf(head, data, seq);
}

/**
 * The app's answer as the head of an internal response (hop-by-hop headers dropped). A gRPC app's
 * answer carries its gRPC status code and message, as daprd's gRPC channel sends them.
 */
export function appResponseHead(res: AppResponse): ResponseHead {
  const ct = res.headers['content-type'];
  const grpc = res.grpcStatus;
  const head: ResponseHead = {
    status: grpc === undefined ? res.status : grpc.code,
    message: grpc === undefined ? '' : grpc.message,
    details: grpc?.details ?? NO_DETAILS,
    headers: responseMetadata(res.headers),
    contentType: firstHeaderValue(ct),
  };
  return grpc?.trailers === undefined ? head : { ...head, trailers: { ...grpc.trailers } };
}
