import type * as grpc from '@grpc/grpc-js';

const raw = (b: Buffer): Buffer => b;

/** A unary gRPC method on raw bytes (no protobuf), for test servers and clients of any service. */
export function rawUnaryMethod(path: string): grpc.MethodDefinition<Buffer, Buffer> {
  return {
    path,
    requestStream: false,
    responseStream: false,
    requestSerialize: raw,
    requestDeserialize: raw,
    responseSerialize: raw,
    responseDeserialize: raw,
  };
}
