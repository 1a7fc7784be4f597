import { randomUUID } from 'node:crypto';
// The driver is imported in init(), so a sidecar without a PostgreSQL component never loads it (cold start).
import type pg from 'pg';
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
import { ETagError, parseTtlSeconds } from '../../../state/state-store.js';
import type { ComponentInit } from '../../component.js';
import type { MetadataSchema } from '../../metadata-schema.js';
import { assertUuidEtag, isFirstWrite, jsonText, toBuffer, ttlMetadata } from '../shared/state-value.js';
import { postgresQuery } from './postgresql-query.js';
import { migrate, qualifiedName } from './postgresql-schema.js';

/** `state.postgresql` metadata (v1 and v2), named as in components-contrib. */
export const POSTGRESQL_SCHEMA: MetadataSchema = {
  connectionString: {
    type: 'string',
    required: true,
    sensitive: true,
    aliases: ['url'],
    description: 'libpq connection string or postgres:// URL',
  },
  tableName: {
    type: 'string',
    default: 'state',
    description: 'Table holding the state, optionally schema-qualified (schema.table)',
  },
  metadataTableName: {
    type: 'string',
    default: 'dapr_metadata',
    description: 'Table holding migration and cleanup bookkeeping',
  },
  timeout: {
    type: 'duration',
    default: '20s',
    aliases: ['timeoutInSeconds'],
    description: 'Statement timeout',
  },
  cleanupInterval: {
    type: 'duration',
    default: '1h',
    aliases: ['cleanupIntervalInSeconds'],
    description: 'How often expired rows are deleted; <= 0 disables',
  },
  maxConns: { type: 'integer', default: 10, min: 1, description: 'Connection pool size' },
  connectionMaxIdleTime: {
    type: 'duration',
    default: '0s',
    description: 'Close pooled connections idle this long (0 keeps them)',
  },
  actorStateStore: { type: 'boolean', default: false, description: 'Use this store for actor state' },
};

/** Anything that runs a query: the pool or one checked-out client inside a transaction. */
type Queryable = Pick<pg.Pool, 'query'> | pg.PoolClient;

interface Row {
  readonly value: string;
  readonly isbinary: boolean;
  readonly etag: string;
  readonly expiredate: Date | null;
}

/**
 * JSONB rejects U+0000 and unpaired surrogates written as `\u` escapes (JSON.stringify emits
 * lone surrogates that way). Such values are kept as base64 so they still round-trip.
 * An escaped backslash before `u` can trip this check; that only costs queryability.
 */
function jsonbCanHold(text: string): boolean {
  if (text.includes('\\u0000')) return false;
  for (const m of text.matchAll(
    /\\u[dD]([89abAB])[0-9a-fA-F]{2}(\\u[dD][c-fC-F][0-9a-fA-F]{2})?|\\u[dD][c-fC-F][0-9a-fA-F]{2}/g,
  )) {
    if (m[1] === undefined || m[2] === undefined) return false;
  }
  return true;
}

function encode(value: Uint8Array): { json: string; binary: boolean } {
  const text = jsonText(value);
  // JSONB cannot hold U+0000 inside strings; such values are kept as base64 like other bytes.
  if (text === undefined || !jsonbCanHold(text))
    return { json: JSON.stringify(toBuffer(value).toString('base64')), binary: true };
  return { json: text, binary: false };
}

function decode(row: Pick<Row, 'value' | 'isbinary'>): Uint8Array {
  if (row.isbinary) return new Uint8Array(Buffer.from(JSON.parse(row.value) as string, 'base64'));
  return new Uint8Array(Buffer.from(row.value, 'utf8'));
}

const LIVE = '(expiredate IS NULL OR expiredate > now())';

/**
 * `state.postgresql` (v1 and v2 accepted, v2 semantics): JSONB values (queryable; bytes that are
 * not JSON are kept base64 with `isbinary`), random-UUID ETags, TTL through `expiredate` (using
 * the database clock, so sidecars agree), transactions as BEGIN/COMMIT on one pooled connection.
 * JSON values come back in PostgreSQL's normalised JSONB text, as with contrib.
 */
export class PostgresqlStateStore implements StateStore, TransactionalStore, QueryableStore {
  readonly #features = new Set<StateFeature>(['ETAG', 'TRANSACTIONAL', 'TTL', 'QUERY_API']);
  #pool: pg.Pool | undefined;
  #table = 'state';
  #timer: NodeJS.Timeout | undefined;

  /** Capabilities; `ACTOR` is added at init when metadata says `actorStateStore: true` (as daprd reports it). */
  get features(): ReadonlySet<StateFeature> {
    return this.#features;
  }

  /** Connects, then creates the schema, tables and index if missing. */
  async init(init: ComponentInit): Promise<void> {
    const md = init.metadata;
    if (md.actorStateStore === true) this.#features.add('ACTOR');
    this.#table = qualifiedName('tableName', String(md.tableName ?? 'state'));
    const metaTable = qualifiedName('metadataTableName', String(md.metadataTableName ?? 'dapr_metadata'));
    const timeout = typeof md.timeout === 'number' ? md.timeout : 20_000;
    const idle = typeof md.connectionMaxIdleTime === 'number' ? md.connectionMaxIdleTime : 0;
    const { default: driver } = await import('pg');
    const pool = new driver.Pool({
      connectionString: String(md.connectionString),
      max: typeof md.maxConns === 'number' ? md.maxConns : 10,
      idleTimeoutMillis: idle,
      connectionTimeoutMillis: timeout,
      statement_timeout: timeout,
      application_name: `outrigger-state-${init.name}`,
    });
    pool.on('error', (err) => init.logger.warn('postgresql idle client error', { error: err.message }));
    try {
      await migrate(pool, this.#table, metaTable);
    } catch (err) {
      await pool.end().catch(() => undefined);
      throw new Error(`state.postgresql ${init.name}: cannot initialise: ${(err as Error).message}`, {
        cause: err,
      });
    }
    this.#pool = pool;
    const every = typeof md.cleanupInterval === 'number' ? md.cleanupInterval : 3_600_000;
    if (every > 0) {
      this.#timer = setInterval(() => {
        this.#cleanup(metaTable, every).catch((err: Error) =>
          init.logger.warn('state.postgresql cleanup failed', { error: err.message }),
        );
      }, every);
      this.#timer.unref();
    }
  }

  /** Stops the cleanup timer and ends every pooled connection. */
  async close(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    const pool = this.#pool;
    this.#pool = undefined;
    await pool?.end();
  }

  async ping(): Promise<void> {
    await this.#open().query('SELECT 1');
  }

  async get(req: GetRequest): Promise<GetResponse | undefined> {
    const r = await this.#open().query<Row>(
      `SELECT value::text AS value, isbinary, etag::text AS etag, expiredate FROM ${this.#table} WHERE key = $1 AND ${LIVE}`,
      [req.key],
    );
    const row = r.rows[0];
    if (!row) return undefined;
    const md = ttlMetadata(row.expiredate?.getTime());
    return { data: decode(row), etag: row.etag, ...(md ? { metadata: md } : {}) };
  }

  async bulkGet(keys: readonly GetRequest[]): Promise<BulkGetItem[]> {
    const r = await this.#open().query<Row & { key: string }>(
      `SELECT key, value::text AS value, isbinary, etag::text AS etag, expiredate FROM ${this.#table} WHERE key = ANY($1::text[]) AND ${LIVE}`,
      [keys.map((k) => k.key)],
    );
    const byKey = new Map(r.rows.map((row) => [row.key, row]));
    return keys.map((k): BulkGetItem => {
      const row = byKey.get(k.key);
      if (!row) return { key: k.key };
      const md = ttlMetadata(row.expiredate?.getTime());
      return { key: k.key, data: decode(row), etag: row.etag, ...(md ? { metadata: md } : {}) };
    });
  }

  async set(req: SetRequest): Promise<void> {
    await this.#setIn(this.#open(), req);
  }

  async delete(req: DeleteRequest): Promise<void> {
    await this.#deleteIn(this.#open(), req);
  }

  async multi(operations: readonly TransactionOperation[], _metadata: RequestMetadata): Promise<void> {
    // Reject malformed ETags before taking a connection.
    for (const op of operations) if (op.request.etag !== undefined) assertUuidEtag(op.request.etag);
    const client = await this.#open().connect();
    try {
      await client.query('BEGIN');
      for (const op of operations) {
        if (op.operation === 'upsert') await this.#setIn(client, op.request);
        else await this.#deleteIn(client, op.request);
      }
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  async query(
    query: StateQuery,
    metadata: RequestMetadata & { readonly keyPrefix?: string },
  ): Promise<QueryResponse> {
    const q = postgresQuery(this.#table, query, metadata.keyPrefix ?? '');
    const r = await this.#open().query<{ key: string; value: string; etag: string }>(q.sql, q.params);
    const more = q.limit > 0 && r.rows.length > q.limit;
    const page = more ? r.rows.slice(0, q.limit) : r.rows;
    const results = page.map((row) => ({
      key: row.key,
      data: new Uint8Array(Buffer.from(row.value, 'utf8')),
      etag: row.etag,
    }));
    return more ? { results, token: String(q.offset + q.limit) } : { results };
  }

  #open(): pg.Pool {
    if (!this.#pool) throw new Error('state store is closed');
    return this.#pool;
  }

  async #setIn(db: Queryable, req: SetRequest): Promise<void> {
    const ttl = parseTtlSeconds(req.metadata);
    const { json, binary } = encode(req.value);
    const expires = `CASE WHEN $5::float8 > 0 THEN now() + make_interval(secs => $5::float8) ELSE NULL END`;
    const params: unknown[] = [req.key, json, binary, randomUUID(), ttl ?? 0];
    const t = this.#table;
    if (req.etag !== undefined) {
      assertUuidEtag(req.etag);
      const r = await db.query(
        `UPDATE ${t} SET value = $2::jsonb, isbinary = $3, etag = $4::uuid, updatedate = now(), expiredate = ${expires}
         WHERE key = $1 AND etag = $6::uuid AND ${LIVE}`,
        [...params, req.etag],
      );
      if (r.rowCount === 0) throw new ETagError('mismatch');
      return;
    }
    const insert = `INSERT INTO ${t} AS cur (key, value, isbinary, etag, insertdate, updatedate, expiredate)
      VALUES ($1, $2::jsonb, $3, $4::uuid, now(), NULL, ${expires})
      ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, isbinary = EXCLUDED.isbinary, etag = EXCLUDED.etag,
      updatedate = now(), expiredate = EXCLUDED.expiredate`;
    if (isFirstWrite(req.options)) {
      // First-write: only a missing (or expired) row may be replaced.
      const r = await db.query(
        `${insert} WHERE cur.expiredate IS NOT NULL AND cur.expiredate <= now()`,
        params,
      );
      if (r.rowCount === 0) throw new ETagError('mismatch');
      return;
    }
    await db.query(insert, params);
  }

  async #deleteIn(db: Queryable, req: DeleteRequest): Promise<void> {
    if (req.etag === undefined) {
      await db.query(`DELETE FROM ${this.#table} WHERE key = $1`, [req.key]);
      return;
    }
    assertUuidEtag(req.etag);
    const r = await db.query(`DELETE FROM ${this.#table} WHERE key = $1 AND etag = $2::uuid AND ${LIVE}`, [
      req.key,
      req.etag,
    ]);
    if (r.rowCount === 0) throw new ETagError('mismatch');
  }

  /** Deletes expired rows, at most once per interval across every sidecar sharing the table. */
  async #cleanup(metaTable: string, everyMs: number): Promise<void> {
    const pool = this.#pool;
    if (!pool) return;
    const mark = `last-cleanup-${this.#table}`;
    const claimed = await pool.query(
      `INSERT INTO ${metaTable} (key, value) VALUES ($1, now()::text)
       ON CONFLICT (key) DO UPDATE SET value = now()::text
       WHERE ${metaTable}.value::timestamptz < now() - make_interval(secs => $2::double precision)`,
      [mark, (everyMs * 0.95) / 1000],
    );
    if (claimed.rowCount === 0) return;
    await pool.query(`DELETE FROM ${this.#table} WHERE expiredate IS NOT NULL AND expiredate <= now()`);
  }
}
