/**
 * When to renew a workload certificate. Pure, so it is table-tested with an injected clock
 * (cert-manager style). Dapr ≥1.14 renews at 1/2 of NotBefore→NotAfter (dapr/kit crypto/spiffe,
 * `renewalDivisor = 2`); we add jitter so a fleet started together does not renew together.
 */

/** Fraction of the validity after which renewal starts. */
export const RENEWAL_FRACTION = 0.5;
/** Jitter spread, as a fraction of the validity, applied symmetrically around the renewal point. */
export const RENEWAL_JITTER_FRACTION = 0.1;

/**
 * Returns the instant (ms since epoch) to renew at.
 * - Normally `notBefore + validity * (0.5 ± 0.05)`, with `rand()` in [0, 1) picking the offset.
 * - Never later than `notAfter` minus 10% of validity, never before `now`.
 * - An already expired or zero-length certificate renews immediately (`now`).
 */
export function renewalTime(notBefore: number, notAfter: number, now: number, rand: () => number): number {
  const validity = notAfter - notBefore;
  if (!(validity > 0) || now >= notAfter) return now;
  const jitter = (rand() - 0.5) * RENEWAL_JITTER_FRACTION * validity;
  const target = notBefore + validity * RENEWAL_FRACTION + jitter;
  const latest = notAfter - validity * 0.1;
  return Math.max(now, Math.min(target, latest));
}

/**
 * Delay before the next attempt after `failures` consecutive failed requests: exponential from
 * `baseMs`, capped at `maxMs` (Dapr retries every 10 s), minus up to 20% jitter.
 */
export function retryDelay(failures: number, baseMs: number, maxMs: number, rand: () => number): number {
  const exp = Math.min(maxMs, baseMs * 2 ** Math.max(0, failures - 1));
  return Math.round(exp * (0.8 + 0.2 * rand()));
}
