/**
 * A real Zipkin server for the tracing tests: openzipkin's `zipkin-server` exec jar from Maven
 * Central, cached under `testbinDir('zipkin', VERSIONS.zipkin)`, run with in-memory storage on a
 * free loopback port. Spans are read back through Zipkin's own query API.
 */
import { existsSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ensureJavaAndMaven, findExecutable } from './debian.js';
import {
  freePort,
  ManagedProcess,
  makeTempDir,
  type Progress,
  readyOrStopped,
  removeTempDir,
  runCommand,
  testbinDir,
} from './process.js';
import { VERSIONS } from './versions.js';

/** A span as Zipkin's v2 API returns it. */
export interface ZipkinSpan {
  readonly traceId: string;
  readonly id: string;
  readonly parentId?: string;
  readonly name: string;
  readonly kind?: string;
  readonly timestamp: number;
  readonly duration: number;
  readonly localEndpoint?: { readonly serviceName?: string };
  readonly tags?: Readonly<Record<string, string>>;
}

/** A running Zipkin server. */
export interface ZipkinServer {
  /** The collector address sidecars send to (`spec.tracing.zipkin.endpointAddress`). */
  readonly endpointAddress: string;
  /** The spans of one trace (empty when Zipkin has none). */
  trace(traceId: string): Promise<ZipkinSpan[]>;
  /** Names of the services that sent spans. */
  services(): Promise<string[]>;
  stop(): Promise<void>;
}

function jarPath(version: string): string {
  return join(testbinDir('zipkin', version), `zipkin-server-${version}-exec.jar`);
}

/** Downloads the zipkin-server exec jar once; returns its path. */
export async function ensureZipkin(log: Progress = () => {}): Promise<string> {
  const version = VERSIONS.zipkin;
  const jar = jarPath(version);
  if (existsSync(jar)) return jar;
  const { mvn } = await ensureJavaAndMaven(log);
  const staging = `${testbinDir('zipkin', version)}.partial-${process.pid}`;
  await rm(staging, { recursive: true, force: true });
  await mkdir(staging, { recursive: true });
  try {
    log(`downloading zipkin-server ${version} from Maven Central`);
    const plugin = `org.apache.maven.plugins:maven-dependency-plugin:${VERSIONS.mavenDependencyPlugin}`;
    await runCommand(
      mvn,
      [
        '-B',
        '-q',
        `${plugin}:copy`,
        `-Dartifact=io.zipkin:zipkin-server:${version}:jar:exec`,
        `-DoutputDirectory=${staging}`,
      ],
      { cwd: staging },
    );
    const got = join(staging, `zipkin-server-${version}-exec.jar`);
    if (!existsSync(got)) throw new Error(`dependency:copy did not produce ${got}`);
    // Another process may have finished the same download meanwhile; its copy is as good.
    if (existsSync(jar)) return jar;
    await mkdir(testbinDir('zipkin', version), { recursive: true });
    await rename(got, jar);
    return jar;
  } catch (err) {
    throw new Error(`could not provision zipkin-server ${version}`, { cause: err });
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`GET ${url} answered ${res.status}: ${await res.text()}`);
  return (await res.json()) as T;
}

/** Starts Zipkin (in-memory storage) and waits until its health check reports UP. */
export async function startZipkin(): Promise<ZipkinServer> {
  const jar = await ensureZipkin();
  const java = findExecutable('java');
  if (java === undefined) throw new Error('java not found: run ensureZipkin() (test/env/ensure) first');
  const dir = await makeTempDir('zipkin');
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const proc = await ManagedProcess.start({
    name: 'zipkin',
    command: java,
    // A test server lives for seconds to minutes: the C1-only JIT and the serial collector start fastest.
    args: ['-XX:TieredStopAtLevel=1', '-XX:+UseSerialGC', '-Xmx256m', '-jar', jar],
    logFile: join(dir, 'zipkin.log'),
    cwd: dir,
    env: { ...process.env, QUERY_PORT: String(port), STORAGE_TYPE: 'mem', SELF_TRACING_ENABLED: 'false' },
  });
  await readyOrStopped(
    proc,
    dir,
    `zipkin on port ${port} to report UP`,
    async () => (await getJson<{ status: string }>(`${base}/health`)).status === 'UP',
    90_000,
  );
  return {
    endpointAddress: `${base}/api/v2/spans`,
    async trace(traceId) {
      const res = await fetch(`${base}/api/v2/trace/${traceId}`);
      if (res.status === 404) return [];
      if (!res.ok) throw new Error(`zipkin trace ${traceId}: ${res.status} ${await res.text()}`);
      return (await res.json()) as ZipkinSpan[];
    },
    services: () => getJson<string[]>(`${base}/api/v2/services`),
    async stop() {
      await proc.stop(5_000);
      await removeTempDir(dir);
    },
  };
}
