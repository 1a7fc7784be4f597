/**
 * A small flag parser for the CLI's subcommands, shaped like the dapr CLI's cobra flags: `--name
 * value`, `--name=value`, `-x value`, boolean switches, repeatable flags, and the app command after
 * `--` (or from the first non-flag argument on). Every problem is reported, none thrown.
 */

/** How one flag takes its value. */
export interface FlagSpec {
  readonly type: 'string' | 'port' | 'boolean';
  /** One-letter alias, without the dash. */
  readonly short?: string;
  /** May be given several times (values collect into an array). */
  readonly repeatable?: boolean;
  /** Allowed values for a string flag. */
  readonly values?: readonly string[];
  /** Other long names accepted (compatibility aliases). */
  readonly aliases?: readonly string[];
  /** One line for `--help`. */
  readonly help: string;
  /** Placeholder shown in `--help`, e.g. `<port>`. */
  readonly arg?: string;
}

/** A parsed flag value. */
export type FlagValue = string | number | boolean | string[];

/** What `parseFlags` returns. */
export interface ParsedFlags {
  readonly values: Readonly<Record<string, FlagValue>>;
  /** Arguments after the flags: the app command for `run`. */
  readonly rest: readonly string[];
  /** Problems, each a full sentence; empty when the flags are fine. */
  readonly errors: readonly string[];
}

function lookup(specs: Readonly<Record<string, FlagSpec>>, token: string): [string, FlagSpec] | undefined {
  for (const [name, spec] of Object.entries(specs)) {
    if (token === `--${name}` || (spec.short !== undefined && token === `-${spec.short}`))
      return [name, spec];
    if (spec.aliases?.some((a) => token === `--${a}`)) return [name, spec];
  }
  return undefined;
}

function convert(name: string, spec: FlagSpec, raw: string, errors: string[]): string | number | undefined {
  if (spec.type === 'port') {
    const n = Number(raw);
    if (!/^\d+$/.test(raw) || n < 1 || n > 65535) {
      errors.push(`--${name} must be a port number between 1 and 65535, got "${raw}"`);
      return undefined;
    }
    return n;
  }
  if (spec.values !== undefined && !spec.values.includes(raw)) {
    errors.push(`--${name} must be one of ${spec.values.join(', ')}, got "${raw}"`);
    return undefined;
  }
  return raw;
}

/** Parses `argv` against `specs`; `allowRest` lets a command follow the flags. */
export function parseFlags(
  argv: readonly string[],
  specs: Readonly<Record<string, FlagSpec>>,
  allowRest: boolean,
): ParsedFlags {
  const values: Record<string, FlagValue> = {};
  const errors: string[] = [];
  let i = 0;
  for (; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg === '--') {
      i++;
      break;
    }
    if (!arg.startsWith('-') || arg === '-') break;
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const token = eq === -1 ? arg : arg.slice(0, eq);
    const found = lookup(specs, token);
    if (found === undefined) {
      errors.push(`unknown flag ${token}`);
      continue;
    }
    const [name, spec] = found;
    let raw: string | undefined;
    if (spec.type === 'boolean') {
      raw = eq === -1 ? 'true' : arg.slice(eq + 1);
      if (raw !== 'true' && raw !== 'false') {
        errors.push(`--${name} takes true or false, got "${raw}"`);
        continue;
      }
      values[name] = raw === 'true';
      continue;
    }
    if (eq !== -1) raw = arg.slice(eq + 1);
    else {
      raw = argv[i + 1];
      if (raw === undefined || (raw.startsWith('-') && raw.length > 1)) {
        errors.push(`flag --${name} needs a value`);
        continue;
      }
      i++;
    }
    const value = convert(name, spec, raw, errors);
    if (value === undefined) continue;
    if (spec.repeatable) {
      const list = (values[name] as string[] | undefined) ?? [];
      list.push(String(value));
      values[name] = list;
    } else if (values[name] !== undefined) {
      errors.push(`--${name} was given more than once`);
    } else {
      values[name] = value;
    }
  }
  const rest = argv.slice(i);
  if (!allowRest && rest.length > 0) errors.push(`unexpected argument "${rest[0]}"`);
  return { values, rest, errors };
}

/** Renders the flags section of a help text. */
export function formatFlags(specs: Readonly<Record<string, FlagSpec>>): string {
  const rows = Object.entries(specs).map(([name, spec]) => {
    const short = spec.short === undefined ? '    ' : `-${spec.short}, `;
    const arg =
      spec.type === 'boolean' ? '' : ` ${spec.arg ?? (spec.type === 'port' ? '<port>' : '<value>')}`;
    return [`  ${short}--${name}${arg}`, spec.help + (spec.repeatable ? ' (repeatable)' : '')] as const;
  });
  const width = Math.max(...rows.map(([left]) => left.length)) + 2;
  return rows.map(([left, right]) => left.padEnd(width) + right).join('\n');
}
