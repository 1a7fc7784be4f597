/**
 * The wire size of each message the gRPC API server decodes or encodes, for daprd's
 * `dapr_grpc_io_server_{received,sent}_bytes_per_rpc` (the protobuf message's size). The service's
 * (de)serializers note the size of the buffer against the message object they produce or take.
 */
import type * as grpc from '@grpc/grpc-js';

const sizes = new WeakMap<object, number>();

/** The encoded size of a message this service decoded or encoded; 0 when unknown. */
export function messageSize(message: unknown): number {
  return typeof message === 'object' && message !== null ? (sizes.get(message) ?? 0) : 0;
}

/** The service definition with (de)serializers that note each message's size. */
export function measuredService(def: grpc.ServiceDefinition): grpc.ServiceDefinition {
  const out: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  for (const [name, method] of Object.entries(def)) {
    const m = method as grpc.MethodDefinition<unknown, unknown>;
    out[name] = {
      ...m,
      requestDeserialize: (buf: Buffer) => {
        const message = m.requestDeserialize(buf);
        if (typeof message === 'object' && message !== null) sizes.set(message, buf.length);
        return message;
      },
      responseSerialize: (value: unknown) => {
        const buf = m.responseSerialize(value);
        if (typeof value === 'object' && value !== null) sizes.set(value, buf.length);
        return buf;
      },
    };
  }
  return out as grpc.ServiceDefinition;
}
