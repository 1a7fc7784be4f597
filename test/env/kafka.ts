/**
 * A real single-node Kafka 4 broker (KRaft, combined broker + controller) for tests. The jars come
 * from Maven Central through a throwaway pom and are cached per version under
 * `testbinDir('kafka', VERSIONS.kafka)/libs`; each `startKafka()` formats fresh storage in a temp
 * dir and runs `kafka.Kafka` on free loopback ports.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { ensureJavaAndMaven, findExecutable } from './debian.js';
import type { Progress } from './process.js';
import {
  freePort,
  ManagedProcess,
  makeTempDir,
  removeTempDir,
  runCommand,
  testbinDir,
  waitForPort,
  waitUntil,
} from './process.js';
import { VERSIONS } from './versions.js';

/** A provisioned Kafka distribution: the folder whose `*` is the broker's classpath. */
export interface KafkaInstall {
  /** Kafka version (VERSIONS.kafka). */
  readonly version: string;
  /** Folder with every runtime jar; the classpath is `<libs>/*`. */
  readonly libs: string;
  /** AppCDS archive of the broker's classes (halves JVM start-up), when one could be built. */
  readonly classArchive?: string;
}

const MARKER = '.complete';
const ARCHIVE = 'kafka-classes.jsa';

function pom(version: string, slf4jSimple: string | undefined): string {
  const binding =
    slf4jSimple === undefined
      ? ''
      : `<dependency><groupId>org.slf4j</groupId><artifactId>slf4j-simple</artifactId><version>${slf4jSimple}</version></dependency>`;
  return `<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.outrigger</groupId>
  <artifactId>kafka-testbin</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>${version}</version></dependency>
    ${binding}
  </dependencies>
</project>
`;
}

/**
 * Downloads the Kafka broker jars (plus an SLF4J binding matching the resolved slf4j-api) into the
 * cache, unless they are already there. Safe to call often: a cache hit is one `existsSync`.
 */
export async function ensureKafka(log: Progress = () => {}): Promise<KafkaInstall> {
  const version = VERSIONS.kafka;
  const home = testbinDir('kafka', version);
  const libs = join(home, 'libs');
  if (!existsSync(join(libs, MARKER))) await provisionJars(version, home, log);
  const archive = join(home, ARCHIVE);
  if (!existsSync(archive) && !existsSync(`${archive}.failed`))
    await buildClassArchive({ version, libs }, archive, log);
  return existsSync(archive) ? { version, libs, classArchive: archive } : { version, libs };
}

async function provisionJars(version: string, home: string, log: Progress): Promise<void> {
  const libs = join(home, 'libs');
  const { mvn } = await ensureJavaAndMaven(log);
  const staging = `${home}.partial-${process.pid}`;
  await rm(staging, { recursive: true, force: true });
  await mkdir(staging, { recursive: true });
  // Maven 3.8's default dependency plugin (2.8) is too old, so the plugin is always named in full.
  const plugin = `org.apache.maven.plugins:maven-dependency-plugin:${VERSIONS.mavenDependencyPlugin}`;
  const mvnArgs = ['-B', '-q', '-f', join(staging, 'pom.xml')];
  try {
    // 1. Resolve Kafka alone to learn which slf4j-api it brings: the Maven artifact ships no
    //    binding (KAFKA-6317), and a binding of the wrong SLF4J major is silently ignored.
    await writeFile(join(staging, 'pom.xml'), pom(version, undefined));
    log('resolving dependencies from Maven Central');
    const tree = join(staging, 'tree.txt');
    await runCommand(mvn, [...mvnArgs, `${plugin}:tree`, `-DoutputFile=${tree}`], { cwd: staging });
    const slf4j = /org\.slf4j:slf4j-api:jar:([^:\s]+)/.exec(await readFile(tree, 'utf8'))?.[1];
    if (slf4j === undefined) log('no slf4j-api in the dependency tree; not adding a binding');
    // 2. Add slf4j-simple of exactly that version (no config file needed) and copy every jar.
    await writeFile(join(staging, 'pom.xml'), pom(version, slf4j));
    const out = join(staging, 'libs');
    await runCommand(
      mvn,
      [...mvnArgs, `${plugin}:copy-dependencies`, '-DincludeScope=runtime', `-DoutputDirectory=${out}`],
      {
        cwd: staging,
      },
    );
    const jars = readdirSync(out).filter((f) => f.endsWith('.jar'));
    if (!jars.includes(`kafka_2.13-${version}.jar`)) {
      throw new Error(
        `copy-dependencies did not produce kafka_2.13-${version}.jar (got ${jars.length} jars)`,
      );
    }
    await writeFile(join(out, MARKER), `${jars.sort().join('\n')}\n`);
    log(`${jars.length} jars (slf4j-api ${slf4j ?? 'none'} + slf4j-simple)`);
    // Another process may have finished the same provisioning meanwhile; its copy is as good as
    // ours and may be in use, so it is kept.
    if (existsSync(join(libs, MARKER))) return;
    await rm(home, { recursive: true, force: true });
    try {
      await rename(staging, home);
    } catch (err) {
      if (!existsSync(join(libs, MARKER))) throw err;
    }
  } catch (err) {
    throw new Error(`could not provision Kafka ${version} jars into ${home}`, { cause: err });
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

/**
 * Records a dynamic AppCDS archive (JDK 13+) of the classes a broker loads while starting and
 * serving one admin request. Later brokers map it instead of parsing ~50 jars, which roughly
 * halves start-up on a busy 2-core machine. A broker that cannot start fails provisioning (every
 * Kafka test would fail anyway); a JVM that writes no archive only leaves a `.failed` marker, and
 * brokers then start without it.
 */
async function buildClassArchive(install: KafkaInstall, archive: string, log: Progress): Promise<void> {
  const partial = `${archive}.partial-${process.pid}`;
  log('recording a class-data-sharing archive (one broker start)');
  try {
    const broker = await launchBroker(install, [`-XX:ArchiveClassesAtExit=${partial}`], {});
    // The JVM writes the archive while exiting, after Kafka's own shutdown.
    await broker.stop();
    if (existsSync(partial)) {
      await rename(partial, archive);
    } else {
      log('the JVM wrote no class-data-sharing archive; brokers will start without one');
      await writeFile(`${archive}.failed`, 'no archive written by -XX:ArchiveClassesAtExit\n');
    }
  } catch (err) {
    throw new Error(`a Kafka ${install.version} broker could not start from ${install.libs}`, { cause: err });
  } finally {
    await rm(partial, { force: true });
  }
}

/** A running single-node Kafka broker. */
export interface KafkaBroker {
  /** Bootstrap servers for clients, e.g. ['127.0.0.1:40123']. */
  readonly brokers: string[];
  /** Broker host. */
  readonly host: string;
  /** PLAINTEXT listener port. */
  readonly port: number;
  /** The broker's stdout/stderr. */
  readonly logFile: string;
  /** The broker process (tracked by PID). */
  readonly process: ManagedProcess;
  /** Stops the broker by PID and removes its data dir. */
  stop(): Promise<void>;
}

/** Options for `startKafka`. */
export interface StartKafkaOptions {
  /** JVM max heap, default 512m. */
  readonly heap?: string;
  /** How long to wait for the broker to answer an admin request, default 120 s. */
  readonly readyTimeoutMs?: number;
  /** Extra server.properties lines (key → value) overriding the defaults. */
  readonly properties?: Readonly<Record<string, string>>;
  /** Use the full tiered JIT (for benchmarks); tests default to the faster-starting C1 only. */
  readonly fullJit?: boolean;
}

function serverProperties(
  port: number,
  controllerPort: number,
  dataDir: string,
  extra: Readonly<Record<string, string>>,
): string {
  const props: Record<string, string> = {
    'process.roles': 'broker,controller',
    'node.id': '1',
    // The 4.x dynamic-quorum form; storage is formatted with --standalone to match.
    'controller.quorum.bootstrap.servers': `127.0.0.1:${controllerPort}`,
    listeners: `PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}`,
    'advertised.listeners': `PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}`,
    'controller.listener.names': 'CONTROLLER',
    'inter.broker.listener.name': 'PLAINTEXT',
    'listener.security.protocol.map': 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
    'log.dirs': dataDir,
    'num.partitions': '1',
    // Single node: internal topics must have replication factor 1, or __consumer_offsets is never
    // created and consumer groups hang ("group coordinator is not available").
    'offsets.topic.replication.factor': '1',
    'offsets.topic.num.partitions': '1',
    'transaction.state.log.replication.factor': '1',
    'transaction.state.log.min.isr': '1',
    'share.coordinator.state.topic.replication.factor': '1',
    'share.coordinator.state.topic.min.isr': '1',
    'group.initial.rebalance.delay.ms': '0',
    'auto.create.topics.enable': 'true',
    ...extra,
  };
  return `${Object.entries(props)
    .map(([k, v]) => `${k}=${v}`)
    .join('\n')}\n`;
}

/** Starts a fresh single-node KRaft broker on free ports and waits until kafkajs can list topics. */
export async function startKafka(options: StartKafkaOptions = {}): Promise<KafkaBroker> {
  const install = await ensureKafka();
  const jvm: string[] = [];
  if (install.classArchive !== undefined) jvm.push(`-XX:SharedArchiveFile=${install.classArchive}`);
  // C1-only JIT: a test broker lives for seconds to minutes, where start-up beats peak speed.
  if (options.fullJit !== true) jvm.push('-XX:TieredStopAtLevel=1');
  return await launchBroker(install, jvm, options);
}

async function launchBroker(
  install: KafkaInstall,
  extraJvm: readonly string[],
  options: StartKafkaOptions,
): Promise<KafkaBroker> {
  const java = findExecutable('java');
  if (java === undefined) throw new Error('java not found: run ensureKafka() (test/env/ensure) first');
  const dir = await makeTempDir('kafka');
  let proc: ManagedProcess | undefined;
  try {
    const host = '127.0.0.1';
    const port = await freePort();
    const controllerPort = await freePort();
    const config = join(dir, 'server.properties');
    await writeFile(
      config,
      serverProperties(port, controllerPort, join(dir, 'data'), options.properties ?? {}),
    );
    const classpath = `${install.libs}/*`;
    // A Kafka cluster id is a UUID in URL-safe base64 without padding (22 chars).
    let clusterId = randomBytes(16).toString('base64url');
    // One id in 64 starts with '-', which kafka-storage's argument parser reads as an option.
    while (clusterId.startsWith('-')) clusterId = randomBytes(16).toString('base64url');
    const jvm = [
      `-Xmx${options.heap ?? '512m'}`,
      '-Xms128m',
      '-Djava.awt.headless=true',
      `-Dkafka.logs.dir=${join(dir, 'logs')}`,
      '-Dorg.slf4j.simpleLogger.showDateTime=true',
      '-Dorg.slf4j.simpleLogger.dateTimeFormat=HH:mm:ss.SSS',
    ];
    // The formatter is a short-lived JVM: the C1-only JIT roughly halves its run time.
    await runCommand(
      java,
      [
        ...jvm,
        '-XX:TieredStopAtLevel=1',
        '-cp',
        classpath,
        'kafka.tools.StorageTool',
        'format',
        '--standalone',
        '-t',
        clusterId,
        '-c',
        config,
      ],
      {
        cwd: dir,
      },
    );
    const logFile = join(dir, 'kafka.log');
    proc = await ManagedProcess.start({
      name: 'kafka',
      command: java,
      args: [...jvm, ...extraJvm, '-cp', classpath, 'kafka.Kafka', config],
      cwd: dir,
      logFile,
    });
    const timeoutMs = options.readyTimeoutMs ?? 120_000;
    await waitForPort(host, port, timeoutMs, { process: proc });
    const brokers = [`${host}:${port}`];
    const admin = new Kafka({
      clientId: 'outrigger-env',
      brokers,
      logLevel: logLevel.NOTHING,
      retry: { retries: 0 },
    }).admin();
    try {
      await waitUntil(
        `kafka at ${brokers[0]} to answer an admin request`,
        async () => {
          await admin.connect();
          await admin.listTopics();
          return true;
        },
        timeoutMs,
        { process: proc, intervalMs: 250 },
      );
    } finally {
      await admin.disconnect().catch(() => {});
    }
    const started = proc;
    return {
      brokers,
      host,
      port,
      logFile,
      process: started,
      async stop() {
        await started.stop(30_000);
        await removeTempDir(dir);
      },
    };
  } catch (err) {
    await proc?.stop(5_000);
    await removeTempDir(dir);
    throw err;
  }
}
