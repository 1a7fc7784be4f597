/**
 * Signs workload certificates with the current issuer. Pure and synchronous apart from the key
 * operation, so it can be benchmarked directly and swapped atomically when credentials reload.
 */
import type { X509Certificate } from 'node:crypto';
import { certificatesToPem, createCertificate } from '../../sidecar/pki/x509/certificate.js';
import { parseCsr } from '../../sidecar/pki/x509/csr.js';
import type { CaBundle } from './ca-bundle.js';

/** Signing defaults (Dapr: workload TTL 24h, allowed clock skew 15m). */
export interface CertificateAuthorityOptions {
  readonly workloadTtlMs: number;
  readonly skewMs: number;
  /** Injected clock (ms since epoch). */
  readonly now: () => number;
}

/** What to sign: a CSR and the identity the validator approved. */
export interface SignRequest {
  /** PEM CSR (its self-signature is verified). */
  readonly csrPem: string | Buffer;
  /** URI SAN, e.g. `spiffe://public/ns/default/orders`. */
  readonly spiffeId: string;
  /** Extra DNS SANs (control-plane services only). */
  readonly dnsNames?: readonly string[];
  /** Overrides the default TTL. */
  readonly ttlMs?: number;
}

/** A signed workload certificate with the chain and anchors a client needs. */
export interface SignedCertificate {
  readonly leaf: X509Certificate;
  /** Leaf followed by the issuer chain, PEM. */
  readonly certChainPem: string;
  /** Trust anchors (roots), PEM, one entry per certificate. */
  readonly trustAnchorsPem: readonly string[];
  readonly notAfter: Date;
}

/** Sentry's signing core. */
export class CertificateAuthority {
  #bundle: CaBundle;
  readonly #opts: CertificateAuthorityOptions;

  constructor(bundle: CaBundle, opts: CertificateAuthorityOptions) {
    this.#bundle = bundle;
    this.#opts = opts;
  }

  /** Current credentials. */
  get bundle(): CaBundle {
    return this.#bundle;
  }

  /** Swaps to new credentials (issuer or trust anchors changed); later signings use them. */
  update(bundle: CaBundle): void {
    this.#bundle = bundle;
  }

  /** Verifies the CSR and issues a leaf; throws CsrError for a bad CSR. */
  sign(request: SignRequest): SignedCertificate {
    const { publicKey } = parseCsr(request.csrPem);
    return this.signPublicKey(publicKey, request);
  }

  /** Issues a leaf for an already-trusted public key (sentry's own serving identity). */
  signPublicKey(
    publicKey: import('node:crypto').KeyObject,
    request: Omit<SignRequest, 'csrPem'>,
  ): SignedCertificate {
    const bundle = this.#bundle;
    const issuer = bundle.issuerChain[0];
    if (issuer === undefined) throw new Error('CA has no issuer');
    const now = this.#opts.now();
    // Never outlive the issuer: a leaf valid past its issuer fails chain validation early.
    const issuerEnd = new Date(issuer.validTo).getTime();
    const notAfter = new Date(Math.min(now + (request.ttlMs ?? this.#opts.workloadTtlMs), issuerEnd));
    const leaf = createCertificate(
      {
        role: 'workload',
        uris: [request.spiffeId],
        dnsNames: request.dnsNames ?? [],
        notBefore: new Date(now - this.#opts.skewMs),
        notAfter,
        publicKey,
      },
      { certificate: issuer, privateKey: bundle.issuerKey },
    );
    return {
      leaf,
      certChainPem: certificatesToPem([leaf, ...bundle.issuerChain]),
      trustAnchorsPem: bundle.trustAnchors.map((c) => c.toString()),
      notAfter,
    };
  }
}
