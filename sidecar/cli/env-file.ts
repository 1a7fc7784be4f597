/**
 * A `.env` file reader for the run template's `common.envFile`, covering what the dapr CLI's
 * godotenv reads in practice: `KEY=value` lines, an optional `export ` in front, `#` comments,
 * and single- or double-quoted values (double quotes expand `\n`, `\t`, `\"` and `\\`).
 */

const LINE = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*[=:]\s*(.*)$/;

/** The closing quote's index, skipping backslash-escaped characters inside double quotes. */
function closingQuote(value: string, quote: string): number {
  for (let i = 1; i < value.length; i++) {
    if (quote === '"' && value[i] === '\\') i++;
    else if (value[i] === quote) return i;
  }
  return -1;
}

function unquote(raw: string): string {
  const value = raw.trim();
  const quote = value[0];
  if ((quote === '"' || quote === "'") && value.length >= 2) {
    const end = closingQuote(value, quote);
    const inner = end === -1 ? value.slice(1) : value.slice(1, end);
    if (quote === "'") return inner;
    return inner.replace(/\\([nt"\\])/g, (_, c: string) =>
      c === 'n' ? '\n' : c === 't' ? '\t' : c === '"' ? '"' : '\\',
    );
  }
  // An unquoted value ends at " #" (an inline comment).
  const hash = value.search(/\s#/);
  return (hash === -1 ? value : value.slice(0, hash)).trim();
}

/**
 * Parses `.env` text into a map; a line that is neither blank, a comment nor `KEY=value` is
 * reported by its number.
 */
export function parseEnvFile(text: string): { env: Record<string, string>; badLines: number[] } {
  const env: Record<string, string> = {};
  const badLines: number[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? '';
    if (line.trim() === '' || line.trim().startsWith('#')) continue;
    const m = LINE.exec(line);
    if (m === null) {
      badLines.push(i + 1);
      continue;
    }
    env[m[1] as string] = unquote(m[2] ?? '');
  }
  return { env, badLines };
}
