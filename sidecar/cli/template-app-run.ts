/**
 * One app of a run template with its sidecar, as the dapr CLI's `startDaprdAndAppProcesses`
 * (dapr/cli cmd/run.go): outriggerd starts in `appDirPath`, the app starts there once the sidecar
 * answers, with `APP_ID`, `DAPR_HTTP_PORT`, `DAPR_GRPC_PORT`, `DAPR_METRICS_PORT`,
 * `APP_PROTOCOL` (and `APP_PORT`, `APP_CHANNEL_ADDRESS`) plus the template's `env`. Output goes
 * where `appLogDestination` / `daprdLogDestination` say: app lines as `== APP - <appID> == ...`
 * on stdout and in the app log file (dapr writes the prefixed lines to both); sidecar lines raw to
 * the daprd log file and, on the console, prefixed `== OUTRIGGERD - <appID> == `.
 */
import type { Readable, Writable } from 'node:stream';
import { Child } from './child-process.js';
import type { OutriggerHome } from './home.js';
import { pipeWithPrefix } from './line-prefixer.js';
import { LogFile, tee } from './log-file.js';
import type { RunEntry } from './registry.js';
import { type CliContext, sidecarArgs, sidecarEntry, waitForSidecar } from './run-command.js';
import type { LogDestination } from './run-template-fields.js';
import type { RunTemplate, TemplateApp } from './run-template-parser.js';

/** The four sidecar ports of one app. */
export interface SidecarPorts {
  readonly http: number;
  readonly grpc: number;
  readonly internal: number;
  readonly metrics: number;
}

/** What every app of one template run shares. */
export interface TemplateRunContext {
  readonly ctx: CliContext;
  readonly home: OutriggerHome;
  readonly template: RunTemplate;
  /** The CLI's defaults, for apps whose template gives no resources. */
  readonly defaultResources: readonly string[];
  readonly started: Date;
}

const toConsole = (d: LogDestination): boolean => d !== 'file';
const toFile = (d: LogDestination): boolean => d !== 'console';

/** The app and sidecar processes of one template app. */
export class TemplateAppRun {
  /** The app as the template describes it. */
  readonly app: TemplateApp;
  /** Its sidecar's ports. */
  readonly ports: SidecarPorts;
  /** Copies of the children's output; awaited (bounded) at shutdown. */
  readonly outputs: Promise<void>[] = [];
  /** Set once started. */
  sidecar: Child | undefined;
  /** Set once started; stays undefined when the app has no command. */
  process: Child | undefined;
  #appLog: LogFile | undefined;
  #daprdLog: LogFile | undefined;
  readonly #run: TemplateRunContext;

  constructor(app: TemplateApp, ports: SidecarPorts, run: TemplateRunContext) {
    this.app = app;
    this.ports = ports;
    this.#run = run;
  }

  /** The resource folders the sidecar gets. */
  get resourcesPaths(): readonly string[] {
    return this.app.resourcesPaths.length > 0 ? this.app.resourcesPaths : this.#run.defaultResources;
  }

  /** The registry entry of this app as it stands. */
  entry(): RunEntry {
    const { app, ports, sidecar, process } = this;
    return {
      appId: app.appId,
      httpPort: ports.http,
      grpcPort: ports.grpc,
      metricsPort: ports.metrics,
      ...(app.appPort === undefined ? {} : { appPort: app.appPort }),
      cliPid: globalThis.process.pid,
      ...(sidecar === undefined ? {} : { sidecarPid: sidecar.pid }),
      ...(process === undefined ? {} : { appPid: process.pid }),
      command: app.command.join(' '),
      started: this.#run.started.toISOString(),
      runTemplatePath: this.#run.template.path,
      ...(this.#run.template.name === undefined ? {} : { runTemplateName: this.#run.template.name }),
      ...(this.#appLog === undefined ? {} : { appLogPath: this.#appLog.path }),
      ...(this.#daprdLog === undefined ? {} : { daprdLogPath: this.#daprdLog.path }),
    };
  }

  /**
   * Routes a child's stdout and stderr to the console (prefixed) and/or a log file; `prefixInFile`
   * puts the prefix in the file too (dapr's run -f writes the app's prefixed lines to its file).
   */
  #route(
    streams: readonly Readable[],
    dest: LogDestination,
    file: LogFile | undefined,
    prefix: string,
    prefixInFile: boolean,
  ): void {
    const { stdout } = this.#run.ctx;
    for (const source of streams) {
      if (prefixInFile) {
        const targets: Writable[] = [];
        if (toConsole(dest)) targets.push(stdout);
        if (file !== undefined) targets.push(file.stream);
        const [only] = targets;
        if (only !== undefined)
          this.outputs.push(pipeWithPrefix(source, targets.length === 1 ? only : tee(targets), prefix));
        continue;
      }
      if (toConsole(dest)) this.outputs.push(pipeWithPrefix(source, stdout, prefix));
      if (file !== undefined) this.outputs.push(pipeWithPrefix(source, file.stream, ''));
    }
  }

  /** Starts the sidecar and waits until it answers; resolves with a problem, or undefined when up. */
  async startSidecar(stopping: () => boolean): Promise<string | undefined> {
    const { app, ports } = this;
    const now = new Date();
    if (toFile(app.daprdLogDestination))
      this.#daprdLog = LogFile.open(app.appDirPath, app.appId, 'daprd', now);
    if (app.command.length > 0 && toFile(app.appLogDestination))
      this.#appLog = LogFile.open(app.appDirPath, app.appId, 'app', now);
    const args = sidecarArgs(
      {
        appId: app.appId,
        resourcesPaths: this.resourcesPaths,
        command: app.command,
        ...(app.appPort === undefined ? {} : { appPort: app.appPort }),
        ...(app.appProtocol === undefined ? {} : { appProtocol: app.appProtocol }),
        ...(app.configFile === undefined ? {} : { config: app.configFile }),
        ...(app.logLevel === undefined ? {} : { logLevel: app.logLevel }),
        enableApiLogging: app.enableApiLogging,
        extraArgs: app.daprdArgs,
      },
      ports,
    );
    const { ctx, home } = this.#run;
    try {
      this.sidecar = await Child.start(process.execPath, [sidecarEntry(), ...args], {
        env: { ...ctx.env, OUTRIGGER_DATA_DIR: ctx.env.OUTRIGGER_DATA_DIR ?? home.dataDir },
        cwd: app.appDirPath,
        detached: true,
        inheritStdin: false,
      });
    } catch (err) {
      return `could not start outriggerd for app "${app.appId}": ${(err as Error).message}`;
    }
    const prefix = `== OUTRIGGERD - ${app.appId} == `;
    this.#route(
      [this.sidecar.stdout, this.sidecar.stderr],
      app.daprdLogDestination,
      this.#daprdLog,
      prefix,
      false,
    );
    if (await waitForSidecar(this.sidecar, ports.http, stopping)) return undefined;
    if (stopping()) return undefined;
    return this.sidecar.running
      ? `outriggerd for app "${app.appId}" did not become ready on port ${ports.http}`
      : `outriggerd for app "${app.appId}" exited before it was ready (see ${this.#daprdLog?.path ?? 'the output above'})`;
  }

  /** Starts the app's command (if any) in `appDirPath`; resolves with a problem, or undefined. */
  async startApp(): Promise<string | undefined> {
    const { app, ports } = this;
    const [cmd, ...args] = app.command;
    if (cmd === undefined) return undefined;
    const env: NodeJS.ProcessEnv = {
      ...this.#run.ctx.env,
      APP_ID: app.appId,
      DAPR_HTTP_PORT: String(ports.http),
      DAPR_GRPC_PORT: String(ports.grpc),
      DAPR_METRICS_PORT: String(ports.metrics),
      APP_PROTOCOL: app.appProtocol ?? 'http',
      ...(app.appPort === undefined ? {} : { APP_PORT: String(app.appPort) }),
      ...(app.appChannelAddress === undefined ? {} : { APP_CHANNEL_ADDRESS: app.appChannelAddress }),
      ...app.env,
    };
    try {
      // No stdin: several apps share one terminal (dapr's run -f does not give them its stdin either).
      this.process = await Child.start(cmd, args, {
        env,
        cwd: app.appDirPath,
        detached: false,
        inheritStdin: false,
      });
    } catch (err) {
      return `app "${app.appId}": ${(err as Error).message}`;
    }
    const prefix = `== APP - ${app.appId} == `;
    this.#route(
      [this.process.stdout, this.process.stderr],
      app.appLogDestination,
      this.#appLog,
      prefix,
      true,
    );
    return undefined;
  }

  /** Closes the log files (after the outputs settled). */
  async closeLogs(): Promise<void> {
    await Promise.all([this.#appLog?.close(), this.#daprdLog?.close()]);
  }
}
