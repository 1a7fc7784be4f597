import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

/**
 * Regression: importing `@kubernetes/client-node` with the component registry raised every
 * sidecar's idle RSS from ~80 to ~155 MiB and its start by ~0.7 s, though only a Kubernetes secret
 * store uses it. Backend clients are loaded with `import()` when their component is initialised;
 * this walks the compiled entry points' static imports and checks that none of them is reached.
 */

const SIDECAR_DIST = resolve(dirname(fileURLToPath(import.meta.url)), '../../../sidecar');
const ENTRY_POINTS = ['main.js', 'cli/main.js'];
/** Libraries a sidecar needs only when a component of theirs is loaded. */
const LAZY_LIBRARIES = ['@kubernetes/client-node', 'ioredis', 'better-sqlite3', 'pg', 'kafkajs', 'nats'];

/** Static `import … from`, `export … from` and bare `import '…'` specifiers of a compiled module. */
function staticSpecifiers(source: string): string[] {
  const found: string[] = [];
  for (const m of source.matchAll(/^\s*(?:import|export)\s[^;'"]*?\bfrom\s*['"]([^'"]+)['"]/gm))
    found.push(m[1] as string);
  for (const m of source.matchAll(/^\s*import\s*['"]([^'"]+)['"]/gm)) found.push(m[1] as string);
  return found;
}

/** Every package a module reaches through static imports, with the first path that reaches it. */
async function packagesReached(entry: string): Promise<Map<string, string>> {
  const packages = new Map<string, string>();
  const seen = new Set<string>();
  const queue: { file: string; via: string }[] = [{ file: entry, via: entry }];
  for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
    if (seen.has(next.file)) continue;
    seen.add(next.file);
    for (const spec of staticSpecifiers(await readFile(next.file, 'utf8'))) {
      if (spec.startsWith('.')) {
        const file = resolve(dirname(next.file), spec);
        queue.push({ file, via: `${next.via} → ${file.slice(SIDECAR_DIST.length + 1)}` });
      } else if (!spec.startsWith('node:')) {
        const name = spec.startsWith('@')
          ? spec.split('/').slice(0, 2).join('/')
          : (spec.split('/')[0] as string);
        if (!packages.has(name)) packages.set(name, next.via);
      }
    }
  }
  return packages;
}

describe('a sidecar starts without loading backend clients', () => {
  for (const entry of ENTRY_POINTS) {
    it(`${entry} reaches no backend client library through static imports`, async () => {
      const reached = await packagesReached(resolve(SIDECAR_DIST, entry));
      // The walk itself works: the registry's own libraries are found.
      assert.ok(reached.has('yaml'), `the walk found ${[...reached.keys()].join(', ')}`);
      for (const lib of LAZY_LIBRARIES)
        assert.equal(reached.get(lib), undefined, `${lib} is imported statically via ${reached.get(lib)}`);
    });
  }
});
