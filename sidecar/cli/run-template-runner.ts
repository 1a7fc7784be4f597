/**
 * `outrigger run -f <dir|file>`: the dapr CLI's Multi-App Run (dapr/cli cmd/run.go
 * `executeRun`). Apps start one after the other, in template order, each with its sidecar on free
 * ports (unless the template fixes them). Each is listed in the run registry with the template's
 * path, so `outrigger list` shows it and `outrigger stop -f` finds it. If an app exits, the others
 * keep running, as with dapr; Ctrl-C / SIGTERM (or `outrigger stop -f`) stops all apps, then all
 * sidecars, gracefully. If one app cannot start, everything started so far is stopped and the CLI
 * exits with status 1, as dapr's `exitWithError`.
 */
import { existsSync } from 'node:fs';
import { exitStatus } from './child-process.js';
import { ensureDefaults, resolveHome } from './home.js';
import { logsDir } from './log-file.js';
import { freePorts } from './ports.js';
import { claimEntry, removeEntry, removeEntrySync, writeEntry } from './registry.js';
import { APP_GRACE_MS, type CliContext, SIDECAR_GRACE_MS, settle, sidecarEntry } from './run-command.js';
import { loadRunTemplate, parseRunTemplate, type RunTemplate } from './run-template-parser.js';
import { resolveTemplatePath, stdinTemplatePath, TemplateError } from './run-template-path.js';
import { type SidecarPorts, TemplateAppRun, type TemplateRunContext } from './template-app-run.js';

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Parses `-f <arg>` (`-`: from stdin, paths relative to the cwd, as `cat t.yaml | envsubst | dapr
 * run -f -`); prints every problem and resolves undefined when the template is unusable.
 */
export async function readTemplate(arg: string, ctx: CliContext): Promise<RunTemplate | undefined> {
  try {
    if (arg === '-') {
      if (ctx.stdin === undefined) throw new TemplateError(['-f -: no stdin to read the template from']);
      return parseRunTemplate(await readAll(ctx.stdin), stdinTemplatePath(ctx.cwd));
    }
    return loadRunTemplate(resolveTemplatePath(arg, ctx.cwd));
  } catch (err) {
    if (!(err instanceof TemplateError)) throw err;
    for (const p of err.problems) ctx.stderr.write(`outrigger: error: ${p}\n`);
    return undefined;
  }
}

/** Free ports for every sidecar port the template leaves open, distinct from all fixed ones. */
async function assignPorts(template: RunTemplate): Promise<SidecarPorts[]> {
  const fixed = new Set<number>();
  for (const a of template.apps)
    for (const p of [a.appPort, a.httpPort, a.grpcPort, a.internalGrpcPort, a.metricsPort])
      if (p !== undefined) fixed.add(p);
  const free = await freePorts(template.apps.length * 4, fixed);
  const next = (): number => free.shift() as number;
  return template.apps.map((a) => ({
    http: a.httpPort ?? next(),
    grpc: a.grpcPort ?? next(),
    internal: a.internalGrpcPort ?? next(),
    metrics: a.metricsPort ?? next(),
  }));
}

/** Runs every app of the template at `arg`; resolves with the CLI's exit status. */
export async function runTemplate(arg: string, ctx: CliContext): Promise<number> {
  const say = (line: string): void => {
    ctx.stdout.write(`outrigger: ${line}\n`);
  };
  const warn = (line: string): void => {
    ctx.stderr.write(`outrigger: error: ${line}\n`);
  };
  const template = await readTemplate(arg, ctx);
  if (template === undefined) return 1;
  for (const w of template.warnings) ctx.stderr.write(`outrigger: warning: ${w}\n`);
  if (!existsSync(sidecarEntry())) {
    warn(`outriggerd not found at ${sidecarEntry()}; build the project first (npm run build)`);
    return 1;
  }
  const home = resolveHome(ctx.env);
  const needsDefaults = template.apps.some((a) => a.resourcesPaths.length === 0);
  const defaultResources = needsDefaults ? [await ensureDefaults(home)] : [];
  const run: TemplateRunContext = { ctx, home, template, defaultResources, started: new Date() };
  const ports = await assignPorts(template);
  const runs = template.apps.map((app, i) => new TemplateAppRun(app, ports[i] as SidecarPorts, run));

  const claimed: TemplateAppRun[] = [];
  for (const r of runs) {
    const holder = await claimEntry(home.runDir, r.entry());
    if (holder !== undefined) {
      for (const c of claimed) await removeEntry(home.runDir, c.app.appId, process.pid);
      warn(
        `an app with id "${r.app.appId}" is already running (outrigger pid ${holder.cliPid}); stop it with: outrigger stop --app-id ${r.app.appId}`,
      );
      return 1;
    }
    claimed.push(r);
  }

  let stopping = false;
  let allGone = false;
  let wake: () => void = () => {};
  const done = new Promise<void>((r) => {
    wake = r;
  });
  let forwarded: NodeJS.Signals = 'SIGTERM';
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) {
      // A second Ctrl-C: stop waiting for graceful shutdown.
      for (const r of runs) {
        r.process?.signal('SIGKILL');
        r.sidecar?.signal('SIGKILL');
      }
      return;
    }
    stopping = true;
    forwarded = signal === 'SIGINT' ? 'SIGINT' : 'SIGTERM';
    say(`received ${signal}: stopping all apps of ${template.path}`);
    wake();
  };
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  for (const sig of signals) process.on(sig, onSignal);
  const onExit = (): void => {
    // Last resort if the CLI dies with children still up (e.g. an uncaught error).
    for (const r of runs) {
      r.process?.signal('SIGKILL');
      r.sidecar?.signal('SIGTERM');
      removeEntrySync(home.runDir, r.app.appId, process.pid);
    }
  };
  process.once('exit', onExit);

  /** An app that ends leaves the others running (dapr's run -f); its sidecar stays too. */
  const watch = (r: TemplateAppRun): void => {
    void r.process?.exited.then((exit) => {
      if (!stopping) say(`app "${r.app.appId}" exited with status ${exitStatus(exit)}`);
    });
    void r.sidecar?.exited.then(async (exit) => {
      if (stopping) return;
      const status = exitStatus(exit);
      (status === 0 ? say : warn)(
        `outriggerd for app "${r.app.appId}" exited with status ${status}; stopping that app`,
      );
      await r.process?.stop(forwarded, APP_GRACE_MS);
      await removeEntry(home.runDir, r.app.appId, process.pid);
      if (runs.every((o) => o.sidecar !== undefined && !o.sidecar.running)) {
        allGone = true;
        wake();
      }
    });
  };

  let status = 0;
  try {
    for (const r of runs) {
      if (stopping) break;
      say(`validating config and starting app "${r.app.appId}" in ${r.app.appDirPath}`);
      say(`app "${r.app.appId}" resources: ${r.resourcesPaths.join(', ')}`);
      const problem = (await r.startSidecar(() => stopping)) ?? (stopping ? undefined : await r.startApp());
      if (problem !== undefined) {
        warn(problem);
        status = 1;
        break;
      }
      if (stopping) break;
      await writeEntry(home.runDir, r.entry());
      watch(r);
      const { http, grpc } = r.ports;
      say(`started outriggerd with app id "${r.app.appId}": HTTP port ${http}, gRPC port ${grpc}`);
      if (r.app.command.length === 0) say(`no application command found for app "${r.app.appId}"`);
      say(`writing log files to directory: ${logsDir(r.app.appDirPath)}`);
    }
    if (status === 0 && !stopping) {
      say(`you're up and running! ${runs.length} apps of ${template.path}; Ctrl-C stops them all`);
      await done;
      if (allGone && !stopping) {
        warn('every outriggerd of the template has exited');
        status = 1;
      }
    }
    stopping = true;
    await shutdown();
    return status;
  } finally {
    for (const sig of signals) process.off(sig, onSignal);
    process.off('exit', onExit);
    for (const r of runs) await removeEntry(home.runDir, r.app.appId, process.pid);
    await Promise.all(runs.map((r) => r.closeLogs()));
  }

  /** Stops all apps, then all sidecars (SIGTERM: they drain), and flushes their output. */
  async function shutdown(): Promise<void> {
    await Promise.all(
      runs.map(async (r) => {
        if (r.process?.running) {
          await r.process.stop(forwarded, APP_GRACE_MS);
          say(`app "${r.app.appId}" stopped`);
        }
      }),
    );
    await Promise.all(
      runs.map(async (r) => {
        if (r.sidecar?.running) {
          const exit = await r.sidecar.stop('SIGTERM', SIDECAR_GRACE_MS);
          say(`outriggerd for app "${r.app.appId}" stopped (status ${exitStatus(exit)})`);
        }
      }),
    );
    await settle(runs.flatMap((r) => r.outputs));
  }
}
