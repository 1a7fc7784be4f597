/**
 * The CLI's commands, their flags and help texts, and the dispatcher `runCli(argv, ctx)` that
 * `main.ts` calls. Bad usage prints a clear message plus a hint and resolves with status 1.
 */
import { RUNTIME_VERSION } from '../runtime/version.js';
import { type FlagSpec, formatFlags, type ParsedFlags, parseFlags } from './flag-parser.js';
import { LIST_FORMATS, type ListFormat, listApps } from './list-command.js';
import { type CliContext, type RunSettings, runApp } from './run-command.js';
import { runTemplate } from './run-template-runner.js';
import { stopApps, stopTemplate } from './stop-command.js';

const HELP_FLAG: FlagSpec = { type: 'boolean', short: 'h', help: 'show help for this command' };

/** Flags of `outrigger run`, named like the dapr CLI's. */
export const RUN_FLAGS: Readonly<Record<string, FlagSpec>> = {
  'app-id': { type: 'string', short: 'a', arg: '<id>', help: 'the app id (required)' },
  'app-port': { type: 'port', short: 'p', help: 'port the app listens on (omit if it serves nothing)' },
  'app-protocol': {
    type: 'string',
    short: 'P',
    values: ['http', 'https', 'grpc', 'grpcs', 'h2c'],
    arg: '<protocol>',
    help: 'protocol the sidecar uses to talk to the app (default http)',
  },
  'resources-path': {
    type: 'string',
    short: 'd',
    repeatable: true,
    aliases: ['components-path'],
    arg: '<dir>',
    help: 'folder of Component/Configuration/Resiliency/Subscription YAML (default: embedded defaults)',
  },
  'dapr-http-port': { type: 'port', short: 'H', help: 'sidecar HTTP API port (default: a free port)' },
  'dapr-grpc-port': { type: 'port', short: 'G', help: 'sidecar gRPC API port (default: a free port)' },
  'dapr-internal-grpc-port': {
    type: 'port',
    short: 'I',
    help: 'sidecar-to-sidecar gRPC port (default: a free port)',
  },
  'metrics-port': { type: 'port', short: 'M', help: 'Prometheus metrics port (default: a free port)' },
  config: { type: 'string', short: 'c', arg: '<file>', help: 'Configuration resource file' },
  'log-level': {
    type: 'string',
    values: ['debug', 'info', 'warn', 'error', 'fatal'],
    arg: '<level>',
    help: 'sidecar log level (default info)',
  },
  'enable-api-logging': { type: 'boolean', help: 'log every API call the app makes' },
  'run-file': {
    type: 'string',
    short: 'f',
    arg: '<dir|file>',
    help: 'run every app of a Multi-App Run template (a folder means its dapr.yaml, - reads stdin)',
  },
  kubernetes: { type: 'boolean', short: 'k', help: 'run the template on Kubernetes (not supported)' },
  help: HELP_FLAG,
};

/** Flags of `outrigger list`. */
export const LIST_FLAGS: Readonly<Record<string, FlagSpec>> = {
  output: {
    type: 'string',
    short: 'o',
    values: LIST_FORMATS,
    arg: '<format>',
    help: 'table (default) or json',
  },
  help: HELP_FLAG,
};

/** Flags of `outrigger stop`. */
export const STOP_FLAGS: Readonly<Record<string, FlagSpec>> = {
  'app-id': { type: 'string', short: 'a', repeatable: true, arg: '<id>', help: 'app id to stop' },
  'run-file': {
    type: 'string',
    short: 'f',
    arg: '<dir|file>',
    help: 'stop every app started by "outrigger run -f" from this template',
  },
  kubernetes: { type: 'boolean', short: 'k', help: 'stop a template run on Kubernetes (not supported)' },
  help: HELP_FLAG,
};

const USAGE = `outrigger: run apps with an Outrigger (Dapr-compatible) sidecar on this machine

Usage:
  outrigger run --app-id <id> [flags] -- <command> [args...]
  outrigger run -f <dir|dapr.yaml>
  outrigger list [--output table|json]
  outrigger stop --app-id <id>
  outrigger stop -f <dir|dapr.yaml>

Commands:
  run     start outriggerd and an app next to it
  list    show the apps started by "outrigger run"
  stop    stop an app started by "outrigger run"

Flags:
  -h, --help      show this help
  -v, --version   print the version

Environment:
  OUTRIGGER_HOME  folder for embedded defaults and the run registry (default ~/.outrigger)

Run "outrigger <command> --help" for a command's flags.
`;

const RUN_USAGE = `Usage: outrigger run --app-id <id> [flags] -- <command> [args...]
       outrigger run -f <dir|dapr.yaml>

Starts outriggerd on free ports, waits until it is ready, then starts the app with
DAPR_HTTP_PORT, DAPR_GRPC_PORT, APP_ID (and APP_PORT) in its environment. Ctrl-C stops both.
Without --resources-path the embedded defaults are used: state store "statestore" on SQLite
under $OUTRIGGER_HOME (~/.outrigger).

With -f, reads a Dapr Multi-App Run template (version, common, apps[] with appID, appDirPath,
appPort, command, env, resourcesPath, ...) and runs every app with its own sidecar. Logs go to
<appDirPath>/.dapr/logs. Ctrl-C or "outrigger stop -f <same path>" stops them all.

Flags:
${formatFlags(RUN_FLAGS)}
`;

const LIST_USAGE = `Usage: outrigger list [--output table|json]\n\nFlags:\n${formatFlags(LIST_FLAGS)}\n`;
const STOP_USAGE = `Usage: outrigger stop --app-id <id> [--app-id <id>...]\n       outrigger stop -f <dir|dapr.yaml>\n\nFlags:\n${formatFlags(STOP_FLAGS)}\n`;

// Dots separate app id and namespace in invocation targets, so an app id has none.
const APP_ID = /^[A-Za-z0-9][A-Za-z0-9_-]*$/;

function usageError(ctx: CliContext, messages: readonly string[], command: string): number {
  for (const m of messages) ctx.stderr.write(`outrigger: error: ${m}\n`);
  ctx.stderr.write(`Run "outrigger ${command}--help" for usage.\n`);
  return 1;
}

function validAppId(id: string): string | undefined {
  return APP_ID.test(id) ? undefined : `invalid --app-id "${id}": use letters, digits, "-" and "_" (no dots)`;
}

async function runCommand(argv: readonly string[], ctx: CliContext): Promise<number> {
  const parsed = parseFlags(argv, RUN_FLAGS, true);
  if (parsed.values.help === true) {
    ctx.stdout.write(RUN_USAGE);
    return 0;
  }
  const errors = [...parsed.errors];
  const runFile = parsed.values['run-file'];
  if (typeof runFile === 'string') return await runFileCommand(runFile, parsed, ctx);
  if (parsed.values.kubernetes === true)
    errors.push('-k/--kubernetes is only used with -f, and is not supported');
  const appId = parsed.values['app-id'];
  if (typeof appId !== 'string') errors.push('--app-id is required');
  else {
    const bad = validAppId(appId);
    if (bad !== undefined) errors.push(bad);
  }
  if (errors.length > 0) return usageError(ctx, errors, 'run ');
  const v = parsed.values;
  const settings: RunSettings = {
    appId: appId as string,
    resourcesPaths: (v['resources-path'] as string[] | undefined) ?? [],
    command: parsed.rest,
    ...(v['app-port'] === undefined ? {} : { appPort: v['app-port'] as number }),
    ...(v['app-protocol'] === undefined ? {} : { appProtocol: v['app-protocol'] as string }),
    ...(v['dapr-http-port'] === undefined ? {} : { httpPort: v['dapr-http-port'] as number }),
    ...(v['dapr-grpc-port'] === undefined ? {} : { grpcPort: v['dapr-grpc-port'] as number }),
    ...(v['dapr-internal-grpc-port'] === undefined
      ? {}
      : { internalGrpcPort: v['dapr-internal-grpc-port'] as number }),
    ...(v['metrics-port'] === undefined ? {} : { metricsPort: v['metrics-port'] as number }),
    ...(v.config === undefined ? {} : { config: v.config as string }),
    ...(v['log-level'] === undefined ? {} : { logLevel: v['log-level'] as string }),
    ...(v['enable-api-logging'] === true ? { enableApiLogging: true } : {}),
  };
  return await runApp(settings, ctx);
}

/**
 * `run -f`: like dapr, other run flags and a trailing command are ignored with a warning (they
 * belong in the template); `-k` is refused, as Outrigger does not deploy templates to Kubernetes.
 */
async function runFileCommand(runFile: string, parsed: ParsedFlags, ctx: CliContext): Promise<number> {
  const errors = [...parsed.errors];
  if (parsed.values.kubernetes === true)
    errors.push('-k/--kubernetes (running a template on Kubernetes) is not supported by outrigger');
  if (errors.length > 0) return usageError(ctx, errors, 'run ');
  const ignored = Object.keys(parsed.values).filter((k) => k !== 'run-file');
  if (ignored.length > 0)
    ctx.stdout.write(
      `outrigger: warning: these flags are ignored with --run-file; set them in the template instead: ${ignored.join(', ')}\n`,
    );
  if (parsed.rest.length > 0)
    ctx.stdout.write(
      `outrigger: warning: the command after the flags is ignored with --run-file: ${parsed.rest.join(' ')}\n`,
    );
  return await runTemplate(runFile, ctx);
}

async function listCommand(argv: readonly string[], ctx: CliContext): Promise<number> {
  const parsed = parseFlags(argv, LIST_FLAGS, false);
  if (parsed.values.help === true) {
    ctx.stdout.write(LIST_USAGE);
    return 0;
  }
  if (parsed.errors.length > 0) return usageError(ctx, parsed.errors, 'list ');
  return await listApps((parsed.values.output as ListFormat | undefined) ?? 'table', ctx);
}

async function stopCommand(argv: readonly string[], ctx: CliContext): Promise<number> {
  const parsed = parseFlags(argv, STOP_FLAGS, false);
  if (parsed.values.help === true) {
    ctx.stdout.write(STOP_USAGE);
    return 0;
  }
  const errors = [...parsed.errors];
  if (parsed.values.kubernetes === true)
    errors.push('-k/--kubernetes (stopping template runs on Kubernetes) is not supported by outrigger');
  const runFile = parsed.values['run-file'];
  if (typeof runFile === 'string' && errors.length === 0) {
    const ids = (parsed.values['app-id'] as string[] | undefined) ?? [];
    const status = await stopTemplate(runFile, ctx);
    return ids.length === 0 ? status : Math.max(status, await stopApps(ids, ctx));
  }
  const ids = (parsed.values['app-id'] as string[] | undefined) ?? [];
  if (ids.length === 0 && errors.length === 0) errors.push('--app-id or -f is required');
  for (const id of ids) {
    const bad = validAppId(id);
    if (bad !== undefined) errors.push(bad);
  }
  if (errors.length > 0) return usageError(ctx, errors, 'stop ');
  return await stopApps(ids, ctx);
}

/** Dispatches `outrigger <argv>`; resolves with the process exit status. */
export async function runCli(argv: readonly string[], ctx: CliContext): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case undefined:
    case '-h':
    case '--help':
      ctx.stdout.write(USAGE);
      return 0;
    case 'help': {
      const topic = rest[0];
      const text =
        topic === 'run' ? RUN_USAGE : topic === 'list' ? LIST_USAGE : topic === 'stop' ? STOP_USAGE : USAGE;
      ctx.stdout.write(text);
      return 0;
    }
    case '-v':
    case '--version':
    case 'version':
      ctx.stdout.write(`outrigger CLI version: ${RUNTIME_VERSION}\nRuntime version: ${RUNTIME_VERSION}\n`);
      return 0;
    case 'run':
      return await runCommand(rest, ctx);
    case 'list':
      return await listCommand(rest, ctx);
    case 'stop':
      return await stopCommand(rest, ctx);
    default:
      return usageError(ctx, [`unknown command "${command}"`], '');
  }
}
