/**
 * grpc-js definition of `dapr.proto.internals.v1.ServiceInvocation` (the methods Outrigger serves:
 * CallLocal and CallLocalStream), with our hand-written codecs.
 */
import type { ServiceDefinition } from '@grpc/grpc-js';
import {
  decodeInvokeRequest,
  decodeInvokeResponse,
  decodeRequestChunk,
  decodeResponseChunk,
  encodeInvokeRequest,
  encodeInvokeResponse,
  encodeRequestChunk,
  encodeResponseChunk,
  type InvokeHead,
  type RequestChunk,
  type ResponseChunk,
  type ResponseHead,
} from './invoke-messages.js';

/** A unary request or response with its body inline. */
export interface UnaryRequest {
  readonly head: InvokeHead;
  readonly body: Buffer;
}

/** A unary response with its body inline. */
export interface UnaryResponse {
  readonly head: ResponseHead;
  readonly body: Buffer;
}

/** Fully qualified service name. */
export const SERVICE_NAME = 'dapr.proto.internals.v1.ServiceInvocation';

/** Method paths. */
export const CALL_LOCAL_PATH = `/${SERVICE_NAME}/CallLocal`;
/** Streaming variant: request and response bodies travel as StreamPayload chunks. */
export const CALL_LOCAL_STREAM_PATH = `/${SERVICE_NAME}/CallLocalStream`;

/** Codec helpers shared by client and server. */
export const codecs = {
  requestChunk: { serialize: encodeRequestChunk, deserialize: decodeRequestChunk },
  responseChunk: { serialize: encodeResponseChunk, deserialize: decodeResponseChunk },
  unaryRequest: {
    serialize: (r: UnaryRequest) => encodeInvokeRequest(r.head, r.body),
    deserialize: (b: Buffer): UnaryRequest => decodeInvokeRequest(b),
  },
  unaryResponse: {
    serialize: (r: UnaryResponse) => encodeInvokeResponse(r.head, r.body),
    deserialize: (b: Buffer): UnaryResponse => decodeInvokeResponse(b),
  },
} as const;

/** The service definition for `server.addService`. */
export const SERVICE_INVOCATION_DEFINITION = {
  CallLocal: {
    path: CALL_LOCAL_PATH,
    requestStream: false,
    responseStream: false,
    requestSerialize: codecs.unaryRequest.serialize,
    requestDeserialize: codecs.unaryRequest.deserialize,
    responseSerialize: codecs.unaryResponse.serialize,
    responseDeserialize: codecs.unaryResponse.deserialize,
    originalName: 'callLocal',
  },
  CallLocalStream: {
    path: CALL_LOCAL_STREAM_PATH,
    requestStream: true,
    responseStream: true,
    requestSerialize: codecs.requestChunk.serialize,
    requestDeserialize: codecs.requestChunk.deserialize,
    responseSerialize: codecs.responseChunk.serialize,
    responseDeserialize: codecs.responseChunk.deserialize,
    originalName: 'callLocalStream',
  },
} satisfies ServiceDefinition;

export type { RequestChunk, ResponseChunk };
