/**
 * A private PostgreSQL cluster for a test: `initdb` into a temp folder, `postgres` on a free
 * loopback port with its socket in that folder and durability turned off (`fsync=off`). Never the
 * cluster that Debian's package may have started on 5432.
 *
 * postgres refuses to run as root, so when the tests run as root (CI) the cluster belongs to an
 * unprivileged system user: `postgres` from the Debian package, or `outrigger-pg` created here.
 */
import { randomBytes } from 'node:crypto';
import { chown, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { ensureDebianPackages } from './debian.js';
import { freePort, ManagedProcess, makeTempDir, removeTempDir, runCommand, waitUntil } from './process.js';

/** A running PostgreSQL server with one password-protected superuser. */
export interface PostgresServer {
  /** Always 127.0.0.1. */
  readonly host: string;
  /** TCP port. */
  readonly port: number;
  /** Superuser name. */
  readonly user: string;
  /** Superuser password (scram-sha-256 over TCP). */
  readonly password: string;
  /** Database created for the test. */
  readonly database: string;
  /** `postgres://user:password@127.0.0.1:port/database`. */
  readonly connectionString: string;
  /** The server's log. */
  readonly logFile: string;
  /** The server process (tracked by PID). */
  readonly process: ManagedProcess;
  /** Fast-shuts the server down by PID and removes its data dir. */
  stop(): Promise<void>;
}

/** Options for `startPostgres`. */
export interface StartPostgresOptions {
  /** Extra `-c name=value` server settings. */
  readonly settings?: Readonly<Record<string, string>>;
  /** Readiness timeout, default 60 s. */
  readonly readyTimeoutMs?: number;
}

/** The account that owns the cluster; undefined means "the current user" (not root). */
interface Owner {
  readonly uid: number;
  readonly gid: number;
}

const FALLBACK_USER = 'outrigger-pg';

async function lookupUser(name: string): Promise<Owner | undefined> {
  const res = await runCommand('getent', ['passwd', name], { allowFailure: true });
  if (res.code !== 0) return undefined;
  const fields = res.stdout.trim().split(':');
  const uid = Number(fields[2]);
  const gid = Number(fields[3]);
  return Number.isInteger(uid) && Number.isInteger(gid) ? { uid, gid } : undefined;
}

async function clusterOwner(): Promise<Owner | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  const existing = (await lookupUser('postgres')) ?? (await lookupUser(FALLBACK_USER));
  if (existing !== undefined) return existing;
  // Two suites may race here; a second useradd fails with "already exists", which is fine.
  await runCommand(
    'useradd',
    ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', FALLBACK_USER],
    {
      allowFailure: true,
    },
  );
  const created = await lookupUser(FALLBACK_USER);
  if (created === undefined)
    throw new Error(`could not create the system user ${FALLBACK_USER} to run postgres as`);
  return created;
}

async function query(connectionString: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    await client.query(sql);
  } finally {
    await client.end().catch(() => {});
  }
}

async function waitForOtherClientsToLeave(connectionString: string, timeoutMs: number): Promise<void> {
  const client = new pg.Client({ connectionString, connectionTimeoutMillis: 2000 });
  client.on('error', () => {});
  try {
    await client.connect();
    await waitUntil(
      'other postgres clients to disconnect',
      async () => {
        const { rows } = await client.query<{ n: number }>(
          "SELECT count(*)::int AS n FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()",
        );
        return rows[0]?.n === 0;
      },
      timeoutMs,
      { intervalMs: 25 },
    );
  } catch {
    // Clients still connected after the timeout are the test's business; shut down anyway.
  } finally {
    await client.end().catch(() => {});
  }
}

/** Creates a fresh cluster, starts postgres on a free port and waits until it accepts a query. */
export async function startPostgres(options: StartPostgresOptions = {}): Promise<PostgresServer> {
  const { postgresBin } = await ensureDebianPackages();
  const owner = await clusterOwner();
  const runAs = owner === undefined ? {} : { uid: owner.uid, gid: owner.gid };
  const dir = await makeTempDir('postgres');
  let proc: ManagedProcess | undefined;
  try {
    const host = '127.0.0.1';
    const user = 'outrigger';
    const password = randomBytes(12).toString('hex');
    const database = 'outrigger';
    const dataDir = join(dir, 'data');
    const pwFile = join(dir, 'pwfile');
    await writeFile(pwFile, `${password}\n`, { mode: 0o600 });
    if (owner !== undefined) {
      await chown(dir, owner.uid, owner.gid);
      await chown(pwFile, owner.uid, owner.gid);
    }
    const env = { ...process.env, LC_ALL: 'C', LANG: 'C' };
    await runCommand(
      join(postgresBin, 'initdb'),
      [
        '-D',
        dataDir,
        '-U',
        user,
        `--pwfile=${pwFile}`,
        '--auth-local=trust',
        '--auth-host=scram-sha-256',
        '-E',
        'UTF8',
        '--locale=C',
        '--no-sync',
        '--no-instructions',
      ],
      { cwd: dir, env, ...runAs },
    );
    const port = await freePort();
    const settings: Record<string, string> = {
      listen_addresses: host,
      unix_socket_directories: dir,
      fsync: 'off',
      synchronous_commit: 'off',
      full_page_writes: 'off',
      max_connections: '200',
      ...options.settings,
    };
    const logFile = join(dir, 'postgres.log');
    proc = await ManagedProcess.start({
      name: 'postgres',
      command: join(postgresBin, 'postgres'),
      args: [
        '-D',
        dataDir,
        '-p',
        String(port),
        '-k',
        dir,
        ...Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`]),
      ],
      cwd: dir,
      env,
      logFile,
      ...runAs,
    });
    const auth = `${encodeURIComponent(user)}:${encodeURIComponent(password)}@${host}:${port}`;
    // The port opens before recovery finishes ("the database system is starting up"): wait for a query.
    await waitUntil(
      `postgres on ${host}:${port} to accept a query`,
      async () => {
        await query(`postgres://${auth}/postgres`, 'SELECT 1');
        return true;
      },
      options.readyTimeoutMs ?? 60_000,
      { process: proc, intervalMs: 100 },
    );
    await query(`postgres://${auth}/postgres`, `CREATE DATABASE ${database}`);
    const started = proc;
    return {
      host,
      port,
      user,
      password,
      database,
      connectionString: `postgres://${auth}/${database}`,
      logFile,
      process: started,
      async stop() {
        // pg's Pool.end() resolves before its sockets are closed; a backend killed by the shutdown
        // then makes the still-closing client emit an unhandled 'error'. Give them a moment.
        await waitForOtherClientsToLeave(`postgres://${auth}/postgres`, 3_000);
        // SIGINT is postgres' "fast" shutdown; SIGTERM would wait for every client to disconnect.
        await started.stop(10_000, 'SIGINT');
        await removeTempDir(dir);
      },
    };
  } catch (err) {
    await proc?.stop(2_000, 'SIGINT');
    await removeTempDir(dir);
    throw err;
  }
}
