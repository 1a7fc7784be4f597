/**
 * Debian-packaged services (Redis, PostgreSQL, NATS with JetStream) and the Java/Maven toolchain
 * for Kafka: find the binaries, and `apt-get install` what is missing. The package's own system
 * services (e.g. Debian's auto-started PostgreSQL cluster on 5432) are never used: tests start
 * their own instances on free ports.
 */
import { accessSync, constants, readdirSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { Progress } from './process.js';
import { runCommand } from './process.js';
import { VERSIONS } from './versions.js';

/** Absolute paths of the Debian-provided service binaries. */
export interface DebianTools {
  /** `redis-server`. */
  readonly redisServer: string;
  /** `nats-server` (checked to support JetStream). */
  readonly natsServer: string;
  /** Folder holding `postgres`, `initdb` and `pg_ctl`, e.g. /usr/lib/postgresql/15/bin. */
  readonly postgresBin: string;
}

const SYSTEM_DIRS = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Finds an executable on PATH or in the usual system folders (sbin is often not on PATH). */
export function findExecutable(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter).filter((d) => d !== ''), ...SYSTEM_DIRS];
  for (const dir of dirs) {
    const candidate = join(dir, name);
    if (isExecutable(candidate)) return candidate;
  }
  return undefined;
}

/** Newest /usr/lib/postgresql/<major>/bin holding both `postgres` and `initdb`, if any. */
export function findPostgresBin(): string | undefined {
  const root = '/usr/lib/postgresql';
  let majors: string[];
  try {
    majors = readdirSync(root).filter((d) => /^\d+$/.test(d));
  } catch {
    return undefined;
  }
  majors.sort((a, b) => Number(b) - Number(a));
  for (const major of majors) {
    const bin = join(root, major, 'bin');
    if (isExecutable(join(bin, 'postgres')) && isExecutable(join(bin, 'initdb'))) return bin;
  }
  return undefined;
}

/** Runs `apt-get update` then `apt-get install -y <packages>`; needs root and says so otherwise. */
export async function aptInstall(packages: readonly string[], log: Progress): Promise<void> {
  if (process.getuid?.() !== 0) {
    throw new Error(
      `cannot provision ${packages.join(', ')}: not running as root. Install them yourself ` +
        `(sudo apt-get install -y ${packages.join(' ')}) or run the tests as root.`,
    );
  }
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  // Another suite may be installing at the same time; wait for dpkg's lock instead of failing.
  const lock = ['-o', 'DPkg::Lock::Timeout=600'];
  log(`apt-get update`);
  await runCommand('apt-get', [...lock, 'update'], { env });
  log(`apt-get install -y ${packages.join(' ')}`);
  await runCommand('apt-get', [...lock, 'install', '-y', '--no-install-recommends', ...packages], { env });
}

/** Parses `nats-server --version` ("nats-server: v2.9.10") into [major, minor, patch]. */
export function parseNatsVersion(output: string): [number, number, number] | undefined {
  const m = /v?(\d+)\.(\d+)\.(\d+)/.exec(output);
  if (m === null) return undefined;
  return [Number(m[1]), Number(m[2]), Number(m[3])];
}

async function checkNatsJetStream(natsServer: string): Promise<void> {
  const { stdout, stderr } = await runCommand(natsServer, ['--version']);
  const version = parseNatsVersion(`${stdout}${stderr}`);
  // JetStream (the -js flag) shipped in nats-server 2.2.0.
  if (version === undefined || version[0] < 2 || (version[0] === 2 && version[1] < 2)) {
    throw new Error(
      `${natsServer} reports "${(stdout + stderr).trim()}": JetStream needs nats-server 2.2 or newer`,
    );
  }
}

interface Located {
  readonly redisServer: string | undefined;
  readonly natsServer: string | undefined;
  readonly postgresBin: string | undefined;
  readonly missing: readonly string[];
}

function locate(): Located {
  const redisServer = findExecutable('redis-server');
  const natsServer = findExecutable('nats-server');
  const postgresBin = findPostgresBin();
  const missing: string[] = [];
  if (redisServer === undefined) missing.push('redis-server');
  if (postgresBin === undefined) missing.push('postgresql');
  if (natsServer === undefined) missing.push('nats-server');
  return { redisServer, natsServer, postgresBin, missing };
}

/**
 * Makes sure redis-server, PostgreSQL and nats-server are installed (installing the Debian
 * packages in VERSIONS.debianPackages if any is missing) and returns their paths.
 */
export async function ensureDebianPackages(log: Progress = () => {}): Promise<DebianTools> {
  let found = locate();
  if (found.missing.length > 0) {
    log(`missing ${found.missing.join(', ')}; installing Debian packages`);
    await aptInstall(VERSIONS.debianPackages, log);
    found = locate();
    if (found.missing.length > 0) {
      throw new Error(`still missing after apt-get install: ${found.missing.join(', ')}`);
    }
  }
  const { redisServer, natsServer, postgresBin } = found;
  if (redisServer === undefined || natsServer === undefined || postgresBin === undefined) {
    throw new Error('unreachable: Debian tools located but incomplete');
  }
  await checkNatsJetStream(natsServer);
  return { redisServer, natsServer, postgresBin };
}

/** Ensures a JDK 17+ `java` and `mvn` exist (for the Kafka jars), installing them if not. */
export async function ensureJavaAndMaven(log: Progress = () => {}): Promise<{ java: string; mvn: string }> {
  let java = findExecutable('java');
  let mvn = findExecutable('mvn');
  if (java === undefined || mvn === undefined) {
    log(`missing ${[java ? '' : 'java', mvn ? '' : 'mvn'].filter(Boolean).join(' and ')}; installing`);
    await aptInstall(['default-jdk-headless', 'maven'], log);
    java = findExecutable('java');
    mvn = findExecutable('mvn');
    if (java === undefined || mvn === undefined)
      throw new Error('java or mvn still missing after apt-get install');
  }
  const { stdout, stderr } = await runCommand(java, ['-version']);
  const m = /version "(\d+)(?:\.(\d+))?/.exec(stdout + stderr);
  let major = m === null ? 0 : Number(m[1]);
  if (major === 1 && m !== null) major = Number(m[2]); // "1.8.0" style
  // Kafka 4.x brokers need Java 17+ (kafka.apache.org/40 compatibility table).
  if (major < 17)
    throw new Error(`Kafka 4 needs Java 17 or newer; ${java} is ${(stdout + stderr).split('\n')[0]}`);
  return { java, mvn };
}
