#!/usr/bin/env node
/** Entry of the `outrigger` CLI (bin): `run`, `list`, `stop`, like the dapr CLI in self-hosted mode. */
import { runCli } from './commands.js';

let status: number;
try {
  status = await runCli(process.argv.slice(2), {
    stdin: process.stdin,
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    cwd: process.cwd(),
  });
} catch (err) {
  // e.g. an unwritable OUTRIGGER_HOME: one clear line rather than a stack trace.
  process.stderr.write(`outrigger: error: ${(err as Error).message}\n`);
  status = 1;
}
// Let piped output drain before exiting with the app's status.
process.exitCode = status;
process.stdout.write('', () => process.exit(status));
