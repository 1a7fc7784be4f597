/**
 * Durations in Resiliency resources, decoded the way Dapr decodes them (dapr/kit config.Decode and
 * resiliency.parseDuration): a bare integer is milliseconds, anything else is a Go duration
 * (`1h2m3.5s`, `250ms`, `1.5s`). Note: not the component-metadata rule, where bare numbers are seconds.
 */

const UNIT_MS: Readonly<Record<string, number>> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  μs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};
const GO_DURATION = /^([-+]?)((?:(?:\d+\.?\d*|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+)$/;
const GO_PART = /(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h)/g;

/** Parses a Resiliency duration into milliseconds; `undefined` when it is not a duration. */
export function parseResiliencyDuration(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isInteger(value) ? value : undefined;
  if (typeof value !== 'string') return undefined;
  const text = value.trim();
  if (/^[-+]?\d+$/.test(text)) return Number(text);
  if (text === '0') return 0;
  const m = GO_DURATION.exec(text);
  if (!m) return undefined;
  let total = 0;
  for (const part of (m[2] ?? '').matchAll(GO_PART)) total += Number(part[1]) * (UNIT_MS[part[2] ?? ''] ?? 0);
  return m[1] === '-' ? -total : total;
}
