import { GrpcCode as G } from './grpc-code.js';

/**
 * The one catalogue of Dapr error codes: code → default HTTP status and gRPC code.
 * Facts from daprd's pkg/messages/predefined.go and pkg/api/errors/*. Add codes here, never inline.
 */
export const CATALOGUE = {
  // generic
  ERR_MALFORMED_REQUEST: { http: 400, grpc: G.INVALID_ARGUMENT },
  ERR_MALFORMED_REQUEST_DATA: { http: 400, grpc: G.INVALID_ARGUMENT },
  ERR_BODY_READ: { http: 400, grpc: G.INVALID_ARGUMENT },
  ERR_DESERIALIZE_HTTP_BODY: { http: 400, grpc: G.INVALID_ARGUMENT },
  ERR_BODY_TOO_LARGE: { http: 413, grpc: G.RESOURCE_EXHAUSTED },
  ERR_BAD_REQUEST: { http: 400, grpc: G.INVALID_ARGUMENT },
  ERR_API_UNIMPLEMENTED: { http: 501, grpc: G.UNIMPLEMENTED },
  ERR_NOT_FOUND: { http: 404, grpc: G.NOT_FOUND },
  ERR_INTERNAL: { http: 500, grpc: G.INTERNAL },
  ERR_UNAUTHENTICATED: { http: 401, grpc: G.UNAUTHENTICATED },
  // health
  ERR_HEALTH_NOT_READY: { http: 500, grpc: G.INTERNAL },
  ERR_OUTBOUND_HEALTH_NOT_READY: { http: 500, grpc: G.INTERNAL },
  ERR_HEALTH_APPID_NOT_MATCH: { http: 500, grpc: G.INTERNAL },
  // state
  ERR_STATE_STORE_NOT_FOUND: { http: 400, grpc: G.INVALID_ARGUMENT },
  ERR_STATE_STORES_NOT_CONFIGURED: { http: 500, grpc: G.FAILED_PRECONDITION },
  /** daprd HEAD's spelling (pkg/api/errors/state.go NotConfigured). */
  ERR_STATE_STORE_NOT_CONFIGURED: { http: 500, grpc: G.FAILED_PRECONDITION },
  ERR_NOT_SUPPORTED_STATE_OPERATION: { http: 500, grpc: G.INTERNAL },
  ERR_STATE_GET: { http: 500, grpc: G.INTERNAL },
  ERR_STATE_SAVE: { http: 500, grpc: G.INTERNAL },
  ERR_STATE_DELETE: { http: 500, grpc: G.INTERNAL },
  ERR_STATE_BULK_GET: { http: 500, grpc: G.INTERNAL },
  /** gRPC DeleteBulkState only (daprd's errorcodes.StateBulkDelete). */
  ERR_STATE_BULK_DELETE: { http: 500, grpc: G.INTERNAL },
  ERR_STATE_TRANSACTION: { http: 500, grpc: G.INTERNAL },
  ERR_STATE_QUERY: { http: 500, grpc: G.INTERNAL },
  ERR_STATE_STORE_NOT_SUPPORTED: { http: 400, grpc: G.INVALID_ARGUMENT },
  ERR_STATE_STORE_TOO_MANY_TRANSACTIONS: { http: 400, grpc: G.INVALID_ARGUMENT },
  // secrets
  ERR_SECRET_STORES_NOT_CONFIGURED: { http: 500, grpc: G.FAILED_PRECONDITION },
  ERR_SECRET_STORE_NOT_FOUND: { http: 401, grpc: G.INVALID_ARGUMENT },
  ERR_SECRET_GET: { http: 500, grpc: G.INTERNAL },
  ERR_PERMISSION_DENIED: { http: 403, grpc: G.PERMISSION_DENIED },
  // metadata
  ERR_METADATA_GET: { http: 500, grpc: G.INTERNAL },
  // invocation
  ERR_DIRECT_INVOKE: { http: 500, grpc: G.INTERNAL },
  ERR_MALFORMED_RESPONSE: { http: 500, grpc: G.INTERNAL },
  ERR_INVOKE_OUTPUT_BINDING: { http: 500, grpc: G.INTERNAL },
  // pub/sub
  ERR_PUBSUB_NOT_FOUND: { http: 404, grpc: G.INVALID_ARGUMENT },
  ERR_PUBSUB_NOT_CONFIGURED: { http: 400, grpc: G.FAILED_PRECONDITION },
  ERR_PUBSUB_EMPTY: { http: 404, grpc: G.INVALID_ARGUMENT },
  ERR_TOPIC_NAME_EMPTY: { http: 404, grpc: G.INVALID_ARGUMENT },
  ERR_PUBSUB_FORBIDDEN: { http: 403, grpc: G.PERMISSION_DENIED },
  ERR_PUBSUB_PUBLISH_MESSAGE: { http: 500, grpc: G.INTERNAL },
  ERR_PUBSUB_CLOUD_EVENTS_SER: { http: 500, grpc: G.INTERNAL },
  ERR_PUBSUB_REQUEST_METADATA: { http: 400, grpc: G.INVALID_ARGUMENT },
} as const satisfies Record<string, { http: number; grpc: number }>;

/** Every Dapr error code Outrigger can emit. */
export type ErrorCode = keyof typeof CATALOGUE;
