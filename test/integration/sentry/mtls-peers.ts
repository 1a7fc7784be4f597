/**
 * Two-peer mTLS helpers for sentry tests: an HTTPS server that answers with the caller's verified
 * SPIFFE ID, and a client call over a fresh TLS connection (no keep-alive, so every call does a
 * full handshake with the certificates and bundle current at that moment).
 */

import type { Server } from 'node:https';
import { createServer, request } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { ConnectionOptions, TLSSocket } from 'node:tls';
import { formatSpiffeId } from '../../../sidecar/pki/spiffe-id.js';
import type { PeerPolicy } from '../../../sidecar/security/peer-verification.js';
import { peerIdentity } from '../../../sidecar/security/peer-verification.js';
import type { WorkloadIdentity } from '../../../sidecar/security/workload-identity.js';

/** A running mTLS server. */
export interface PeerServer {
  readonly port: number;
  /** Reasons of connections rejected by the SPIFFE policy, in order. */
  readonly rejections: string[];
  /** TLS handshake failures seen by the server (OpenSSL's reason, e.g. an expired client cert). */
  readonly handshakeErrors: string[];
  close(): Promise<void>;
}

/** Starts an HTTPS server on the identity's current certificate; GET / answers the caller's SPIFFE ID. */
export async function startPeerServer(identity: WorkloadIdentity, policy?: PeerPolicy): Promise<PeerServer> {
  const rejections: string[] = [];
  const server: Server = createServer(identity.tlsServerOptions(), (req, res) => {
    const id = peerIdentity(req.socket as TLSSocket);
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(id === undefined ? 'unknown' : formatSpiffeId(id));
  });
  const detach = identity.attachServer(server, policy, (err) => rejections.push(err.message));
  const handshakeErrors: string[] = [];
  server.on('tlsClientError', (err) => handshakeErrors.push(err.message));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    rejections,
    handshakeErrors,
    async close() {
      detach();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** One GET over a new TLS connection; resolves the body, rejects on any TLS or HTTP failure. */
export async function callPeer(port: number, tls: ConnectionOptions): Promise<string> {
  return await new Promise<string>((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path: '/', method: 'GET', agent: false, ...tls },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          body += c;
        });
        res.on('end', () =>
          res.statusCode === 200 ? resolve(body) : reject(new Error(`HTTP ${res.statusCode ?? 0}`)),
        );
        res.on('error', reject);
      },
    );
    req.setTimeout(5_000, () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    req.end();
  });
}
