/**
 * A component's metadata schema: which `spec.metadata` fields it takes, their types, defaults and
 * rules. The loader validates every component against its schema before `init`, reporting every
 * problem at once; components then read typed, frozen values and never re-check.
 */

/** The kinds of value a metadata field may hold. Durations accept Go syntax (`1m30s`) or plain seconds. */
export type FieldType = 'string' | 'integer' | 'number' | 'boolean' | 'duration' | 'enum';

/** One metadata field. */
export interface FieldSpec {
  readonly type: FieldType;
  readonly required?: boolean;
  readonly default?: string | number | boolean;
  /** Allowed values for `enum`. */
  readonly values?: readonly string[];
  /** Other names accepted for this field (Dapr has many compatibility aliases). */
  readonly aliases?: readonly string[];
  readonly min?: number;
  readonly max?: number;
  /** One line shown in errors and docs. */
  readonly description?: string;
  /** Treat as a secret in logs. */
  readonly sensitive?: boolean;
}

/** A component's schema: named fields; unknown fields are kept as strings (Dapr ignores them). */
export type MetadataSchema = Readonly<Record<string, FieldSpec>>;

/** A validated metadata value. Durations are milliseconds. */
export type MetadataValue = string | number | boolean;

/** Validated metadata: every schema field with a value or default, plus unknown fields as strings. */
export type ValidatedMetadata = Readonly<Record<string, MetadataValue>>;

/** One rule a metadata value broke. */
export interface MetadataProblem {
  readonly field: string;
  readonly rule: string;
}

/** Thrown when metadata does not satisfy a schema; lists every problem. */
export class MetadataValidationError extends Error {
  override readonly name = 'MetadataValidationError';
  readonly problems: readonly MetadataProblem[];
  constructor(problems: readonly MetadataProblem[]) {
    super(problems.map((p) => `field "${p.field}": ${p.rule}`).join('; '));
    this.problems = problems;
  }
}

const GO_DURATION = /^(-?)((?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h))+)$/;
const GO_DURATION_PART = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g;
const UNIT_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/** Parses a Go duration (`1h2m3.5s`, `250ms`) or a bare number of seconds into milliseconds. */
export function parseDuration(text: string): number | undefined {
  const trimmed = text.trim();
  if (/^-?\d+(\.\d+)?$/.test(trimmed)) return Number(trimmed) * 1000;
  if (trimmed === '0') return 0;
  const m = GO_DURATION.exec(trimmed);
  if (!m) return undefined;
  let total = 0;
  for (const part of (m[2] ?? '').matchAll(GO_DURATION_PART)) {
    total += Number(part[1]) * (UNIT_MS[part[2] ?? 's'] ?? 0);
  }
  return m[1] === '-' ? -total : total;
}

const TRUE = new Set(['true', '1', 'yes', 'y', 'on']);
const FALSE = new Set(['false', '0', 'no', 'n', 'off', '']);

function coerce(
  name: string,
  spec: FieldSpec,
  raw: string,
  problems: MetadataProblem[],
): MetadataValue | undefined {
  switch (spec.type) {
    case 'string':
      return raw;
    case 'boolean': {
      const v = raw.trim().toLowerCase();
      if (TRUE.has(v)) return true;
      if (FALSE.has(v)) return false;
      problems.push({ field: name, rule: `must be a boolean, got "${raw}"` });
      return undefined;
    }
    case 'integer':
    case 'number': {
      const n = Number(raw.trim());
      if (raw.trim() === '' || !Number.isFinite(n) || (spec.type === 'integer' && !Number.isInteger(n))) {
        problems.push({
          field: name,
          rule: `must be ${spec.type === 'integer' ? 'an integer' : 'a number'}, got "${raw}"`,
        });
        return undefined;
      }
      if (spec.min !== undefined && n < spec.min)
        problems.push({ field: name, rule: `must be >= ${spec.min}` });
      if (spec.max !== undefined && n > spec.max)
        problems.push({ field: name, rule: `must be <= ${spec.max}` });
      return n;
    }
    case 'duration': {
      const ms = parseDuration(raw);
      if (ms === undefined) {
        problems.push({ field: name, rule: `must be a duration like "30s" or "1m", got "${raw}"` });
        return undefined;
      }
      return ms;
    }
    case 'enum': {
      const values = spec.values ?? [];
      if (!values.includes(raw)) {
        problems.push({ field: name, rule: `must be one of ${values.join(', ')}, got "${raw}"` });
        return undefined;
      }
      return raw;
    }
  }
}

/**
 * Validates raw string metadata (secret refs already resolved) against a schema.
 * Field names match case-insensitively, as components-contrib's metadata decoder does.
 */
export function validateMetadata(
  schema: MetadataSchema,
  raw: Readonly<Record<string, string>>,
): ValidatedMetadata {
  const problems: MetadataProblem[] = [];
  const byLower = new Map<string, string>();
  for (const key of Object.keys(raw)) byLower.set(key.toLowerCase(), key);
  const out: Record<string, MetadataValue> = {};
  const consumed = new Set<string>();
  for (const [name, spec] of Object.entries(schema)) {
    let key: string | undefined;
    for (const candidate of [name, ...(spec.aliases ?? [])]) {
      key = byLower.get(candidate.toLowerCase());
      if (key !== undefined) break;
    }
    if (key === undefined || (raw[key] === '' && spec.type !== 'string')) {
      if (spec.required) problems.push({ field: name, rule: 'is required' });
      else if (spec.default !== undefined) {
        out[name] =
          spec.type === 'duration' && typeof spec.default === 'string'
            ? (parseDuration(spec.default) ?? 0)
            : spec.default;
      }
      if (key !== undefined) consumed.add(key);
      continue;
    }
    consumed.add(key);
    const rawValue = raw[key] ?? '';
    if (spec.required && rawValue.trim() === '') {
      problems.push({ field: name, rule: 'is required' });
      continue;
    }
    const value = coerce(name, spec, rawValue, problems);
    if (value !== undefined) out[name] = value;
  }
  for (const [key, value] of Object.entries(raw)) if (!consumed.has(key)) out[key] = value;
  if (problems.length > 0) throw new MetadataValidationError(problems);
  return Object.freeze(out);
}
