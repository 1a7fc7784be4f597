/**
 * One SignCertificate call to sentry over TLS. The client trusts the current trust anchors and
 * pins sentry's SPIFFE ID instead of a host name (Dapr pkg/security: sentry's SVID
 * `spiffe://<cp-td>/ns/<cp-ns>/dapr-sentry`).
 */

import type { PeerCertificate } from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import type {
  SignCertificateRequest,
  SignCertificateResponse,
  TokenValidatorName,
} from '../pki/proto/sentry-proto.js';
import { loadSentryService } from '../pki/proto/sentry-proto.js';
import { parseSubjectAltName } from '../pki/x509/certificate.js';

/** Where sentry is and how to recognise it. */
export interface SentryEndpoint {
  /** `host:port`. */
  readonly address: string;
  /** Expected URI SAN of sentry's serving certificate. */
  readonly spiffeId: string;
  /** Per-attempt deadline (Dapr: 3 s). */
  readonly timeoutMs: number;
}

/** What the sidecar asks for. */
export interface CertificateRequest {
  readonly csrPem: string;
  readonly token: string;
  readonly id: string;
  readonly namespace: string;
  readonly trustDomain: string;
  readonly tokenValidator: TokenValidatorName;
}

/** What sentry returned. */
export interface IssuedCertificate {
  /** Leaf followed by the issuer chain. */
  readonly certChainPem: string;
  /** Trust anchors, PEM. */
  readonly trustAnchorsPem: string;
  readonly validUntil: Date | null;
}

/** A refused or failed request; `grpcCode` is the gRPC status when sentry answered. */
export class SentryRequestError extends Error {
  /** Stable code. */
  readonly code = 'ERR_SENTRY_REQUEST';
  readonly grpcCode: number | undefined;
  constructor(message: string, grpcCode: number | undefined, options?: ErrorOptions) {
    super(message, options);
    this.name = 'SentryRequestError';
    this.grpcCode = grpcCode;
  }
}

/** Returns an Error unless the peer certificate carries exactly the expected URI SAN. */
export function checkSpiffeServerIdentity(
  expected: string,
): (host: string, cert: PeerCertificate) => Error | undefined {
  return (_host, cert) => {
    const uris = parseSubjectAltName(cert.subjectaltname ?? '')
      .filter((e) => e.kind === 'URI')
      .map((e) => e.value);
    return uris.includes(expected)
      ? undefined
      : new Error(`server identity ${uris.join(',') || '(none)'} is not ${expected}`);
  };
}

type SentryClient = grpc.Client & {
  SignCertificate(
    req: Partial<SignCertificateRequest>,
    md: grpc.Metadata,
    opts: grpc.CallOptions,
    cb: (err: grpc.ServiceError | null, res?: SignCertificateResponse) => void,
  ): grpc.ClientUnaryCall;
};

let clientConstructor: (new (address: string, creds: grpc.ChannelCredentials) => SentryClient) | undefined;

/** Sends one CSR to sentry; a fresh channel per call, because the trust anchors may have changed. */
export async function requestCertificate(
  endpoint: SentryEndpoint,
  trustAnchorsPem: string,
  request: CertificateRequest,
): Promise<IssuedCertificate> {
  clientConstructor ??= grpc.makeGenericClientConstructor(
    loadSentryService(),
    'CA',
  ) as unknown as typeof clientConstructor;
  const Ctor = clientConstructor as new (address: string, creds: grpc.ChannelCredentials) => SentryClient;
  const creds = grpc.credentials.createSsl(Buffer.from(trustAnchorsPem), null, null, {
    checkServerIdentity: checkSpiffeServerIdentity(endpoint.spiffeId),
  });
  // SNI name only: the identity check is the SPIFFE pin above (an IP target would trigger DEP0123).
  const client = new (
    Ctor as unknown as new (
      a: string,
      c: grpc.ChannelCredentials,
      o: grpc.ChannelOptions,
    ) => SentryClient
  )(endpoint.address, creds, {
    'grpc.ssl_target_name_override': 'dapr-sentry',
  });
  try {
    const response = await new Promise<SignCertificateResponse>((resolve, reject) => {
      client.SignCertificate(
        {
          id: request.id,
          token: request.token,
          trust_domain: request.trustDomain,
          namespace: request.namespace,
          certificate_signing_request: Buffer.from(request.csrPem),
          token_validator: request.tokenValidator,
        },
        new grpc.Metadata(),
        { deadline: Date.now() + endpoint.timeoutMs },
        (err, res) => {
          if (err !== null)
            reject(
              new SentryRequestError(
                `sentry refused the certificate request: ${err.details || err.message}`,
                err.code,
                { cause: err },
              ),
            );
          else if (res === undefined)
            reject(new SentryRequestError('sentry sent an empty response', undefined));
          else resolve(res);
        },
      );
    });
    const until = response.valid_until;
    return {
      certChainPem: response.workload_certificate.toString('utf8'),
      trustAnchorsPem: response.trust_chain_certificates.map((b) => b.toString('utf8').trim()).join('\n'),
      validUntil:
        until === null ? null : new Date(Number(until.seconds) * 1000 + Math.floor(until.nanos / 1e6)),
    };
  } finally {
    client.close();
  }
}
