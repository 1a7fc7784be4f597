/**
 * mTLS peer identity: OpenSSL checks the chain against the trust bundle; this module then reads
 * the peer's SPIFFE ID from its URI SAN and checks the trust domain (and optionally namespace and
 * app id). The result feeds access-control policies (Configuration `spec.accessControl`).
 */
import type { PeerCertificate, Server, TLSSocket } from 'node:tls';
import type { SpiffeId } from '../pki/spiffe-id.js';
import { parseSpiffeId } from '../pki/spiffe-id.js';
import { parseSubjectAltName } from '../pki/x509/certificate.js';

/** Which peers are acceptable. Empty or absent lists mean "any". */
export interface PeerPolicy {
  /** Trust domains accepted (normally just our own). */
  readonly trustDomains: readonly string[];
  readonly namespaces?: readonly string[];
  readonly appIds?: readonly string[];
}

/** A peer failed identity checks. */
export class PeerIdentityError extends Error {
  /** Stable code. */
  readonly code = 'ERR_PEER_IDENTITY';
  constructor(message: string) {
    super(message);
    this.name = 'PeerIdentityError';
  }
}

/** The SPIFFE ID in a peer certificate's URI SANs, checked against the policy. */
export function verifyPeerCertificate(
  cert: Pick<PeerCertificate, 'subjectaltname'> | undefined,
  policy: PeerPolicy,
): SpiffeId {
  if (cert === undefined || cert.subjectaltname === undefined)
    throw new PeerIdentityError('peer presented no certificate with a SPIFFE ID');
  const ids = parseSubjectAltName(cert.subjectaltname)
    .filter((e) => e.kind === 'URI')
    .map((e) => parseSpiffeId(e.value))
    .filter((id): id is SpiffeId => id !== undefined);
  if (ids.length !== 1)
    throw new PeerIdentityError(`peer certificate must carry exactly one SPIFFE ID, found ${ids.length}`);
  const id = ids[0] as SpiffeId;
  const allowed = (list: readonly string[] | undefined, value: string): boolean =>
    list === undefined || list.length === 0 || list.includes(value);
  if (!allowed(policy.trustDomains, id.trustDomain))
    throw new PeerIdentityError(`peer trust domain "${id.trustDomain}" is not trusted`);
  if (!allowed(policy.namespaces, id.namespace))
    throw new PeerIdentityError(`peer namespace "${id.namespace}" is not allowed`);
  if (!allowed(policy.appIds, id.appId))
    throw new PeerIdentityError(`peer app id "${id.appId}" is not allowed`);
  return id;
}

const peerIds = new WeakMap<TLSSocket, SpiffeId>();

/** The verified SPIFFE ID of a connection accepted by an `enforcePeerPolicy` server. */
export function peerIdentity(socket: TLSSocket): SpiffeId | undefined {
  return peerIds.get(socket);
}

/**
 * Destroys every accepted connection whose client certificate is unauthorized or whose SPIFFE ID
 * fails `policy`, before any application data is read. Returns a function that removes the hook.
 */
export function enforcePeerPolicy(
  server: Server,
  policy: PeerPolicy,
  onReject?: (err: Error) => void,
): () => void {
  const listener = (socket: TLSSocket): void => {
    try {
      if (!socket.authorized)
        throw new PeerIdentityError(
          `client certificate rejected: ${String(socket.authorizationError ?? 'none presented')}`,
        );
      peerIds.set(socket, verifyPeerCertificate(socket.getPeerCertificate(), policy));
    } catch (err) {
      onReject?.(err as Error);
      socket.destroy();
    }
  };
  // prependListener: run before the HTTP(S) server's own handler attaches its parser.
  server.prependListener('secureConnection', listener);
  return () => server.removeListener('secureConnection', listener);
}

/** A `checkServerIdentity` for tls.connect that applies `policy` to the server's certificate. */
export function serverIdentityChecker(
  policy: PeerPolicy,
): (host: string, cert: PeerCertificate) => Error | undefined {
  return (_host, cert) => {
    try {
      verifyPeerCertificate(cert, policy);
      return undefined;
    } catch (err) {
      return err as Error;
    }
  };
}
