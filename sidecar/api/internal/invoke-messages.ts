/**
 * `dapr.proto.internals.v1.ServiceInvocation` messages, field-compatible with Dapr's
 * service_invocation.proto and common.proto:
 * - InternalInvokeRequest {ver=1, metadata=2 map<string,ListStringValue>, message=3 InvokeRequest, actor=4}
 * - InvokeRequest {method=1, data=2 Any{type_url=1, value=2}, content_type=3, http_extension=4 {verb=1, querystring=2}}
 * - InternalInvokeResponse {status=1 Status{code=1, message=2}, headers=2, trailers=3, message=4 InvokeResponse{data=1, content_type=2}}
 * - InternalInvokeRequestStream / InternalInvokeResponseStream {request|response=1, payload=2 StreamPayload{data=1, seq=2}}
 */
import { type ProtoField, ProtoWriter, readFields } from './proto-wire.js';

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
  readonly headers: Metadata;
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

function readMetadataEntry(buf: Buffer, into: Metadata): void {
  let key = '';
  const values: string[] = [];
  for (const f of readFields(buf)) {
    if (f.field === 1 && Buffer.isBuffer(f.value)) key = f.value.toString('utf8');
    else if (f.field === 2 && Buffer.isBuffer(f.value)) {
      for (const v of readFields(f.value))
        if (v.field === 1 && Buffer.isBuffer(v.value)) values.push(v.value.toString('utf8'));
    }
  }
  const existing = into[key];
  if (existing === undefined) into[key] = values;
  else existing.push(...values);
}

function writePayload(w: ProtoWriter, data: Buffer, seq: number): void {
  w.nested(2, (p) => p.bytes(1, data).uint(2, seq));
}

function readPayload(buf: Buffer): { data: Buffer; seq: number } {
  let data: Buffer = Buffer.alloc(0);
  let seq = 0;
  for (const f of readFields(buf)) {
    if (f.field === 1 && Buffer.isBuffer(f.value)) data = f.value;
    else if (f.field === 2 && typeof f.value === 'number') seq = f.value;
  }
  return { data, seq };
}

function str(f: ProtoField): string {
  return Buffer.isBuffer(f.value) ? f.value.toString('utf8') : '';
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
  w.nested(3, (msg) => {
    msg.string(1, head.method);
    if (body !== undefined && body.length > 0) msg.nested(2, (a) => a.bytes(2, body));
    msg.string(3, head.contentType);
    msg.nested(4, (h) => h.uint(1, verbNumber(head.verb)).string(2, head.query));
  });
}

function sizeHint(body?: Buffer): number {
  return 512 + (body?.length ?? 0);
}

/** Decodes an InternalInvokeRequest; `body` is `message.data.value` (unary CallLocal). */
export function decodeInvokeRequest(buf: Buffer): { head: InvokeHead; body: Buffer } {
  const metadata: Metadata = {};
  let method = '';
  let verb = 'NONE';
  let query = '';
  let contentType = '';
  let body: Buffer = Buffer.alloc(0);
  for (const f of readFields(buf)) {
    if (!Buffer.isBuffer(f.value)) continue;
    if (f.field === 2) readMetadataEntry(f.value, metadata);
    else if (f.field === 3) {
      for (const m of readFields(f.value)) {
        if (m.field === 1) method = str(m);
        else if (m.field === 3) contentType = str(m);
        else if (m.field === 2 && Buffer.isBuffer(m.value)) {
          for (const a of readFields(m.value)) if (a.field === 2 && Buffer.isBuffer(a.value)) body = a.value;
        } else if (m.field === 4 && Buffer.isBuffer(m.value)) {
          for (const h of readFields(m.value)) {
            if (h.field === 1 && typeof h.value === 'number') verb = VERBS[h.value] ?? 'NONE';
            else if (h.field === 2) query = str(h);
          }
        }
      }
    }
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
  w.nested(1, (st) => st.uint(1, head.status).string(2, head.message));
  writeMetadata(w, 2, head.headers);
  w.nested(4, (msg) => {
    if (body !== undefined && body.length > 0) msg.nested(1, (a) => a.bytes(2, body));
    msg.string(2, head.contentType);
  });
}

/** Decodes an InternalInvokeResponse; `body` is `message.data.value`. */
export function decodeInvokeResponse(buf: Buffer): { head: ResponseHead; body: Buffer } {
  let status = 0;
  let message = '';
  const headers: Metadata = {};
  let contentType = '';
  let body: Buffer = Buffer.alloc(0);
  for (const f of readFields(buf)) {
    if (!Buffer.isBuffer(f.value)) continue;
    if (f.field === 1) {
      for (const s of readFields(f.value)) {
        if (s.field === 1 && typeof s.value === 'number') status = s.value;
        else if (s.field === 2) message = str(s);
      }
    } else if (f.field === 2) readMetadataEntry(f.value, headers);
    else if (f.field === 4) {
      for (const m of readFields(f.value)) {
        if (m.field === 2) contentType = str(m);
        else if (m.field === 1 && Buffer.isBuffer(m.value)) {
          for (const a of readFields(m.value)) if (a.field === 2 && Buffer.isBuffer(a.value)) body = a.value;
        }
      }
    }
  }
  return { head: { status, message, headers, contentType }, body };
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
  let head: InvokeHead | undefined;
  let p: { data: Buffer; seq: number } | undefined;
  for (const f of readFields(buf)) {
    if (f.field === 1 && Buffer.isBuffer(f.value)) head = decodeInvokeRequest(f.value).head;
    else if (f.field === 2 && Buffer.isBuffer(f.value)) p = readPayload(f.value);
  }
  return {
    ...(head === undefined ? {} : { head }),
    ...(p === undefined ? {} : { data: p.data, seq: p.seq }),
  };
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
  let head: ResponseHead | undefined;
  let p: { data: Buffer; seq: number } | undefined;
  for (const f of readFields(buf)) {
    if (f.field === 1 && Buffer.isBuffer(f.value)) head = decodeInvokeResponse(f.value).head;
    else if (f.field === 2 && Buffer.isBuffer(f.value)) p = readPayload(f.value);
  }
  return {
    ...(head === undefined ? {} : { head }),
    ...(p === undefined ? {} : { data: p.data, seq: p.seq }),
  };
}
