/**
 * Expiry warnings for the CA's own certificates: from 30 days before a root or the issuer
 * expires, every check logs a warning (Dapr logs hourly; sentry checks on every reload tick and
 * rate-limits here to once an hour per certificate).
 */
import type { CaBundle } from './ca-bundle.js';
import type { SentryLogger } from './logger.js';

/** Warning window before expiry. */
export const EXPIRY_WARNING_MS = 30 * 24 * 60 * 60 * 1000;
const WARN_EVERY_MS = 60 * 60 * 1000;

/** A certificate that expires within the warning window. */
export interface ExpiryWarning {
  readonly which: 'root' | 'issuer';
  readonly subject: string;
  readonly notAfter: Date;
  readonly daysLeft: number;
}

/** Pure: which CA certificates expire within 30 days of `now`. */
export function expiringCertificates(bundle: CaBundle, now: number): ExpiryWarning[] {
  const out: ExpiryWarning[] = [];
  const consider = (which: 'root' | 'issuer', subject: string, validTo: string): void => {
    const notAfter = new Date(validTo);
    const left = notAfter.getTime() - now;
    if (left <= EXPIRY_WARNING_MS)
      out.push({ which, subject, notAfter, daysLeft: Math.floor(left / 86_400_000) });
  };
  for (const root of bundle.trustAnchors) consider('root', root.subject, root.validTo);
  const issuer = bundle.issuerChain[0];
  if (issuer !== undefined) consider('issuer', issuer.subject, issuer.validTo);
  return out;
}

/** Logs a warning for each expiring certificate, at most hourly per certificate. */
export class ExpiryWarner {
  readonly #lastWarned = new Map<string, number>();
  readonly #logger: SentryLogger;

  constructor(logger: SentryLogger) {
    this.#logger = logger;
  }

  /** Checks `bundle` at `now` and warns about certificates within 30 days of expiry. */
  check(bundle: CaBundle, now: number): void {
    for (const w of expiringCertificates(bundle, now)) {
      const key = `${w.which}:${w.subject}:${w.notAfter.toISOString()}`;
      const last = this.#lastWarned.get(key);
      if (last !== undefined && now - last < WARN_EVERY_MS) continue;
      this.#lastWarned.set(key, now);
      this.#logger.warn(
        `${w.which} certificate expires in ${w.daysLeft} days; rotate it (see docs/mtls-rotation.md)`,
        {
          certificate: w.which,
          subject: w.subject,
          notAfter: w.notAfter.toISOString(),
        },
      );
    }
  }
}
