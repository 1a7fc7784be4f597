#!/usr/bin/env node
// First: V8 settings must be in place before the rest of the sidecar loads.
import './runtime/v8-tuning.js';
import { createRegistry } from './components/registry.js';
import { createLogger } from './observability/logger.js';
import { parseFlags } from './runtime/flags.js';
import { stableOrFreePort } from './runtime/ports.js';
import { Runtime } from './runtime/runtime.js';
import { RUNTIME_VERSION } from './runtime/version.js';
import { waitUntilOutboundReady } from './runtime/wait-command.js';
import { formatProblem, ResourceError } from './spec/problems.js';

/**
 * `outriggerd`: flags → frozen options → runtime. Exit codes: 0 after a graceful shutdown (SIGTERM,
 * SIGINT, `POST /v1.0/shutdown`), 1 for bad flags or a failed start.
 */
async function main(): Promise<number> {
  const parsed = parseFlags(process.argv.slice(2), process.env);
  switch (parsed.kind) {
    case 'help':
      process.stdout.write(`${parsed.text}\n`);
      return 0;
    case 'version':
      process.stdout.write(`${RUNTIME_VERSION}\n`);
      return 0;
    case 'build-info':
      // daprd's three lines; Outrigger builds carry no git stamp, so those two are empty.
      process.stdout.write(`Version: ${RUNTIME_VERSION}\nGit Commit: \nGit Version: \n`);
      return 0;
    case 'wait':
      await waitUntilOutboundReady(parsed.daprHttpPort);
      return 0;
    case 'errors':
      for (const e of parsed.errors) process.stderr.write(`outriggerd: ${e}\n`);
      process.stderr.write('Run outriggerd --help for the list of flags.\n');
      return 1;
  }
  let options = parsed.options;
  if (options.daprInternalGrpcPortIsStable) {
    const port = await stableOrFreePort(options.daprInternalGrpcPort);
    if (port !== options.daprInternalGrpcPort)
      options = Object.freeze({ ...options, daprInternalGrpcPort: port });
  }
  const logger = createLogger({ level: options.logLevel, json: options.logAsJson, appId: options.appId });
  // Never crash on a bad request: log what escaped and keep serving.
  process.on('uncaughtException', (err) => logger.error(`uncaught exception: ${err.stack ?? err.message}`));
  process.on('unhandledRejection', (reason) =>
    logger.error(
      `unhandled rejection: ${reason instanceof Error ? (reason.stack ?? reason.message) : String(reason)}`,
    ),
  );

  const runtime = new Runtime(options, { logger, registry: createRegistry(), env: process.env });
  let exiting = false;
  const stop = (reason: string): void => {
    if (exiting) return;
    exiting = true;
    // Last resort if a component's close hangs: the drain has its grace period, closing gets 10 s more.
    setTimeout(
      () => {
        logger.error('graceful shutdown did not finish in time; exiting');
        process.exit(1);
      },
      (options.blockShutdownMs ?? 0) + options.gracefulShutdownMs + 10_000,
    ).unref();
    runtime.shutdown(reason).then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error(`error during shutdown: ${(err as Error).message}`);
        process.exit(1);
      },
    );
  };
  runtime.onShutdownRequest(stop);
  process.once('SIGTERM', () => stop('received SIGTERM'));
  process.once('SIGINT', () => stop('received SIGINT'));
  try {
    await runtime.start();
  } catch (err) {
    // A signal during start: the stop handler finishes the shutdown and exits.
    if (exiting) return -1;
    if (err instanceof ResourceError) {
      logger.error(`Fatal error from runtime: ${err.problems.length} invalid resource problem(s)`);
      for (const p of err.problems) logger.error(`invalid resource: ${formatProblem(p)}`);
    } else logger.error(`Fatal error from runtime: ${(err as Error).message}`);
    return 1;
  }
  return -1;
}

const code = await main();
if (code >= 0) process.exit(code);
