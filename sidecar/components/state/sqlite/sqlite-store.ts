import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
// The driver is imported in init(), so a sidecar without a SQLite component never loads it (cold start).
import type Database from 'better-sqlite3';
import type {
  BulkGetItem,
  DeleteRequest,
  GetRequest,
  GetResponse,
  QueryableStore,
  QueryResponse,
  RequestMetadata,
  SetRequest,
  StateFeature,
  StateQuery,
  StateStore,
  TransactionalStore,
  TransactionOperation,
} from '../../../state/state-store.js';
import { ETagError } from '../../../state/state-store.js';
import type { ComponentInit, Logger } from '../../component.js';
import type { MetadataSchema } from '../../metadata-schema.js';
import {
  assertUuidEtag,
  expiryFor,
  isFirstWrite,
  jsonText,
  toBuffer,
  ttlMetadata,
} from '../shared/state-value.js';
import { openTarget } from './sqlite-connection.js';
import { sqliteQuery } from './sqlite-query.js';

/** `state.sqlite` metadata, named as in components-contrib. */
export const SQLITE_SCHEMA: MetadataSchema = {
  actorStateStore: { type: 'boolean', default: false, description: 'Use this store for actor state' },
  connectionString: {
    type: 'string',
    default: '',
    description: 'Database file path or file: URI; default <dataDir>/state.db',
  },
  tableName: { type: 'string', default: 'state', description: 'Table holding the state' },
  metadataTableName: {
    type: 'string',
    default: 'metadata',
    description: 'Table holding migration and cleanup bookkeeping',
  },
  timeout: {
    type: 'duration',
    default: '20s',
    aliases: ['timeoutInSeconds'],
    description: 'Operation timeout (the driver is synchronous; kept for compatibility)',
  },
  cleanupInterval: {
    type: 'duration',
    default: '1h',
    aliases: ['cleanupIntervalInSeconds'],
    description: 'How often expired rows are deleted; <= 0 disables',
  },
  busyTimeout: {
    type: 'duration',
    default: '2s',
    description: 'How long a writer waits for a lock held by another process',
  },
  disableWAL: { type: 'boolean', default: false, description: 'Use the rollback journal instead of WAL' },
};

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

interface Row {
  readonly key: string;
  readonly value: string;
  readonly is_binary: number;
  readonly etag: string;
  readonly expiration_time: number | null;
}

function encode(value: Uint8Array): { text: string; binary: number } {
  const text = jsonText(value);
  return text === undefined ? { text: toBuffer(value).toString('base64'), binary: 1 } : { text, binary: 0 };
}

function decode(row: { value: string; is_binary: number }): Uint8Array {
  return row.is_binary
    ? new Uint8Array(Buffer.from(row.value, 'base64'))
    : new Uint8Array(Buffer.from(row.value, 'utf8'));
}

/**
 * `state.sqlite`: the embedded default. One table per store in a WAL-mode file, so several
 * sidecars on one machine can share it. JSON values are kept as text (queryable with SQLite's
 * JSON functions); other bytes as base64 with `is_binary = 1`. ETags are random UUIDs.
 */
export class SqliteStateStore implements StateStore, TransactionalStore, QueryableStore {
  readonly #features = new Set<StateFeature>(['ETAG', 'TRANSACTIONAL', 'TTL', 'QUERY_API']);
  #db: Database.Database | undefined;
  #table = 'state';
  #metaTable = 'metadata';
  #cleanupMs = 0;
  #timer: NodeJS.Timeout | undefined;
  #logger: Logger | undefined;
  readonly #statements = new Map<string, Database.Statement>();

  /** Capabilities; `ACTOR` is added at init when metadata says `actorStateStore: true` (as daprd reports it). */
  get features(): ReadonlySet<StateFeature> {
    return this.#features;
  }

  /** Opens (creating if needed) the database file and the tables. */
  async init(init: ComponentInit): Promise<void> {
    const md = init.metadata;
    if (md.actorStateStore === true) this.#features.add('ACTOR');
    this.#logger = init.logger;
    this.#table = String(md.tableName ?? 'state');
    this.#metaTable = String(md.metadataTableName ?? 'metadata');
    for (const [field, name] of [
      ['tableName', this.#table],
      ['metadataTableName', this.#metaTable],
    ] as const) {
      if (!IDENT.test(name))
        throw new Error(`state.sqlite ${init.name}: ${field} "${name}" must be a plain SQL identifier`);
    }
    const conn = String(md.connectionString ?? '');
    const target = openTarget(conn === '' ? join(init.dataDir, 'state.db') : conn);
    if (target.file !== ':memory:' && !target.readonly) mkdirSync(dirname(target.file), { recursive: true });
    const busy = typeof md.busyTimeout === 'number' ? md.busyTimeout : 2000;
    const { default: SqliteDatabase } = await import('better-sqlite3');
    let db: Database.Database;
    try {
      db = new SqliteDatabase(target.file, { readonly: target.readonly, timeout: busy });
    } catch (err) {
      throw new Error(`state.sqlite ${init.name}: cannot open ${target.file}: ${(err as Error).message}`, {
        cause: err,
      });
    }
    try {
      if (target.file !== ':memory:' && md.disableWAL !== true && !target.readonly)
        db.pragma('journal_mode = WAL');
      this.#migrate(db);
    } catch (err) {
      db.close();
      throw new Error(`state.sqlite ${init.name}: cannot open ${target.file}: ${(err as Error).message}`, {
        cause: err,
      });
    }
    this.#db = db;
    this.#cleanupMs = typeof md.cleanupInterval === 'number' ? md.cleanupInterval : 3_600_000;
    if (this.#cleanupMs > 0 && !target.readonly) {
      this.#timer = setInterval(() => this.#cleanup(), this.#cleanupMs);
      this.#timer.unref();
    }
  }

  /** Stops the cleanup timer and closes the database handle. */
  async close(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    this.#statements.clear();
    this.#db?.close();
    this.#db = undefined;
  }

  async ping(): Promise<void> {
    this.#stmt('SELECT 1').get();
  }

  async get(req: GetRequest): Promise<GetResponse | undefined> {
    const row = this.#stmt(
      `SELECT key, value, is_binary, etag, expiration_time FROM ${this.#table} WHERE key = ? AND (expiration_time IS NULL OR expiration_time > ?)`,
    ).get(req.key, Date.now()) as Row | undefined;
    if (!row) return undefined;
    const md = ttlMetadata(row.expiration_time);
    return { data: decode(row), etag: row.etag, ...(md ? { metadata: md } : {}) };
  }

  async bulkGet(keys: readonly GetRequest[]): Promise<BulkGetItem[]> {
    const db = this.#open();
    const stmt = this.#stmt(
      `SELECT key, value, is_binary, etag, expiration_time FROM ${this.#table} WHERE key = ? AND (expiration_time IS NULL OR expiration_time > ?)`,
    );
    const now = Date.now();
    // One read transaction gives a consistent snapshot across keys.
    return db.transaction(() =>
      keys.map((k): BulkGetItem => {
        const row = stmt.get(k.key, now) as Row | undefined;
        if (!row) return { key: k.key };
        const md = ttlMetadata(row.expiration_time);
        return { key: k.key, data: decode(row), etag: row.etag, ...(md ? { metadata: md } : {}) };
      }),
    )();
  }

  async set(req: SetRequest): Promise<void> {
    this.#setIn(req);
  }

  async delete(req: DeleteRequest): Promise<void> {
    this.#deleteIn(req);
  }

  async multi(operations: readonly TransactionOperation[], _metadata: RequestMetadata): Promise<void> {
    const db = this.#open();
    // IMMEDIATE takes the write lock up front, so two processes never deadlock upgrading a read lock.
    db.transaction(() => {
      for (const op of operations) {
        if (op.operation === 'upsert') this.#setIn(op.request);
        else this.#deleteIn(op.request);
      }
    }).immediate();
  }

  async query(
    query: StateQuery,
    metadata: RequestMetadata & { readonly keyPrefix?: string },
  ): Promise<QueryResponse> {
    const q = sqliteQuery(this.#table, query, metadata.keyPrefix ?? '', Date.now());
    const rows = this.#stmt(q.sql).all(...q.params) as { key: string; value: string; etag: string }[];
    const more = q.limit > 0 && rows.length > q.limit;
    const page = more ? rows.slice(0, q.limit) : rows;
    const results = page.map((r) => ({
      key: r.key,
      data: new Uint8Array(Buffer.from(r.value, 'utf8')),
      etag: r.etag,
    }));
    return more ? { results, token: String(q.offset + q.limit) } : { results };
  }

  /** A cached prepared statement: preparing is the costly part of a better-sqlite3 call. */
  #stmt(sql: string): Database.Statement {
    let stmt = this.#statements.get(sql);
    if (!stmt) {
      // Query SQL varies with the filter's shape; keep the cache bounded.
      if (this.#statements.size >= 256) this.#statements.clear();
      stmt = this.#open().prepare(sql);
      this.#statements.set(sql, stmt);
    }
    return stmt;
  }

  #open(): Database.Database {
    if (!this.#db) throw new Error('state store is closed');
    return this.#db;
  }

  #setIn(req: SetRequest): void {
    const now = Date.now();
    const expires = expiryFor(req.metadata, now) ?? null;
    const { text, binary } = encode(req.value);
    const etag = randomUUID();
    const t = this.#table;
    if (req.etag !== undefined) {
      assertUuidEtag(req.etag);
      const r = this.#stmt(
        `UPDATE ${t} SET value = ?, is_binary = ?, etag = ?, expiration_time = ?, update_time = ? WHERE key = ? AND etag = ? AND (expiration_time IS NULL OR expiration_time > ?)`,
      ).run(text, binary, etag, expires, now, req.key, req.etag, now);
      if (r.changes === 0) throw new ETagError('mismatch');
      return;
    }
    const insert = `INSERT INTO ${t} (key, value, is_binary, etag, expiration_time, update_time) VALUES (?, ?, ?, ?, ?, ?)
      ON CONFLICT (key) DO UPDATE SET value = excluded.value, is_binary = excluded.is_binary, etag = excluded.etag,
      expiration_time = excluded.expiration_time, update_time = excluded.update_time`;
    if (isFirstWrite(req.options)) {
      // First-write: only a missing (or expired) row may be replaced.
      const r = this.#stmt(
        `${insert} WHERE ${t}.expiration_time IS NOT NULL AND ${t}.expiration_time <= ?`,
      ).run(req.key, text, binary, etag, expires, now, now);
      if (r.changes === 0) throw new ETagError('mismatch');
      return;
    }
    this.#stmt(insert).run(req.key, text, binary, etag, expires, now);
  }

  #deleteIn(req: DeleteRequest): void {
    if (req.etag === undefined) {
      this.#stmt(`DELETE FROM ${this.#table} WHERE key = ?`).run(req.key);
      return;
    }
    assertUuidEtag(req.etag);
    const r = this.#stmt(
      `DELETE FROM ${this.#table} WHERE key = ? AND etag = ? AND (expiration_time IS NULL OR expiration_time > ?)`,
    ).run(req.key, req.etag, Date.now());
    if (r.changes === 0) throw new ETagError('mismatch');
  }

  #migrate(db: Database.Database): void {
    if (db.readonly) return;
    db.transaction(() => {
      db.exec(
        `CREATE TABLE IF NOT EXISTS ${this.#metaTable} (key TEXT NOT NULL PRIMARY KEY, value TEXT NOT NULL)`,
      );
      db.exec(`CREATE TABLE IF NOT EXISTS ${this.#table} (
        key TEXT NOT NULL PRIMARY KEY,
        value TEXT NOT NULL,
        is_binary INTEGER NOT NULL,
        etag TEXT NOT NULL,
        expiration_time INTEGER NULL,
        update_time INTEGER NOT NULL)`);
      db.exec(
        `CREATE INDEX IF NOT EXISTS ${this.#table}_expiration_time ON ${this.#table} (expiration_time)`,
      );
      db.prepare(
        `INSERT INTO ${this.#metaTable} (key, value) VALUES ('migrations', '1') ON CONFLICT (key) DO NOTHING`,
      ).run();
    }).immediate();
  }

  /** Deletes expired rows, at most once per interval across every process sharing the file. */
  #cleanup(): void {
    const db = this.#db;
    if (!db) return;
    try {
      const now = Date.now();
      const deleted = db
        .transaction(() => {
          const last = db
            .prepare(`SELECT value FROM ${this.#metaTable} WHERE key = 'last-cleanup-${this.#table}'`)
            .get() as { value: string } | undefined;
          if (last && now - Number(last.value) < this.#cleanupMs * 0.95) return 0;
          db.prepare(
            `INSERT INTO ${this.#metaTable} (key, value) VALUES ('last-cleanup-${this.#table}', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
          ).run(String(now));
          return db
            .prepare(`DELETE FROM ${this.#table} WHERE expiration_time IS NOT NULL AND expiration_time <= ?`)
            .run(now).changes;
        })
        .immediate();
      if (deleted > 0) this.#logger?.debug('deleted expired state rows', { count: deleted });
    } catch (err) {
      this.#logger?.warn('state.sqlite cleanup failed', { error: String(err) });
    }
  }
}
