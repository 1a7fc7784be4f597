/**
 * The part of `dapr.proto.runtime.v1.Dapr` (daprd's app-facing gRPC API) that Outrigger serves,
 * as a protobufjs JSON descriptor: the package, service, message and field names and numbers are
 * Dapr's (runtime/v1/dapr.proto, invoke.proto, metadata.proto, state.proto, secret.proto,
 * common/v1/common.proto), so the official SDKs' generated clients talk to it unchanged. A method left out here is answered
 * Unimplemented by grpc-js, as an older daprd answers a method it does not know.
 */
import type * as grpc from '@grpc/grpc-js';
import { fromJSON } from '@grpc/proto-loader';

const str = (id: number) => ({ type: 'string', id }) as const;
const int32 = (id: number) => ({ type: 'int32', id }) as const;
const repeated = (type: string, id: number) => ({ rule: 'repeated', type, id }) as const;
const stringMap = (id: number) => ({ keyType: 'string', type: 'string', id }) as const;
const bytes = (id: number) => ({ type: 'bytes', id }) as const;
const ref = (type: string, id: number) => ({ type, id }) as const;

const RUNTIME_V1 = {
  Dapr: {
    methods: {
      InvokeService: { requestType: 'InvokeServiceRequest', responseType: 'common.v1.InvokeResponse' },
      GetMetadata: { requestType: 'GetMetadataRequest', responseType: 'GetMetadataResponse' },
      SetMetadata: { requestType: 'SetMetadataRequest', responseType: 'google.protobuf.Empty' },
      Shutdown: { requestType: 'ShutdownRequest', responseType: 'google.protobuf.Empty' },
      GetState: { requestType: 'GetStateRequest', responseType: 'GetStateResponse' },
      GetBulkState: { requestType: 'GetBulkStateRequest', responseType: 'GetBulkStateResponse' },
      SaveState: { requestType: 'SaveStateRequest', responseType: 'google.protobuf.Empty' },
      QueryStateAlpha1: { requestType: 'QueryStateRequest', responseType: 'QueryStateResponse' },
      DeleteState: { requestType: 'DeleteStateRequest', responseType: 'google.protobuf.Empty' },
      DeleteBulkState: { requestType: 'DeleteBulkStateRequest', responseType: 'google.protobuf.Empty' },
      ExecuteStateTransaction: {
        requestType: 'ExecuteStateTransactionRequest',
        responseType: 'google.protobuf.Empty',
      },
      GetSecret: { requestType: 'GetSecretRequest', responseType: 'GetSecretResponse' },
      GetBulkSecret: { requestType: 'GetBulkSecretRequest', responseType: 'GetBulkSecretResponse' },
    },
  },
  // runtime/v1/state.proto
  GetStateRequest: {
    fields: {
      store_name: str(1),
      key: str(2),
      consistency: ref('common.v1.StateOptions.StateConsistency', 3),
      metadata: stringMap(4),
    },
  },
  GetStateResponse: { fields: { data: bytes(1), etag: str(2), metadata: stringMap(3) } },
  GetBulkStateRequest: {
    fields: {
      store_name: str(1),
      keys: repeated('string', 2),
      parallelism: int32(3),
      metadata: stringMap(4),
    },
  },
  GetBulkStateResponse: { fields: { items: repeated('BulkStateItem', 1) } },
  BulkStateItem: {
    fields: { key: str(1), data: bytes(2), etag: str(3), error: str(4), metadata: stringMap(5) },
  },
  SaveStateRequest: { fields: { store_name: str(1), states: repeated('common.v1.StateItem', 2) } },
  DeleteStateRequest: {
    fields: {
      store_name: str(1),
      key: str(2),
      etag: ref('common.v1.Etag', 3),
      options: ref('common.v1.StateOptions', 4),
      metadata: stringMap(5),
    },
  },
  DeleteBulkStateRequest: { fields: { store_name: str(1), states: repeated('common.v1.StateItem', 2) } },
  QueryStateRequest: { fields: { store_name: str(1), query: str(2), metadata: stringMap(3) } },
  QueryStateItem: { fields: { key: str(1), data: bytes(2), etag: str(3), error: str(4) } },
  QueryStateResponse: {
    fields: { results: repeated('QueryStateItem', 1), token: str(2), metadata: stringMap(3) },
  },
  // Dapr spells these two fields in camelCase in the .proto.
  TransactionalStateOperation: {
    fields: { operationType: str(1), request: ref('common.v1.StateItem', 2) },
  },
  ExecuteStateTransactionRequest: {
    fields: {
      storeName: str(1),
      operations: repeated('TransactionalStateOperation', 2),
      metadata: stringMap(3),
    },
  },
  // runtime/v1/secret.proto
  GetSecretRequest: { fields: { store_name: str(1), key: str(2), metadata: stringMap(3) } },
  GetSecretResponse: { fields: { data: stringMap(1) } },
  GetBulkSecretRequest: { fields: { store_name: str(1), metadata: stringMap(2) } },
  SecretResponse: { fields: { secrets: stringMap(1) } },
  GetBulkSecretResponse: { fields: { data: { keyType: 'string', type: 'SecretResponse', id: 1 } } },
  InvokeServiceRequest: { fields: { id: str(1), message: { type: 'common.v1.InvokeRequest', id: 3 } } },
  GetMetadataRequest: { fields: {} },
  ShutdownRequest: { fields: {} },
  SetMetadataRequest: { fields: { key: str(1), value: str(2) } },
  GetMetadataResponse: {
    fields: {
      id: str(1),
      active_actors_count: repeated('ActiveActorsCount', 2),
      registered_components: repeated('RegisteredComponents', 3),
      extended_metadata: stringMap(4),
      subscriptions: repeated('PubsubSubscription', 5),
      http_endpoints: repeated('MetadataHTTPEndpoint', 6),
      app_connection_properties: { type: 'AppConnectionProperties', id: 7 },
      runtime_version: str(8),
      enabled_features: repeated('string', 9),
      actor_runtime: { type: 'ActorRuntime', id: 10 },
    },
  },
  ActorRuntime: {
    fields: {
      runtime_status: { type: 'ActorRuntimeStatus', id: 1 },
      active_actors: repeated('ActiveActorsCount', 2),
      host_ready: { type: 'bool', id: 3 },
      placement: str(4),
    },
    nested: { ActorRuntimeStatus: { values: { INITIALIZING: 0, DISABLED: 1, RUNNING: 2 } } },
  },
  ActiveActorsCount: { fields: { type: str(1), count: int32(2) } },
  RegisteredComponents: {
    fields: { name: str(1), type: str(2), version: str(3), capabilities: repeated('string', 4) },
  },
  MetadataHTTPEndpoint: { fields: { name: str(1) } },
  AppConnectionProperties: {
    fields: {
      port: int32(1),
      protocol: str(2),
      channel_address: str(3),
      max_concurrency: int32(4),
      health: { type: 'AppConnectionHealthProperties', id: 5 },
    },
  },
  AppConnectionHealthProperties: {
    fields: {
      health_check_path: str(1),
      health_probe_interval: str(2),
      health_probe_timeout: str(3),
      health_threshold: int32(4),
    },
  },
  PubsubSubscription: {
    fields: {
      pubsub_name: str(1),
      topic: str(2),
      metadata: stringMap(3),
      rules: { type: 'PubsubSubscriptionRules', id: 4 },
      dead_letter_topic: str(5),
      type: { type: 'PubsubSubscriptionType', id: 6 },
    },
  },
  PubsubSubscriptionType: { values: { UNKNOWN: 0, DECLARATIVE: 1, PROGRAMMATIC: 2, STREAMING: 3 } },
  PubsubSubscriptionRules: { fields: { rules: repeated('PubsubSubscriptionRule', 1) } },
  PubsubSubscriptionRule: { fields: { match: str(1), path: str(2) } },
};

const COMMON_V1 = {
  HTTPExtension: {
    fields: { verb: { type: 'Verb', id: 1 }, querystring: str(2) },
    nested: {
      Verb: {
        values: {
          NONE: 0,
          GET: 1,
          HEAD: 2,
          POST: 3,
          PUT: 4,
          DELETE: 5,
          CONNECT: 6,
          OPTIONS: 7,
          TRACE: 8,
          PATCH: 9,
        },
      },
    },
  },
  InvokeRequest: {
    fields: {
      method: str(1),
      data: { type: 'google.protobuf.Any', id: 2 },
      content_type: str(3),
      http_extension: { type: 'HTTPExtension', id: 4 },
    },
  },
  InvokeResponse: { fields: { data: { type: 'google.protobuf.Any', id: 1 }, content_type: str(2) } },
  StateItem: {
    fields: {
      key: str(1),
      value: bytes(2),
      etag: ref('Etag', 3),
      metadata: stringMap(4),
      options: ref('StateOptions', 5),
    },
  },
  Etag: { fields: { value: str(1) } },
  StateOptions: {
    fields: {
      concurrency: ref('StateConcurrency', 1),
      consistency: ref('StateConsistency', 2),
    },
    nested: {
      StateConcurrency: {
        values: { CONCURRENCY_UNSPECIFIED: 0, CONCURRENCY_FIRST_WRITE: 1, CONCURRENCY_LAST_WRITE: 2 },
      },
      StateConsistency: {
        values: { CONSISTENCY_UNSPECIFIED: 0, CONSISTENCY_EVENTUAL: 1, CONSISTENCY_STRONG: 2 },
      },
    },
  },
};

/** protobufjs JSON descriptor of the served subset. */
export const DAPR_PROTO_JSON = {
  nested: {
    dapr: {
      nested: {
        proto: {
          nested: {
            runtime: { nested: { v1: { nested: RUNTIME_V1 } } },
            common: { nested: { v1: { nested: COMMON_V1 } } },
          },
        },
      },
    },
    google: {
      nested: {
        protobuf: {
          nested: {
            Any: { fields: { type_url: str(1), value: { type: 'bytes', id: 2 } } },
            Empty: { fields: {} },
          },
        },
      },
    },
  },
};

/** Fully-qualified name of the service. */
export const DAPR_SERVICE_NAME = 'dapr.proto.runtime.v1.Dapr';

/** `google.protobuf.Any` as decoded (keepCase, bytes as Buffer). */
export interface AnyMessage {
  type_url: string;
  value: Buffer;
}

/** `common.v1.InvokeRequest` as decoded (enums as names, defaults filled in). */
export interface InvokeRequestMessage {
  method: string;
  data: AnyMessage | null;
  content_type: string;
  http_extension: { verb: string; querystring: string } | null;
}

/** `InvokeServiceRequest` as decoded. */
export interface InvokeServiceRequestMessage {
  id: string;
  message: InvokeRequestMessage | null;
}

/** `common.v1.InvokeResponse` as sent. */
export interface InvokeResponseMessage {
  data: { type_url: string; value: Buffer };
  content_type: string;
}

/** `SetMetadataRequest` as decoded. */
export interface SetMetadataRequestMessage {
  key: string;
  value: string;
}

/** `common.v1.StateOptions` as decoded (enum values by name; an unknown number stays a number). */
export interface StateOptionsMessage {
  concurrency: string | number;
  consistency: string | number;
}

/** `common.v1.StateItem` as decoded (an absent `etag`/`options` is null). */
export interface StateItemMessage {
  key: string;
  value: Buffer;
  etag: { value: string } | null;
  metadata: Record<string, string>;
  options: StateOptionsMessage | null;
}

/** `GetStateRequest` as decoded. */
export interface GetStateRequestMessage {
  store_name: string;
  key: string;
  consistency: string | number;
  metadata: Record<string, string>;
}

/** `GetBulkStateRequest` as decoded. */
export interface GetBulkStateRequestMessage {
  store_name: string;
  keys: string[];
  parallelism: number;
  metadata: Record<string, string>;
}

/** `SaveStateRequest` and `DeleteBulkStateRequest` as decoded. */
export interface StateItemsRequestMessage {
  store_name: string;
  states: StateItemMessage[];
}

/** `DeleteStateRequest` as decoded. */
export interface DeleteStateRequestMessage {
  store_name: string;
  key: string;
  etag: { value: string } | null;
  options: StateOptionsMessage | null;
  metadata: Record<string, string>;
}

/** `QueryStateRequest` as decoded. */
export interface QueryStateRequestMessage {
  store_name: string;
  query: string;
  metadata: Record<string, string>;
}

/** `ExecuteStateTransactionRequest` as decoded (camelCase field names, as in Dapr's .proto). */
export interface ExecuteStateTransactionRequestMessage {
  storeName: string;
  operations: { operationType: string; request: StateItemMessage | null }[];
  metadata: Record<string, string>;
}

/** `GetSecretRequest` as decoded. */
export interface GetSecretRequestMessage {
  store_name: string;
  key: string;
  metadata: Record<string, string>;
}

/** `GetBulkSecretRequest` as decoded. */
export interface GetBulkSecretRequestMessage {
  store_name: string;
  metadata: Record<string, string>;
}

/** Loads the service definition (proto-loader: field names as in the .proto, enums as strings, Buffer bytes). */
export function loadDaprService(): grpc.ServiceDefinition {
  // The literal is structurally a protobufjs INamespace; the cast avoids importing protobufjs types.
  const pkg = fromJSON(DAPR_PROTO_JSON as unknown as Parameters<typeof fromJSON>[0], {
    keepCase: true,
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
  });
  const def = pkg[DAPR_SERVICE_NAME];
  if (def === undefined || !('InvokeService' in def)) throw new Error('dapr proto: Dapr service missing');
  return def as grpc.ServiceDefinition;
}
