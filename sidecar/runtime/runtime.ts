import { mkdir } from 'node:fs/promises';
import type { Server } from 'node:http';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { ApiContext, SecretScope } from '../api/universal/context.js';
import type { AppChannel } from '../channel/app-channel.js';
import { AppHealthProber, waitForApp } from '../channel/app-readiness.js';
import { GrpcAppChannel } from '../channel/grpc-channel.js';
import { HttpAppChannel } from '../channel/http-channel.js';
import type { Logger } from '../components/component.js';
import {
  inScope,
  type LoadedComponents,
  type LoaderOptions,
  loadComponents,
  withKubernetesDefaults,
} from '../components/loader.js';
import type { ComponentRegistry } from '../components/registry.js';
import { reconcileComponents } from '../components/reloader.js';
import { type Invocation, startInvocation } from '../invoke/invocation-runtime.js';
import { createMetricsServer, SidecarMetrics } from '../observability/metrics.js';
import { tracerFor } from '../observability/tracing/exporters.js';
import type { Tracer } from '../observability/tracing/tracer.js';
import type { ComponentResource } from '../spec/component.js';
import type { ConfigurationResource } from '../spec/configuration.js';
import { formatProblem, ResourceError } from '../spec/problems.js';
import { ApiServers } from './api-servers.js';
import { RuntimeHealth } from './health.js';
import type { Options } from './options.js';
import { type ResourceSet, readConfiguration, readResources } from './resource-reader.js';
import { ResourceWatcher } from './resource-watcher.js';
import { RUNTIME_VERSION } from './version.js';

/** What the runtime needs besides its options. */
export interface RuntimeDeps {
  readonly logger: Logger;
  readonly registry: ComponentRegistry;
  readonly env: Readonly<Record<string, string | undefined>>;
}

/**
 * The sidecar's lifecycle (daprd's pkg/runtime, dapr-api.md §1.13): configuration → components
 * (secret stores first) → API servers → outbound ready → wait for the app port → app health
 * probes → ready. `shutdown` fails readiness, stops accepting, drains in-flight requests within
 * the grace period, then closes components in reverse load order.
 */
export class Runtime {
  readonly #options: Options;
  readonly #deps: RuntimeDeps;
  readonly #log: Logger;
  readonly health: RuntimeHealth;
  readonly #stop = new AbortController();
  #config: ConfigurationResource | undefined;
  #resources: ResourceSet | undefined;
  #components: LoadedComponents | undefined;
  #metrics: SidecarMetrics | undefined;
  #metricsServer: Server | undefined;
  readonly #servers = new ApiServers();
  #channel: AppChannel | undefined;
  #prober: AppHealthProber | undefined;
  #watcher: ResourceWatcher | undefined;
  #onAppUnhealthy: (() => void) | undefined;
  #context: ApiContext | undefined;
  #invocation: Invocation | undefined;
  #tracer: Tracer | undefined;
  #shutdown: Promise<void> | undefined;
  #onShutdownRequest: ((reason: string) => void) | undefined;

  constructor(options: Options, deps: RuntimeDeps) {
    this.#options = options;
    this.#deps = deps;
    this.#log = deps.logger.child({ scope: 'dapr.runtime' });
    this.health = new RuntimeHealth(options.appPort !== undefined, options.appHealth.enabled);
  }

  /** The channel to the app once it is reachable (invocation, pub/sub, bindings, actors use it). */
  appChannel(): AppChannel | undefined {
    return this.#channel;
  }

  /** The context handed to the API layer (after `start`). */
  get context(): ApiContext | undefined {
    return this.#context;
  }

  /** The loaded Configuration (after `start`). */
  get configuration(): ConfigurationResource | undefined {
    return this.#config;
  }

  /** Resources read at start (subscriptions, resiliency, HTTP endpoints for other building blocks). */
  get resources(): ResourceSet | undefined {
    return this.#resources;
  }

  /** Called when the app asks for shutdown (`POST /v1.0/shutdown`); main wires it to process exit. */
  onShutdownRequest(handler: (reason: string) => void): void {
    this.#onShutdownRequest = handler;
  }

  /** Starts everything; throws (after cleaning up) when startup fails. */
  async start(): Promise<void> {
    const started = performance.now();
    const o = this.#options;
    const log = this.#log;
    log.info(`Starting Dapr Runtime -- version ${RUNTIME_VERSION}`);
    log.info(`Log level set to: ${o.logLevel}`);
    log.info(`Running in ${o.mode} mode; app id ${o.appId}, namespace ${o.namespace}`);
    for (const flag of o.unimplementedFlags)
      log.warn(
        `Flag --${flag} is accepted for compatibility with daprd but has no effect in Outrigger yet; ignoring it`,
      );
    // mTLS and Sentry are used by the internal API (invoke/invocation-runtime.ts); these are not yet.
    const notWired = [
      o.controlPlaneAddress === undefined ? '' : '--control-plane-address',
      o.placementHostAddress === undefined ? '' : '--placement-host-address',
      o.schedulerHostAddresses.length === 0 ? '' : '--scheduler-host-address',
    ].filter((f) => f !== '');
    for (const flag of notWired) log.warn(`Flag ${flag} is read but not wired to the runtime yet`);
    if (o.mode === 'kubernetes')
      log.warn(
        'Kubernetes mode: resources are still read from --resources-path; the operator stream is not wired yet',
      );
    try {
      this.#config = await readConfiguration(o.configPaths, o.mode, this.#deps.env);
      if (o.configPaths.length > 0)
        log.info(`Loaded configuration ${this.#config.name} from ${this.#config.source}`);
      for (const w of unappliedPipelines(this.#config)) log.warn(w);
      if (o.enableMetrics && this.#config.metric.enabled) await this.#startMetrics();
      this.#tracer = tracerFor(
        this.#config.tracing,
        o.appId,
        this.#deps.logger.child({ scope: 'dapr.runtime.diagnostics' }),
      );
      this.#resources = await readResources(o.resourcesPaths);
      const dataDir = this.#deps.env.OUTRIGGER_DATA_DIR ?? join(homedir(), '.outrigger', 'data');
      await mkdir(dataDir, { recursive: true });
      const loaderOptions: LoaderOptions = {
        registry: this.#deps.registry,
        appId: o.appId,
        namespace: o.namespace,
        logger: this.#deps.logger,
        dataDir,
        ...(o.kubeconfig === undefined ? {} : { kubeconfigPath: o.kubeconfig }),
        env: this.#deps.env,
        deny: this.#config.deniedComponents,
      };
      const modeDefaults = (components: readonly ComponentResource[]): readonly ComponentResource[] =>
        o.mode === 'kubernetes'
          ? withKubernetesDefaults(components, { builtinSecretStore: !o.disableBuiltinK8sSecretStore })
          : components;
      this.#components = await loadComponents(modeDefaults(this.#resources.components), loaderOptions);
      if (this.#config.enabledFeatures.includes('HotReload'))
        this.#watchResources(loaderOptions, modeDefaults);
      this.#invocation = await startInvocation({
        appId: o.appId,
        namespace: o.namespace,
        mode: o.mode,
        internalPort: o.daprInternalGrpcPort,
        ...(o.daprInternalGrpcListenAddress === undefined
          ? {}
          : { internalListenAddress: o.daprInternalGrpcListenAddress }),
        enableMtls: o.enableMtls,
        sentryAddress: o.sentryAddress,
        trustAnchorsFile: o.trustAnchorsFile,
        controlPlaneTrustDomain: o.controlPlaneTrustDomain,
        controlPlaneNamespace: o.controlPlaneNamespace,
        appProtocol: o.appProtocol,
        maxBodyBytes: o.maxBodyBytes,
        config: this.#config,
        resiliencies: this.#resources.resiliencies,
        httpEndpoints: this.#resources.httpEndpoints,
        secretStores: this.#components.secretStores,
        registry: this.#deps.registry,
        appChannel: () => this.#channel,
        env: this.#deps.env,
        logger: this.#deps.logger,
        signal: this.#stop.signal,
        ...(this.#tracer === undefined ? {} : { tracer: this.#tracer }),
      });
      this.#context = this.#buildContext(this.#config, this.#components, this.#resources);
      await this.#servers.start(this.#context, {
        options: o,
        config: this.#config,
        logger: this.#deps.logger,
        log: this.#log,
        tracer: this.#tracer,
        appChannel: () => this.#channel,
      });
      this.health.markOutboundReady();
      log.info('Dapr outbound APIs are ready');
      if (o.appPort !== undefined) await this.#connectApp(o.appPort);
    } catch (err) {
      await this.#cleanup(0);
      throw err;
    }
    if (this.#stop.signal.aborted) return;
    log.info(`dapr initialized. Status: Running. Init Elapsed ${Math.round(performance.now() - started)}ms`);
  }

  /** `HotReload` feature: components follow the files in the resources folders without a restart. */
  #watchResources(
    loaderOptions: LoaderOptions,
    modeDefaults: (components: readonly ComponentResource[]) => readonly ComponentResource[],
  ): void {
    const o = this.#options;
    const log = this.#log.child({ scope: 'dapr.runtime.hotreload' });
    this.#watcher = new ResourceWatcher(
      o.resourcesPaths,
      async () => {
        const components = this.#components;
        if (components === undefined || this.#stop.signal.aborted) return;
        let set: ResourceSet;
        try {
          set = await readResources(o.resourcesPaths);
        } catch (err) {
          const detail =
            err instanceof ResourceError
              ? err.problems.map(formatProblem).join('; ')
              : (err as Error).message;
          log.error(`Hot reload skipped, resources are invalid: ${detail}`);
          return;
        }
        await reconcileComponents(components, modeDefaults(set.components), {
          ...loaderOptions,
          logger: this.#deps.logger,
        });
      },
      log,
    );
    this.#watcher.start();
    log.info(`Hot reload enabled: watching ${o.resourcesPaths.join(', ') || '(no resources paths)'}`);
  }

  async #startMetrics(): Promise<void> {
    const o = this.#options;
    const metric = this.#config?.metric;
    this.#metrics = new SidecarMetrics({
      appId: o.appId,
      namespace: o.namespace,
      ...(metric === undefined
        ? {}
        : {
            latencyBucketsMs: metric.latencyDistributionBuckets,
            recordErrorCodes: metric.recordErrorCodes,
            http: {
              increasedCardinality: metric.increasedCardinality,
              pathMatching: metric.pathMatching,
              excludeVerbs: metric.excludeVerbs,
            },
            rules: metric.rules,
          }),
    });
    for (const name of this.#metrics.unknownRuleMetrics)
      this.#log.warn(`metrics rule for ${name}: no such metric; the rule does nothing`, {
        scope: 'dapr.metrics',
      });
    const server = createMetricsServer(this.#metrics);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(
        {
          port: o.metricsPort,
          ...(o.metricsListenAddress === undefined ? {} : { host: o.metricsListenAddress }),
        },
        () => {
          server.off('error', reject);
          resolve();
        },
      );
    });
    server.on('error', (err) => this.#log.error(`metrics server error: ${err.message}`));
    this.#metricsServer = server;
    this.#log.info(`metrics server started on :${o.metricsPort}/`, { scope: 'dapr.metrics' });
  }

  async #connectApp(port: number): Promise<void> {
    const o = this.#options;
    const reachable = await waitForApp(
      o.appChannelAddress,
      port,
      o.appProtocol,
      this.#log,
      this.#stop.signal,
    );
    if (!reachable) return;
    const token = o.appApiToken === undefined ? {} : { appApiToken: o.appApiToken };
    // With health checks on, the app is unhealthy until a probe succeeds (daprd's apphealth).
    const isHealthy = (): boolean => this.#prober === undefined || this.#prober.healthy;
    const grpcApp = o.appProtocol === 'grpc' || o.appProtocol === 'grpcs';
    const channel: AppChannel = grpcApp
      ? new GrpcAppChannel({
          address: o.appChannelAddress,
          port,
          maxConcurrency: o.appMaxConcurrency,
          maxBodyBytes: o.maxBodyBytes,
          tls: o.appProtocol === 'grpcs',
          isHealthy,
          ...token,
        })
      : new HttpAppChannel({
          address: o.appChannelAddress,
          port,
          maxConcurrency: o.appMaxConcurrency,
          tls: o.appProtocol === 'https',
          h2c: o.appProtocol === 'h2c',
          isHealthy,
          ...token,
        });
    this.#channel = channel;
    this.health.markAppReachable();
    if (o.appHealth.enabled) {
      this.#prober = new AppHealthProber(
        o.appHealth,
        (path, timeoutMs) => channel.probeHealth(path, timeoutMs),
        this.#log.child({ scope: 'dapr.apphealth' }),
      );
      this.#prober.start((healthy) => {
        this.health.setAppHealthy(healthy);
        if (!healthy) this.#onAppUnhealthy?.();
      });
    }
  }

  #buildContext(
    config: ConfigurationResource,
    components: LoadedComponents,
    resources: ResourceSet,
  ): ApiContext {
    const o = this.#options;
    const secretScopes = new Map<string, SecretScope>(config.secretScopes.map((s) => [s.storeName, s]));
    const endpoints = resources.httpEndpoints.filter((e) => inScope(e, o.appId)).map((e) => e.name);
    const subscriptions = resources.subscriptions
      .filter((s) => inScope(s, o.appId))
      .map((s) => ({
        pubsubname: s.pubsubname,
        topic: s.topic,
        metadata: s.metadata,
        rules: [
          ...s.routes.rules,
          ...(s.routes.default === undefined ? [] : [{ match: '', path: s.routes.default }]),
        ],
        ...(s.deadLetterTopic === undefined ? {} : { deadLetterTopic: s.deadLetterTopic }),
        type: 'DECLARATIVE' as const,
      }));
    const health = o.appHealth;
    return {
      appId: o.appId,
      namespace: o.namespace,
      runtimeVersion: RUNTIME_VERSION,
      enabledFeatures: config.enabledFeatures,
      logger: this.#deps.logger.child({ scope: 'dapr.runtime.api' }),
      stateStores: components.stateStores,
      secretStores: components.secretStores,
      secretScopes,
      health: this.health,
      appConnection: {
        ...(o.appPort === undefined ? {} : { port: o.appPort }),
        protocol: o.appProtocol,
        channelAddress: o.appChannelAddress,
        ...(o.appMaxConcurrency > 0 ? { maxConcurrency: o.appMaxConcurrency } : {}),
        ...(health.enabled
          ? {
              health: {
                healthCheckPath: health.path,
                healthProbeInterval: `${health.probeIntervalMs / 1000}s`,
                healthProbeTimeout: `${health.probeTimeoutMs}ms`,
                healthThreshold: health.threshold,
              },
            }
          : {}),
      },
      components: () => components.infos(),
      extendedMetadata: new Map<string, string>(),
      requestShutdown: (reason) => {
        // Let the API answer 204 first, then start the graceful shutdown.
        setImmediate(() => (this.#onShutdownRequest ?? ((r: string) => void this.shutdown(r)))(reason));
      },
      subscriptions: () => subscriptions,
      httpEndpoints: () => endpoints,
      invoker: () => this.#invocation?.invoker,
      ...(this.#invocation === undefined ? {} : { resiliency: this.#invocation.resiliency }),
    };
  }

  /** Graceful shutdown; idempotent (later calls get the first call's promise). */
  shutdown(reason: string): Promise<void> {
    if (this.#shutdown === undefined) {
      this.#log.info(`Dapr shutting down: ${reason}`);
      this.#shutdown = this.#blockShutdown().then(() => this.#cleanup(this.#options.gracefulShutdownMs));
    }
    return this.#shutdown;
  }

  /**
   * `--dapr-block-shutdown-duration` (daprd): keep everything serving so the app can still use
   * Dapr while it winds down, until the duration passes or the app reports unhealthy.
   */
  async #blockShutdown(): Promise<void> {
    const ms = this.#options.blockShutdownMs;
    if (ms === undefined || ms <= 0) return;
    this.#log.info(`Blocking graceful shutdown for ${ms} ms or until app reports unhealthy...`);
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.#onAppUnhealthy = () => {
        clearTimeout(timer);
        this.#log.info('Application reported unhealthy; continuing graceful shutdown');
        resolve();
      };
    });
    this.#onAppUnhealthy = undefined;
  }

  async #cleanup(graceMs: number): Promise<void> {
    this.health.markShuttingDown();
    this.#stop.abort();
    await this.#watcher?.close();
    this.#prober?.stop();
    const started = Date.now();
    await this.#servers.close(graceMs);
    const drainedIn = Date.now() - started;
    if (this.#servers.http !== undefined) this.#log.info(`API servers closed after ${drainedIn} ms`);
    await this.#invocation?.close(Math.max(0, graceMs - drainedIn));
    this.#channel?.close();
    // Every span of a call that ended is exported before the process goes.
    await this.#tracer?.close();
    await this.#components?.closeAll();
    if (this.#metricsServer !== undefined) {
      const server = this.#metricsServer;
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    }
    this.#metrics?.close();
    this.#log.info('Dapr runtime stopped');
  }
}

/**
 * Warnings for the Configuration's middleware pipelines (`spec.httpPipeline`,
 * `spec.appHttpPipeline`): Outrigger has no middleware components yet, so their handlers are not
 * applied, and a user relying on one (an auth check, a rate limit) must know it.
 */
function unappliedPipelines(config: ConfigurationResource): string[] {
  const out: string[] = [];
  for (const key of ['httpPipeline', 'appHttpPipeline']) {
    const pipeline = config.spec[key];
    const handlers =
      typeof pipeline === 'object' &&
      pipeline !== null &&
      Array.isArray((pipeline as { handlers?: unknown }).handlers)
        ? (pipeline as { handlers: unknown[] }).handlers
        : [];
    if (handlers.length > 0)
      out.push(
        `Configuration spec.${key} has ${handlers.length} handler(s) that are NOT applied: Outrigger does not implement middleware pipelines yet`,
      );
  }
  return out;
}
