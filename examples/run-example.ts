/**
 * What `npm start` runs: the order app under `outrigger run` on embedded defaults (state store
 * "statestore" on SQLite under ~/.outrigger, or $OUTRIGGER_HOME), exiting with the app's status.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root: the nearest folder above this file whose package.json names `outrigger`. */
function repoRoot(from: string = dirname(fileURLToPath(import.meta.url))): string {
  for (let dir = from; ; dir = dirname(dir)) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'outrigger')
      return dir;
    if (dirname(dir) === dir) throw new Error(`no outrigger package.json above ${from}`);
  }
}

const root = repoRoot();
const cli = fileURLToPath(new URL('../sidecar/cli/main.js', import.meta.url));
const app = join(root, 'examples', 'order-app', 'app.mjs');
const child = spawn(process.execPath, [cli, 'run', '--app-id', 'order-app', '--', process.execPath, app], {
  cwd: root,
  stdio: 'inherit',
});
// Ctrl-C reaches the CLI directly (same terminal process group) and it stops the app and the
// sidecar; forwarding SIGINT as well would count as a second Ctrl-C (force kill). SIGTERM is ours alone.
process.on('SIGINT', () => {});
process.on('SIGTERM', () => child.kill('SIGTERM'));
child.once('exit', (code, signal) => {
  process.exit(code ?? (signal === null ? 1 : 130));
});
