/**
 * The table of daprd flags Outrigger recognises: names, types, help and defaults as daprd shows
 * them (dapr/dapr cmd/daprd/options/options.go, plus dapr/kit's logger and metrics flags). Flags
 * marked `inert` are accepted with a start-up warning that they have no effect yet.
 */

export type FlagType = 'string' | 'int' | 'bool' | 'list';

export interface FlagSpec {
  readonly name: string;
  readonly type: FlagType;
  readonly help: string;
  /** Shown in help; the parser applies defaults in `buildOptions`. */
  readonly default?: string;
  /** False: recognised daprd flag that Outrigger accepts but does not implement yet. */
  readonly implemented: boolean;
  /** For `list`: also split each value on commas (pflag StringSlice behaviour). */
  readonly csv?: boolean;
}

const f = (
  name: string,
  type: FlagType,
  help: string,
  def?: string,
  extra: Partial<FlagSpec> = {},
): FlagSpec => ({
  name,
  type,
  help,
  implemented: true,
  ...(def === undefined ? {} : { default: def }),
  ...extra,
});
/** A daprd flag Outrigger recognises and accepts, with a start-up warning that it has no effect yet. */
const inert = (name: string, type: FlagType, help: string): FlagSpec => ({
  name,
  type,
  help,
  implemented: false,
});

/** The flag table: every daprd flag Outrigger recognises. */
export const FLAGS: readonly FlagSpec[] = [
  f('app-id', 'string', 'A unique ID for the app. Used for service discovery and state'),
  f('app-port', 'int', 'The port the application is listening on'),
  f('app-protocol', 'string', 'Protocol for the application: grpc, grpcs, http, https, h2c', 'http'),
  f('app-ssl', 'bool', 'Use TLS to the app [deprecated: use --app-protocol https|grpcs]', 'false'),
  f('app-channel-address', 'string', 'The network address the application listens on', '127.0.0.1'),
  f('dapr-http-port', 'int', 'HTTP port for the Dapr API to listen on', '3500'),
  f('dapr-grpc-port', 'int', 'gRPC port for the Dapr API to listen on', '50001'),
  f(
    'dapr-internal-grpc-port',
    'int',
    'gRPC port for the internal API (default: stable port in 47300-49347 from the app id)',
  ),
  f(
    'unix-domain-socket',
    'string',
    'Directory for Unix domain sockets: the HTTP and gRPC APIs listen there instead of on TCP',
  ),
  f('dapr-internal-grpc-listen-address', 'string', 'gRPC listen address for the Dapr Internal API'),
  f('dapr-public-port', 'int', 'Public port for health and metadata'),
  f('dapr-public-listen-address', 'string', 'Listen address for the public port'),
  f('dapr-listen-addresses', 'string', 'One or more addresses for the Dapr API to listen on, CSV limited'),
  f('metrics-port', 'int', 'The port for the metrics server', '9090'),
  f('metrics-listen-address', 'string', 'The address for the metrics server to listen on'),
  f('enable-metrics', 'bool', 'Enable Prometheus metrics', 'true'),
  f('resources-path', 'list', 'Path for a resources directory; can be passed multiple times', undefined, {
    csv: true,
  }),
  f('components-path', 'list', 'Alias for --resources-path [deprecated]'),
  f('config', 'list', 'Path to a Configuration file', undefined, { csv: true }),
  f('mode', 'string', 'Runtime mode: standalone or kubernetes', 'standalone'),
  f('log-level', 'string', 'Log level: debug, info, warn, error, fatal', 'info'),
  f('log-as-json', 'bool', 'Print logs as JSON lines', 'false'),
  f('enable-api-logging', 'bool', 'Log every API call', 'false'),
  f('app-max-concurrency', 'int', 'Max concurrent calls to the app; -1 for no limit', '-1'),
  f(
    'disable-builtin-k8s-secret-store',
    'bool',
    'Do not provision the "kubernetes" secret store in Kubernetes mode',
    'false',
  ),
  f('enable-profiling', 'bool', 'Serve pprof profiles (CPU, heap) on --profile-port', 'false'),
  f('profile-port', 'int', 'The port for the profile server', '7777'),
  f('allowed-origins', 'string', 'Allowed HTTP origins (CORS), comma-separated; * allows all', '*'),
  f('max-body-size', 'string', 'Max request body size, as a quantity (4Mi, 16M, ...)', '4Mi'),
  f(
    'dapr-http-max-request-size',
    'int',
    'Max request body size in MB [deprecated: use --max-body-size]',
    '4',
  ),
  f(
    'read-buffer-size',
    'string',
    'Max size of the read buffer, as a quantity (also the limit on request headers)',
    '4Ki',
  ),
  f(
    'dapr-http-read-buffer-size',
    'int',
    'Max size of the read buffer in KB [deprecated: use --read-buffer-size]',
    '4',
  ),
  f('dapr-graceful-shutdown-seconds', 'int', 'Graceful shutdown time in seconds', '5'),
  f(
    'dapr-block-shutdown-duration',
    'string',
    'Before shutting down, keep serving for this long or until the app is unhealthy (e.g. 10s)',
  ),
  f('enable-app-health-check', 'bool', 'Enable health checks for the application', 'false'),
  f('app-health-check-path', 'string', 'Path used for app health checks (HTTP only)', '/healthz'),
  f('app-health-probe-interval', 'int', 'Interval to probe the health of the app, in seconds', '5'),
  f('app-health-probe-timeout', 'int', 'Timeout for app health probes, in milliseconds', '500'),
  f('app-health-threshold', 'int', 'Consecutive failures for the app to be considered unhealthy', '3'),
  f('enable-mtls', 'bool', 'Enable automatic mTLS between sidecars', 'false'),
  f('sentry-address', 'string', 'Address of the Sentry CA service'),
  f(
    'trust-anchors-file',
    'string',
    'PEM file with the trust anchors, watched (else DAPR_TRUST_ANCHORS_FILE)',
  ),
  f('kubeconfig', 'string', 'Path to a kubeconfig, for components that call the Kubernetes API'),
  f('control-plane-address', 'string', 'Address of the control plane (operator)'),
  f('control-plane-namespace', 'string', 'Namespace of the control plane', 'default'),
  f('control-plane-trust-domain', 'string', 'Trust domain of the control plane', 'localhost'),
  f('placement-host-address', 'string', 'Addresses of the actor placement servers'),
  f('scheduler-host-address', 'list', 'Addresses of the scheduler service, comma separated', undefined, {
    csv: true,
  }),
  f('namespace', 'string', 'Namespace of this app (default: $NAMESPACE or "default")'),
  f('version', 'bool', 'Print the runtime version'),
  f('build-info', 'bool', 'Print the build info'),
  f('wait', 'bool', 'Wait (up to 60 s) for the sidecar on --dapr-http-port to be outbound ready, then exit'),
  f('help', 'bool', 'Print this help'),
  inert('sentry-request-jwt-audiences', 'list', 'JWT audiences for certificate signing requests'),
  inert('scheduler-job-streams', 'int', 'Number of job streams to the scheduler'),
  inert('actors-service', 'string', 'Type and address of the actors service'),
  inert('reminders-service', 'string', 'Type and address of the reminders service'),
  inert('app-health-port', 'int', 'Port for app health checks [removed in daprd]'),
  inert('disable-init-endpoints', 'list', 'App endpoints not to call at start (config, subscribe)'),
];
