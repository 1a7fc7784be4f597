/**
 * grpc-js credentials backed by the workload identity, for the internal sidecar-to-sidecar API
 * (:50002). Both sides read certificate and trust bundle through a CertificateProvider, so a
 * renewal or a bundle change applies to the next handshake without rebuilding server or channel.
 * OpenSSL checks the chain; the SPIFFE policy is checked per call on the server
 * (`grpcPeerIdentity`) and per handshake on the client (`checkServerIdentity`).
 */
import type { PeerCertificate } from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import type { SpiffeId } from '../pki/spiffe-id.js';
import type { PeerPolicy } from './peer-verification.js';
import { PeerIdentityError, serverIdentityChecker, verifyPeerCertificate } from './peer-verification.js';
import type { WorkloadIdentity } from './workload-identity.js';

/** Server credentials that require a client certificate chaining to the current trust bundle. */
export function grpcServerCredentials(identity: WorkloadIdentity): grpc.ServerCredentials {
  const provider = identity.certificateProvider();
  return grpc.experimental.createCertificateProviderServerCredentials(provider, provider, true);
}

/** Channel credentials presenting our certificate and checking the server's SPIFFE ID against `policy`. */
export function grpcChannelCredentials(
  identity: WorkloadIdentity,
  policy: PeerPolicy,
): grpc.ChannelCredentials {
  const provider = identity.certificateProvider();
  return grpc.experimental.createCertificateProviderChannelCredentials(provider, provider, {
    checkServerIdentity: serverIdentityChecker(policy),
  });
}

/** grpc-js's AuthContext (not exported from its index), structurally. */
export interface GrpcAuthContext {
  readonly transportSecurityType?: string;
  readonly sslPeerCertificate?: PeerCertificate;
}

/** The caller's verified SPIFFE ID; throws PeerIdentityError when absent or outside `policy`. */
export function grpcPeerIdentity(
  call: { getAuthContext(): GrpcAuthContext | null },
  policy: PeerPolicy,
): SpiffeId {
  const auth = call.getAuthContext();
  if (auth === null || auth.transportSecurityType !== 'ssl')
    throw new PeerIdentityError('call did not arrive over mTLS');
  return verifyPeerCertificate(auth.sslPeerCertificate, policy);
}
