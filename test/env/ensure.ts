/**
 * The one provisioning entry point, called by `npm test` (test/run-tests.ts) before any test runs:
 * Debian services (Redis, PostgreSQL, NATS), the Kafka jars and the Kubernetes binaries, each
 * cached by version so a warm call only checks files. Runnable on its own:
 * `node dist/test/env/ensure.js [debian|kafka|kube ...]`.
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { DebianTools } from './debian.js';
import { ensureDebianPackages } from './debian.js';
import { ensureJaeger } from './jaeger.js';
import type { KafkaInstall } from './kafka.js';
import { ensureKafka } from './kafka.js';
import type { KubeBinaries } from './kube-binaries.js';
import { ensureKubeBinaries } from './kube-binaries.js';
import type { Progress } from './process.js';
import { ensureZipkin } from './zipkin.js';

/** The pieces `ensureAll` can provision. */
export const ENV_PIECES = ['debian', 'kafka', 'kube', 'zipkin', 'jaeger'] as const;

/** One provisionable piece: Debian packages, Kafka jars, Kubernetes binaries, the Zipkin jar or Jaeger. */
export type EnvPiece = (typeof ENV_PIECES)[number];

/** What was provisioned; a piece not asked for is absent. */
export interface EnsureResult {
  /** redis-server, nats-server and the PostgreSQL bin folder. */
  readonly debian?: DebianTools;
  /** The Kafka classpath folder. */
  readonly kafka?: KafkaInstall;
  /** etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kubectl, helm. */
  readonly kube?: KubeBinaries;
  /** The zipkin-server exec jar. */
  readonly zipkin?: string;
  /** The Jaeger binary. */
  readonly jaeger?: string;
}

/** Options for `ensureAll`. */
export interface EnsureOptions {
  /** Provision only these pieces (default: all). */
  readonly only?: readonly EnvPiece[];
  /** Progress sink (default: stderr with elapsed time). */
  readonly log?: Progress;
}

/** Thrown when at least one piece could not be provisioned; `failures` names each one. */
export class EnsureError extends Error {
  /** Builds the error from the failed pieces and their causes. */
  constructor(readonly failures: ReadonlyArray<{ readonly piece: EnvPiece; readonly error: unknown }>) {
    super(
      `could not provision the test environment:\n${failures
        .map(({ piece, error }) => `  - ${piece}: ${describe(error)}`)
        .join('\n')}`,
    );
    this.name = 'EnsureError';
  }
}

function describe(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  // Follow the cause chain: the innermost message usually names the failing command.
  while (current instanceof Error && parts.length < 4) {
    parts.push(current.message);
    current = current.cause;
  }
  return parts.length > 0 ? parts.join('\n    caused by: ') : String(error);
}

function stderrProgress(start: number): Progress {
  return (line) => process.stderr.write(`[env +${((Date.now() - start) / 1000).toFixed(1)}s] ${line}\n`);
}

async function timed<T>(piece: EnvPiece, log: Progress, run: (log: Progress) => Promise<T>): Promise<T> {
  const start = Date.now();
  log(`${piece}: checking`);
  const result = await run((line) => log(`${piece}: ${line}`));
  log(`${piece}: ready in ${((Date.now() - start) / 1000).toFixed(1)}s`);
  return result;
}

/**
 * Provisions every real service the tests need (or the `only` subset), printing progress with
 * timings. Idempotent. Throws an `EnsureError` naming everything that could not be provisioned.
 */
export async function ensureAll(options: EnsureOptions = {}): Promise<EnsureResult> {
  const start = Date.now();
  const log = options.log ?? stderrProgress(start);
  const wanted = new Set<EnvPiece>(options.only ?? ENV_PIECES);
  // The Kubernetes build is long and independent, so it runs alongside the rest. Debian goes
  // before Kafka because both may call apt-get, which holds a single lock.
  const kube = wanted.has('kube') ? timed('kube', log, (l) => ensureKubeBinaries(l)) : undefined;
  const debian = wanted.has('debian') ? timed('debian', log, (l) => ensureDebianPackages(l)) : undefined;
  const kafka = wanted.has('kafka')
    ? (async () => {
        await debian?.catch(() => {});
        return await timed('kafka', log, (l) => ensureKafka(l));
      })()
    : undefined;
  // After Kafka: both may install Java and Maven through apt-get.
  const zipkin = wanted.has('zipkin')
    ? (async () => {
        await kafka?.catch(() => {});
        return await timed('zipkin', log, (l) => ensureZipkin(l));
      })()
    : undefined;
  // After Kubernetes: both are Go builds, and they share the Go toolchain's provisioning.
  const jaeger = wanted.has('jaeger')
    ? (async () => {
        await kube?.catch(() => {});
        return await timed('jaeger', log, (l) => ensureJaeger(l));
      })()
    : undefined;
  const settled = await Promise.allSettled([debian, kafka, kube, zipkin, jaeger]);
  const failures: Array<{ piece: EnvPiece; error: unknown }> = [];
  const value = <T>(piece: EnvPiece, s: PromiseSettledResult<T | undefined> | undefined): T | undefined => {
    if (s?.status === 'rejected') {
      failures.push({ piece, error: s.reason });
      return undefined;
    }
    return s?.value;
  };
  const debianTools = value('debian', settled[0]);
  const kafkaInstall = value('kafka', settled[1]);
  const kubeBinaries = value('kube', settled[2]);
  const zipkinJar = value('zipkin', settled[3]);
  const jaegerBinary = value('jaeger', settled[4]);
  if (failures.length > 0) throw new EnsureError(failures);
  log(`all provisioned in ${((Date.now() - start) / 1000).toFixed(1)}s`);
  return {
    ...(debianTools === undefined ? {} : { debian: debianTools }),
    ...(kafkaInstall === undefined ? {} : { kafka: kafkaInstall }),
    ...(kubeBinaries === undefined ? {} : { kube: kubeBinaries }),
    ...(zipkinJar === undefined ? {} : { zipkin: zipkinJar }),
    ...(jaegerBinary === undefined ? {} : { jaeger: jaegerBinary }),
  };
}

function isMain(): boolean {
  const entry = process.argv[1];
  if (entry === undefined) return false;
  try {
    return realpathSync(entry) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isMain()) {
  const args = process.argv.slice(2);
  const unknown = args.filter((a) => !(ENV_PIECES as readonly string[]).includes(a));
  if (unknown.length > 0) {
    process.stderr.write(
      `unknown piece(s) ${unknown.join(', ')}; expected any of ${ENV_PIECES.join(', ')}\n`,
    );
    process.exitCode = 2;
  } else {
    try {
      const result = await ensureAll(args.length > 0 ? { only: args as EnvPiece[] } : {});
      process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    } catch (err) {
      process.stderr.write(`${err instanceof EnsureError ? err.message : describe(err)}\n`);
      process.exitCode = 1;
    }
  }
}
