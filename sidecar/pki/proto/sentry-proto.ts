/**
 * `dapr.proto.sentry.v1.CA` embedded as a protobufjs JSON descriptor (same package, service,
 * field names and numbers as sentry.proto next to this file), so the definition needs no .proto
 * file at run time. Shared by the sidecar's client and the sentry server (operator/sentry): the
 * wire contract is the one thing both sides must agree on.
 */
import type * as grpc from '@grpc/grpc-js';
import { fromJSON } from '@grpc/proto-loader';

/** protobufjs JSON descriptor of sentry.proto. */
export const SENTRY_PROTO_JSON = {
  nested: {
    dapr: {
      nested: {
        proto: {
          nested: {
            sentry: {
              nested: {
                v1: {
                  nested: {
                    CA: {
                      methods: {
                        SignCertificate: {
                          requestType: 'SignCertificateRequest',
                          responseType: 'SignCertificateResponse',
                        },
                      },
                    },
                    SignCertificateRequest: {
                      fields: {
                        id: { type: 'string', id: 1 },
                        token: { type: 'string', id: 2 },
                        trust_domain: { type: 'string', id: 3 },
                        namespace: { type: 'string', id: 4 },
                        certificate_signing_request: { type: 'bytes', id: 5 },
                        token_validator: { type: 'TokenValidator', id: 6 },
                      },
                      nested: {
                        TokenValidator: { values: { UNKNOWN: 0, INSECURE: 1, KUBERNETES: 2, JWKS: 3 } },
                      },
                    },
                    SignCertificateResponse: {
                      oneofs: { _jwt: { oneof: ['jwt'] } },
                      fields: {
                        workload_certificate: { type: 'bytes', id: 1 },
                        trust_chain_certificates: { rule: 'repeated', type: 'bytes', id: 2 },
                        valid_until: { type: 'google.protobuf.Timestamp', id: 3 },
                        jwt: { type: 'string', id: 4, options: { proto3_optional: true } },
                      },
                    },
                  },
                },
              },
            },
          },
        },
      },
    },
    google: {
      nested: {
        protobuf: {
          nested: {
            Timestamp: { fields: { seconds: { type: 'int64', id: 1 }, nanos: { type: 'int32', id: 2 } } },
          },
        },
      },
    },
  },
} as const;

/** Token validators a client may ask for (enum `SignCertificateRequest.TokenValidator`). */
export type TokenValidatorName = 'UNKNOWN' | 'INSECURE' | 'KUBERNETES' | 'JWKS';

/** Decoded `SignCertificateRequest` (proto-loader: keepCase, enums as strings). */
export interface SignCertificateRequest {
  id: string;
  token: string;
  trust_domain: string;
  namespace: string;
  certificate_signing_request: Buffer;
  token_validator: TokenValidatorName;
}

/** `SignCertificateResponse` as sent and received. */
export interface SignCertificateResponse {
  workload_certificate: Buffer;
  trust_chain_certificates: Buffer[];
  valid_until: { seconds: string | number; nanos: number } | null;
  jwt?: string;
}

/** Fully-qualified gRPC service name. */
export const SENTRY_SERVICE_NAME = 'dapr.proto.sentry.v1.CA';

/** Loads the CA service definition (proto-loader options chosen for Buffer bytes and string enums). */
export function loadSentryService(): grpc.ServiceDefinition {
  // The JSON literal is structurally a protobufjs INamespace; the cast avoids importing protobufjs types.
  const pkg = fromJSON(SENTRY_PROTO_JSON as unknown as Parameters<typeof fromJSON>[0], {
    keepCase: true,
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
  });
  const def = pkg[SENTRY_SERVICE_NAME];
  if (def === undefined || !('SignCertificate' in def)) throw new Error('sentry proto: CA service missing');
  return def as grpc.ServiceDefinition;
}
