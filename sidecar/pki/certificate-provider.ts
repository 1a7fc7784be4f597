/**
 * A grpc-js CertificateProvider fed from memory, so gRPC servers and channels pick up a renewed
 * certificate or a new trust bundle without being rebuilt (grpc-js reads the provider per
 * handshake).
 */
import type { experimental } from '@grpc/grpc-js';

type CaListener = experimental.CaCertificateUpdateListener;
type IdentityListener = experimental.IdentityCertificateUpdateListener;

/** Holds the latest CA bundle and identity and pushes every change to grpc-js listeners. */
export class MemoryCertificateProvider implements experimental.CertificateProvider {
  #ca: experimental.CaCertificateUpdate | null = null;
  #identity: experimental.IdentityCertificateUpdate | null = null;
  readonly #caListeners = new Set<CaListener>();
  readonly #identityListeners = new Set<IdentityListener>();

  /** Replaces the trusted CA bundle (PEM). */
  setCaCertificate(pem: string): void {
    this.#ca = { caCertificate: Buffer.from(pem) };
    for (const l of this.#caListeners) l(this.#ca);
  }

  /** Replaces the serving/client identity (PEM chain + PEM key). */
  setIdentity(certChainPem: string, privateKeyPem: string): void {
    this.#identity = { certificate: Buffer.from(certChainPem), privateKey: Buffer.from(privateKeyPem) };
    for (const l of this.#identityListeners) l(this.#identity);
  }

  addCaCertificateListener(listener: CaListener): void {
    this.#caListeners.add(listener);
    // Deliver the current value on a later tick: grpc-js registers its own watcher only after
    // adding this listener, so a synchronous call would be lost.
    queueMicrotask(() => {
      if (this.#ca !== null && this.#caListeners.has(listener)) listener(this.#ca);
    });
  }

  removeCaCertificateListener(listener: CaListener): void {
    this.#caListeners.delete(listener);
  }

  addIdentityCertificateListener(listener: IdentityListener): void {
    this.#identityListeners.add(listener);
    queueMicrotask(() => {
      if (this.#identity !== null && this.#identityListeners.has(listener)) listener(this.#identity);
    });
  }

  removeIdentityCertificateListener(listener: IdentityListener): void {
    this.#identityListeners.delete(listener);
  }
}
