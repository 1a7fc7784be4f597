/**
 * `npm test`: provisions the real services (test/env/ensure), then runs every compiled
 * `*.test.js` under dist/test with node's built-in runner. Arguments filter test files by
 * substring; `--no-env` skips provisioning (for unit and in-memory suites only).
 */
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

function findTests(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir)) {
    const full = join(dir, entry);
    if (statSync(full).isDirectory()) out.push(...findTests(full));
    else if (entry.endsWith('.test.js')) out.push(full);
  }
  return out.sort();
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const skipEnv = args.includes('--no-env');
  const filters = args.filter((a) => !a.startsWith('--'));
  if (!skipEnv) {
    const { ensureAll } = await import('./env/ensure.js');
    await ensureAll();
  }
  const files = findTests(here).filter(
    (f) => filters.length === 0 || filters.some((flt) => relative(here, f).includes(flt)),
  );
  if (files.length === 0) {
    console.error(`no test files matched ${filters.join(' ') || '(all)'}`);
    return 1;
  }
  const concurrency = process.env.OUTRIGGER_TEST_CONCURRENCY ?? '2';
  const child = spawn(
    process.execPath,
    [
      '--enable-source-maps',
      '--test',
      `--test-concurrency=${concurrency}`,
      '--test-timeout=600000',
      ...files,
    ],
    { stdio: 'inherit' },
  );
  return await new Promise<number>((resolve) =>
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0))),
  );
}

process.exitCode = await main();
