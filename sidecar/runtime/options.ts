import type { LogLevel } from '../observability/logger.js';

/**
 * The sidecar's validated, frozen options: the result of `parseFlags` (daprd's flags with
 * daprd's defaults, see dapr-api.md §1.1 and dapr/dapr cmd/daprd/options/options.go).
 */

/** `--app-protocol` values daprd accepts. */
export const APP_PROTOCOLS = ['http', 'https', 'grpc', 'grpcs', 'h2c'] as const;

/** One of `APP_PROTOCOLS`. */
export type AppProtocol = (typeof APP_PROTOCOLS)[number];

/** `--mode` values. */
export type RuntimeMode = 'standalone' | 'kubernetes';

/** App health check settings (`--enable-app-health-check` and friends). */
export interface AppHealthOptions {
  readonly enabled: boolean;
  readonly path: string;
  /** `--app-health-probe-interval`, seconds in the flag, milliseconds here. */
  readonly probeIntervalMs: number;
  /** `--app-health-probe-timeout`, milliseconds. */
  readonly probeTimeoutMs: number;
  readonly threshold: number;
}

/** Every option the runtime reads. */
export interface Options {
  readonly appId: string;
  /** Undefined: no app channel. */
  readonly appPort?: number;
  readonly appProtocol: AppProtocol;
  readonly appChannelAddress: string;
  readonly daprHttpPort: number;
  readonly daprGrpcPort: number;
  readonly daprInternalGrpcPort: number;
  /** True when `daprInternalGrpcPort` is daprd's stable port from the app id (not given by flag): main falls back to a free port if it is taken. */
  readonly daprInternalGrpcPortIsStable: boolean;
  /** `--dapr-internal-grpc-listen-address`; undefined: all interfaces, as daprd's default. */
  readonly daprInternalGrpcListenAddress?: string;
  readonly daprPublicPort?: number;
  readonly daprPublicListenAddress?: string;
  readonly metricsPort: number;
  readonly metricsListenAddress?: string;
  readonly enableMetrics: boolean;
  /**
   * `--unix-domain-socket`: a directory; the HTTP and gRPC APIs listen on
   * `dapr-<app id>-http.socket` and `dapr-<app id>-grpc.socket` there instead of on TCP.
   */
  readonly unixDomainSocket?: string;
  /** `--dapr-listen-addresses` split on commas; empty means all interfaces. */
  readonly listenAddresses: readonly string[];
  readonly resourcesPaths: readonly string[];
  /** `--config` values (file paths in standalone mode). */
  readonly configPaths: readonly string[];
  readonly mode: RuntimeMode;
  readonly logLevel: LogLevel;
  readonly logAsJson: boolean;
  /** Undefined: not given (Configuration `logging.apiLogging.enabled` decides). */
  readonly enableApiLogging?: boolean;
  /** -1 (or 0): unlimited. */
  readonly appMaxConcurrency: number;
  /** Max request body in bytes. */
  readonly maxBodyBytes: number;
  /**
   * `--read-buffer-size` (or the legacy `--dapr-http-read-buffer-size` in KB), default 4 KiB:
   * daprd's `MaxHeaderBytes` on its HTTP servers.
   */
  readonly readBufferBytes: number;
  /** `--enable-profiling`: pprof profiles on `--profile-port` (default 7777). */
  readonly enableProfiling: boolean;
  readonly profilePort: number;
  /** `--disable-builtin-k8s-secret-store`: no `kubernetes` secret store in Kubernetes mode. */
  readonly disableBuiltinK8sSecretStore: boolean;
  /** `--allowed-origins`: CORS on the HTTP API; `*` (the default) allows every origin, as daprd. */
  readonly allowedOrigins: string;
  readonly gracefulShutdownMs: number;
  /** `--dapr-block-shutdown-duration`: keep serving this long after a shutdown request, or until the app turns unhealthy. */
  readonly blockShutdownMs?: number;
  readonly appHealth: AppHealthOptions;
  readonly enableMtls: boolean;
  readonly sentryAddress?: string;
  /**
   * `--trust-anchors-file`, else `DAPR_TRUST_ANCHORS_FILE`: the trust anchors' PEM file, watched
   * for changes. Taken before the literal `DAPR_TRUST_ANCHORS`.
   */
  readonly trustAnchorsFile?: string;
  /** `--kubeconfig`: for components that talk to the Kubernetes API, before `KUBECONFIG`. */
  readonly kubeconfig?: string;
  readonly controlPlaneAddress?: string;
  readonly controlPlaneNamespace: string;
  readonly controlPlaneTrustDomain: string;
  readonly placementHostAddress?: string;
  readonly schedulerHostAddresses: readonly string[];
  readonly namespace: string;
  /** `DAPR_API_TOKEN`: required from callers of the API when set. */
  readonly apiToken?: string;
  /** `APP_API_TOKEN`: sent to the app when set. */
  readonly appApiToken?: string;
  /** daprd flags that were accepted but have no effect in Outrigger yet (the runtime warns about each). */
  readonly unimplementedFlags: readonly string[];
}

/** What `parseFlags` returns. */
export type FlagParseResult =
  | { readonly kind: 'options'; readonly options: Options }
  | { readonly kind: 'help'; readonly text: string }
  | { readonly kind: 'version' }
  | { readonly kind: 'build-info' }
  /** `--wait`: wait for the sidecar on `--dapr-http-port` to be outbound ready, then exit. */
  | { readonly kind: 'wait'; readonly daprHttpPort: number }
  | { readonly kind: 'errors'; readonly errors: readonly string[] };
