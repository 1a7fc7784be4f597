/**
 * `dapr.proto.internals.v1.ServiceInvocation` messages, field-compatible with Dapr's
 * service_invocation.proto and common.proto:
 * - InternalInvokeRequest {ver=1, metadata=2 map<string,ListStringValue>, message=3 InvokeRequest, actor=4}
 * - InvokeRequest {method=1, data=2 Any{type_url=1, value=2}, content_type=3, http_extension=4 {verb=1, querystring=2}}
 * - InternalInvokeResponse {status=1 Status{code=1, message=2, details=3 Any}, headers=2, trailers=3, message=4 InvokeResponse{data=1, content_type=2}}
 * - InternalInvokeRequestStream / InternalInvokeResponseStream {request|response=1, payload=2 StreamPayload{data=1, seq=2}}
 */
import { type AppResponse, firstHeaderValue } from '../../channel/app-channel.js';
import { responseMetadata } from '../../invoke/headers.js';
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

function writeMetadata(w: ProtoWriter, field: number, md: Metadata): void {
  for (const key of Object.keys(md)) {
    const values = md[key] as string[];
    w.nested(field, (e) => {
      e.string(1, key);
      e.nested(2, (list) => {
        for (const v of values) list.stringAlways(1, v);
      });
    });
  }
}

function writePayload(w: ProtoWriter, data: Buffer, seq: number): void {
  w.nested(2, (p) => p.bytes(1, data).uint(2, seq));
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
  w.nested(3, (msg) => writeInvokeRequest(msg, head, body));
}

/** The fields of common.v1.InvokeRequest. */
function writeInvokeRequest(msg: ProtoWriter, head: AppInvokeHead, body?: Buffer): void {
  msg.string(1, head.method);
  if (body !== undefined && body.length > 0) msg.nested(2, (a) => a.bytes(2, body));
  msg.string(3, head.contentType);
  msg.nested(4, (h) => h.uint(1, verbNumber(head.verb)).string(2, head.query));
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
  return readInternalRequest(new ProtoCursor(buf));
}

function readMetadataInto(c: ProtoCursor, into: Metadata): void {
  let key = '';
  const values: string[] = [];
  while (c.next()) {
    if (c.field === 1 && c.wire === 2) key = c.string();
    else if (c.field === 2 && c.wire === 2) {
      const list = c.sub();
      while (list.next()) {
        if (list.field === 1 && list.wire === 2) values.push(list.string());
        else list.skip();
      }
    } else c.skip();
  }
  const existing = into[key];
  if (existing === undefined) into[key] = values;
  else existing.push(...values);
}

function readAnyValue(c: ProtoCursor): Buffer {
  let value: Buffer = EMPTY;
  while (c.next()) {
    if (c.field === 2 && c.wire === 2) value = c.bytes();
    else c.skip();
  }
  return value;
}

function readInternalRequest(c: ProtoCursor): { head: InvokeHead; body: Buffer } {
  const metadata: Metadata = {};
  let method = '';
  let verb = 'NONE';
  let query = '';
  let contentType = '';
  let body: Buffer = EMPTY;
  while (c.next()) {
    if (c.field === 2 && c.wire === 2) readMetadataInto(c.sub(), metadata);
    else if (c.field === 3 && c.wire === 2) {
      const m = c.sub();
      while (m.next()) {
        if (m.wire !== 2) m.skip();
        else if (m.field === 1) method = m.string();
        else if (m.field === 3) contentType = m.string();
        else if (m.field === 2) body = readAnyValue(m.sub());
        else if (m.field === 4) {
          const h = m.sub();
          while (h.next()) {
            if (h.field === 1 && h.wire === 0) verb = VERBS[h.varint()] ?? 'NONE';
            else if (h.field === 2 && h.wire === 2) query = h.string();
            else h.skip();
          }
        } else m.skip();
      }
    } else c.skip();
  }
  return { head: { method, verb, query, contentType, metadata }, body };
}

/** Encodes an InternalInvokeResponse (body inline when given). */
export function encodeInvokeResponse(head: ResponseHead, body?: Buffer): Buffer {
  const w = new ProtoWriter(sizeHint(body));
  writeInternalResponse(w, head, body);
  return w.finish();
}

function writeInternalResponse(w: ProtoWriter, head: ResponseHead, body?: Buffer): void {
  w.nested(1, (st) => {
    st.uint(1, head.status).string(2, head.message);
    for (const d of head.details ?? NO_DETAILS) st.nested(3, (a) => a.string(1, d.typeUrl).bytes(2, d.value));
  });
  writeMetadata(w, 2, head.headers);
  if (head.trailers !== undefined) writeMetadata(w, 3, head.trailers);
  w.nested(4, (msg) => {
    if (body !== undefined && body.length > 0) msg.nested(1, (a) => a.bytes(2, body));
    msg.string(2, head.contentType);
  });
}

/** Decodes an InternalInvokeResponse; `body` is `message.data.value`. */
export function decodeInvokeResponse(buf: Buffer): { head: ResponseHead; body: Buffer } {
  return readInternalResponse(new ProtoCursor(buf));
}

function readInternalResponse(c: ProtoCursor): { head: ResponseHead; body: Buffer } {
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
      const st = c.sub();
      while (st.next()) {
        if (st.field === 1 && st.wire === 0) status = st.varint();
        else if (st.field === 2 && st.wire === 2) message = st.string();
        else if (st.field === 3 && st.wire === 2) details = [...details, readAny(st.sub())];
        else st.skip();
      }
    } else if (c.field === 2) readMetadataInto(c.sub(), headers);
    else if (c.field === 3) {
      trailers ??= {};
      readMetadataInto(c.sub(), trailers);
    } else if (c.field === 4) {
      const m = c.sub();
      while (m.next()) {
        if (m.field === 2 && m.wire === 2) contentType = m.string();
        else if (m.field === 1 && m.wire === 2) body = readAnyValue(m.sub());
        else m.skip();
      }
    } else c.skip();
  }
  const head: ResponseHead =
    trailers === undefined
      ? { status, message, details, headers, contentType }
      : { status, message, details, headers, trailers, contentType };
  return { head, body };
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
  if (h !== undefined) w.nested(1, (r) => writeInternalRequest(r, h));
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
    if (c.field === 1 && c.wire === 2) head = readInternalRequest(c.sub()).head;
    else if (c.field === 2 && c.wire === 2) [data, seq] = readPayloadAt(c.sub());
    else c.skip();
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

function readPayloadAt(c: ProtoCursor): [Buffer, number] {
  let data: Buffer = EMPTY;
  let seq = 0;
  while (c.next()) {
    if (c.field === 1 && c.wire === 2) data = c.bytes();
    else if (c.field === 2 && c.wire === 0) seq = c.varint();
    else c.skip();
  }
  return [data, seq];
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
  if (h !== undefined) w.nested(1, (r) => writeInternalResponse(r, h));
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
    if (c.field === 1 && c.wire === 2) head = readInternalResponse(c.sub()).head;
    else if (c.field === 2 && c.wire === 2) [data, seq] = readPayloadAt(c.sub());
    else c.skip();
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
