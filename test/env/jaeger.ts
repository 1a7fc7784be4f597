/**
 * A real Jaeger (v2, built on the OpenTelemetry collector) for the OTLP tracing tests: it receives
 * OTLP over gRPC and HTTP and answers Jaeger's query API from in-memory storage. Built once from
 * the Go module proxy (`go get -tool` in a throwaway module: Jaeger's own go.mod has replace
 * directives, so `go install pkg@version` refuses it) and cached in the testbin folder.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type ProgressLog, runGo } from './go-build.js';
import { ensureGoToolchain } from './go-toolchain.js';
import { provisionCached, testbinRoot } from './kube-binaries.js';
import { freePort, ManagedProcess, makeTempDir, readyOrStopped, removeTempDir } from './process.js';
import { VERSIONS } from './versions.js';

/** Builds the pinned Jaeger binary once; returns its path. */
export async function ensureJaeger(log: ProgressLog = () => {}): Promise<string> {
  const root = testbinRoot();
  await mkdir(root, { recursive: true });
  const dir = await provisionCached('jaeger', VERSIONS.jaeger, root, ['jaeger'], log, async (out) => {
    const go = await ensureGoToolchain(root, log);
    const mod = join(out, 'src');
    await mkdir(mod, { recursive: true });
    await writeFile(join(mod, 'go.mod'), 'module outrigger.test/jaegerbuild\n\ngo 1.24\n');
    const pkg = 'github.com/jaegertracing/jaeger/cmd/jaeger';
    await runGo(['get', '-tool', `${pkg}@${VERSIONS.jaeger}`], { cwd: mod, log, go });
    await runGo(['build', '-o', join(out, 'jaeger'), pkg], { cwd: mod, log, go });
  });
  return join(dir, 'jaeger');
}

/** A span as Jaeger's query API returns it. */
export interface JaegerSpan {
  readonly traceID: string;
  readonly spanID: string;
  readonly operationName: string;
  readonly references: readonly { readonly refType: string; readonly spanID: string }[];
  readonly startTime: number;
  readonly duration: number;
  readonly tags: readonly { readonly key: string; readonly value: unknown }[];
  readonly processID: string;
}

/** A running Jaeger. */
export interface JaegerServer {
  /** OTLP/gRPC receiver, `host:port` (`spec.tracing.otel.endpointAddress` with `protocol: grpc`). */
  readonly otlpGrpc: string;
  /** OTLP/HTTP receiver, `host:port` (`protocol: http`). */
  readonly otlpHttp: string;
  /** The spans of one trace, each with the name of the service that sent it. */
  trace(traceId: string): Promise<(JaegerSpan & { readonly serviceName: string })[]>;
  stop(): Promise<void>;
}

function config(p: Record<'grpc' | 'http' | 'query' | 'queryGrpc' | 'health', number>): string {
  const at = (port: number): string => `127.0.0.1:${port}`;
  return `service:
  extensions: [jaeger_storage, jaeger_query, healthcheckv2]
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [jaeger_storage_exporter]
  telemetry:
    metrics:
      level: none
    logs:
      level: info
extensions:
  healthcheckv2:
    use_v2: true
    http:
      endpoint: ${at(p.health)}
  jaeger_query:
    storage:
      traces: memstore
    http:
      endpoint: ${at(p.query)}
    grpc:
      endpoint: ${at(p.queryGrpc)}
  jaeger_storage:
    backends:
      memstore:
        memory:
          max_traces: 10000
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: ${at(p.grpc)}
      http:
        endpoint: ${at(p.http)}
processors:
  batch:
    timeout: 100ms
exporters:
  jaeger_storage_exporter:
    trace_storage: memstore
`;
}

/** Starts Jaeger on free loopback ports and waits until its query API answers. */
export async function startJaeger(): Promise<JaegerServer> {
  const binary = await ensureJaeger();
  const dir = await makeTempDir('jaeger');
  const ports = {
    grpc: await freePort(),
    http: await freePort(),
    query: await freePort(),
    queryGrpc: await freePort(),
    health: await freePort(),
  };
  const file = join(dir, 'config.yaml');
  await writeFile(file, config(ports));
  const proc = await ManagedProcess.start({
    name: 'jaeger',
    command: binary,
    args: ['--config', `file:${file}`],
    logFile: join(dir, 'jaeger.log'),
    cwd: dir,
  });
  const query = `http://127.0.0.1:${ports.query}`;
  await readyOrStopped(
    proc,
    dir,
    `jaeger's query API on port ${ports.query}`,
    async () => (await fetch(`${query}/api/services`)).ok,
    60_000,
  );
  return {
    otlpGrpc: `127.0.0.1:${ports.grpc}`,
    otlpHttp: `127.0.0.1:${ports.http}`,
    async trace(traceId) {
      const res = await fetch(`${query}/api/traces/${traceId}`);
      if (res.status === 404) return [];
      if (!res.ok) throw new Error(`jaeger trace ${traceId}: ${res.status} ${await res.text()}`);
      const body = (await res.json()) as {
        data: { spans: JaegerSpan[]; processes: Record<string, { serviceName: string }> }[];
      };
      return body.data.flatMap((t) =>
        t.spans.map((s) => ({ ...s, serviceName: t.processes[s.processID]?.serviceName ?? '' })),
      );
    },
    async stop() {
      await proc.stop(5_000);
      await removeTempDir(dir);
    },
  };
}
