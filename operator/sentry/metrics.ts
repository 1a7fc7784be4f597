/**
 * Sentry's Prometheus metrics, named as in Dapr (pkg/sentry/monitoring), on a registry passed in.
 */

import type { Registry } from 'prom-client';
import { Counter, Gauge } from 'prom-client';

/** The metric handles sentry updates. */
export interface SentryMetrics {
  readonly signRequestReceived: Counter;
  readonly signSuccess: Counter;
  readonly signFailure: Counter<'reason'>;
  readonly issuerCertExpiry: Gauge;
  readonly rootCertExpiry: Gauge;
  readonly issuerCertChanged: Counter;
}

/** Registers sentry's metrics on `registry`. */
export function createSentryMetrics(registry: Registry): SentryMetrics {
  const registers = [registry];
  return {
    signRequestReceived: new Counter({
      name: 'dapr_sentry_cert_sign_request_received_total',
      help: 'The number of CSRs received.',
      registers,
    }),
    signSuccess: new Counter({
      name: 'dapr_sentry_cert_sign_success_total',
      help: 'The number of certificates issuances that have succeeded.',
      registers,
    }),
    signFailure: new Counter({
      name: 'dapr_sentry_cert_sign_failure_total',
      help: 'The number of errors occurred when signing the CSR.',
      labelNames: ['reason'],
      registers,
    }),
    issuerCertExpiry: new Gauge({
      name: 'dapr_sentry_issuercert_expiry_timestamp',
      help: 'The unix timestamp, in seconds, when the issuer/intermediate certificate will expire.',
      registers,
    }),
    rootCertExpiry: new Gauge({
      name: 'dapr_sentry_rootcert_expiry_timestamp',
      help: 'The unix timestamp, in seconds, when the earliest-expiring root certificate will expire.',
      registers,
    }),
    issuerCertChanged: new Counter({
      name: 'dapr_sentry_issuercert_changed_total',
      help: 'The number of issuer cert updates, when issuer cert or key is changed.',
      registers,
    }),
  };
}
