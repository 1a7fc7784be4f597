import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * A file or folder of the source tree that tsc does not compile (Go, Python and Java probes), by
 * its path from the repository root: the nearest folder above the compiled caller that holds it.
 * The compiled output may sit in `dist/` or in a deeper `.build/<name>/`, so a fixed `../../..`
 * from the caller would only be right for one of them.
 */
export function sourceTreePath(relative: string, from: string = import.meta.url): string {
  const start = dirname(fileURLToPath(from));
  for (let dir = start; ; ) {
    const candidate = join(dir, relative);
    if (existsSync(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`${relative} not found in any folder above ${start}`);
    dir = parent;
  }
}
