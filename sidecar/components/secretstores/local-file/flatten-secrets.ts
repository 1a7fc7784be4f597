/**
 * JSON → flat secret map, with components-contrib's `secretstores.local.file` semantics
 * (secretstores/local/file/filestore.go): nested objects join their keys with the separator,
 * arrays use their indexes as keys, and with `multiValued` each top-level object becomes one
 * secret whose own nested values are flattened into its key/value pairs.
 */

/** A flattened secret: a plain value, or (multiValued) a secret with several key/value pairs. */
export type FlatSecret = string | Readonly<Record<string, string>>;

/**
 * Stringifies a JSON leaf. Go's `fmt.Sprintf("%s", v)` prints non-strings as `%!s(float64=1)`; we
 * print numbers and booleans as their JSON text and null as '' instead of copying that artefact.
 */
function leafText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value === null) return '';
  return String(value);
}

function visit(
  value: unknown,
  path: readonly string[],
  separator: string,
  out: Record<string, string>,
): void {
  if (Array.isArray(value)) {
    for (const [index, item] of value.entries()) visit(item, [...path, String(index)], separator, out);
    return;
  }
  if (typeof value === 'object' && value !== null) {
    for (const [key, item] of Object.entries(value)) visit(item, [...path, key], separator, out);
    return;
  }
  const key = path.join(separator);
  // contrib refuses to overwrite a key that an earlier path already produced ("duplicate key").
  if (!Object.hasOwn(out, key)) out[key] = leafText(value);
}

/** Flattens every nested value of `json` into `path<sep>path` keys (the default, single-value mode). */
export function flattenSecrets(
  json: Readonly<Record<string, unknown>>,
  separator: string,
): Record<string, string> {
  const out: Record<string, string> = {};
  visit(json, [], separator, out);
  return out;
}

/**
 * multiValued mode: top-level strings stay single-value secrets, top-level objects become one secret
 * each with their contents flattened; other top-level values (numbers, arrays) are dropped, as in contrib.
 */
export function groupSecrets(
  json: Readonly<Record<string, unknown>>,
  separator: string,
): Record<string, FlatSecret> {
  const out: Record<string, FlatSecret> = {};
  for (const [name, value] of Object.entries(json)) {
    if (typeof value === 'string') out[name] = value;
    else if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
      out[name] = Object.freeze(flattenSecrets(value as Record<string, unknown>, separator));
    }
  }
  return out;
}

/** The key/value pairs a flat secret answers with: `{name: value}` for a single value. */
export function secretData(name: string, secret: FlatSecret): Record<string, string> {
  return typeof secret === 'string' ? { [name]: secret } : { ...secret };
}
