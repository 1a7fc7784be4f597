/**
 * Diagnostics channels of the workload identity. Metrics (e.g. a certificate-expiry gauge) and logs
 * subscribe; this module never imports prom-client.
 */
import diagnosticsChannel from 'node:diagnostics_channel';

/** Channels published by sidecar/security. */
export const securityChannels = {
  /** A new workload certificate is in use: {@link CertificateIssuedEvent}. */
  certificateIssued: diagnosticsChannel.channel('outrigger:security:certificate'),
  /** A certificate request failed and will be retried: {@link CertificateRequestFailedEvent}. */
  certificateRequestFailed: diagnosticsChannel.channel('outrigger:security:certificate-failed'),
  /** A key or CSR for a certificate request could not be made: {@link IdentityInitFailedEvent}. */
  identityInitFailed: diagnosticsChannel.channel('outrigger:security:identity-init-failed'),
  /** The trust bundle changed: {@link TrustBundleChangedEvent}. */
  trustBundleChanged: diagnosticsChannel.channel('outrigger:security:trust-bundle'),
} as const;

/** Payload of `certificateIssued`; `expiryTimestampSeconds` feeds the expiry metric. */
export interface CertificateIssuedEvent {
  readonly spiffeId: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly expiryTimestampSeconds: number;
  /** When the next renewal is planned. */
  readonly renewAt: Date;
  /** False for the sidecar's first certificate, true for a rotation. */
  readonly rotation: boolean;
}

/** Payload of `certificateRequestFailed`. */
export interface CertificateRequestFailedEvent {
  readonly error: string;
  /** daprd's reason label: `sentry_conn` (sentry not reached) or `sign` (sentry refused). */
  readonly reason: 'sentry_conn' | 'sign';
  readonly failures: number;
  readonly retryInMs: number;
  /** Expiry of the certificate still being served, if any. */
  readonly currentNotAfter: Date | null;
}

/** Payload of `identityInitFailed`; the reason is daprd's label (`prikeygen`, `csr`). */
export interface IdentityInitFailedEvent {
  readonly reason: 'prikeygen' | 'csr';
  readonly error: string;
}

/** Payload of `trustBundleChanged`. */
export interface TrustBundleChangedEvent {
  readonly roots: number;
  readonly source: 'initial' | 'file' | 'sentry' | 'callback';
}
