/**
 * Byte sizes as daprd reads them: `--max-body-size` is a Kubernetes resource quantity (`4Mi`,
 * `512Ki`, `16M`, `1G`, plain bytes). We also accept `KB`/`MB`/`GB` (decimal, like `k`/`M`/`G`)
 * because users type them; daprd would reject those.
 */

const MULTIPLIERS: Readonly<Record<string, number>> = {
  '': 1,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  k: 1e3,
  K: 1e3,
  KB: 1e3,
  M: 1e6,
  MB: 1e6,
  G: 1e9,
  GB: 1e9,
  T: 1e12,
};

const QUANTITY = /^(\d+(?:\.\d+)?)([A-Za-z]*)$/;

/** Parses a byte quantity into a whole number of bytes; undefined when malformed. */
export function parseByteQuantity(text: string): number | undefined {
  const m = QUANTITY.exec(text.trim());
  if (!m) return undefined;
  const multiplier = MULTIPLIERS[m[2] ?? ''];
  if (multiplier === undefined) return undefined;
  const bytes = Number(m[1]) * multiplier;
  if (!Number.isFinite(bytes) || !Number.isSafeInteger(Math.ceil(bytes))) return undefined;
  return Math.ceil(bytes);
}
