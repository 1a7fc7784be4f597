import type pg from 'pg';

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$/;

/** Validates a (possibly schema-qualified) table name; only such names are spliced into SQL. */
export function qualifiedName(field: string, name: string): string {
  if (!IDENT.test(name)) throw new Error(`${field} "${name}" must be an SQL identifier or schema.identifier`);
  return name;
}

/**
 * Creates the schema (when the table name is qualified), the state and metadata tables and the
 * expiry index. An advisory lock serialises sidecars starting at once, since concurrent
 * `CREATE TABLE IF NOT EXISTS` can still collide in PostgreSQL's catalogue.
 * A table left by contrib's v1 layout (ETag = xmin, no `etag` column) gains an `etag` column.
 */
export async function migrate(pool: pg.Pool, table: string, metaTable: string): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('SELECT pg_advisory_lock(hashtext($1))', [`outrigger-state-migrate:${table}`]);
    try {
      for (const name of [table, metaTable]) {
        const dot = name.indexOf('.');
        if (dot > 0) await client.query(`CREATE SCHEMA IF NOT EXISTS ${name.slice(0, dot)}`);
      }
      await client.query(
        `CREATE TABLE IF NOT EXISTS ${metaTable} (key TEXT NOT NULL PRIMARY KEY, value TEXT NOT NULL)`,
      );
      await client.query(`CREATE TABLE IF NOT EXISTS ${table} (
        key TEXT NOT NULL PRIMARY KEY,
        value JSONB NOT NULL,
        isbinary BOOLEAN NOT NULL,
        etag UUID NOT NULL,
        insertdate TIMESTAMPTZ NOT NULL DEFAULT now(),
        updatedate TIMESTAMPTZ NULL,
        expiredate TIMESTAMPTZ NULL)`);
      await client.query(
        `ALTER TABLE ${table} ADD COLUMN IF NOT EXISTS etag UUID NOT NULL DEFAULT gen_random_uuid()`,
      );
      await client.query(`ALTER TABLE ${table} ADD COLUMN IF NOT EXISTS expiredate TIMESTAMPTZ NULL`);
      const bare = table.slice(table.indexOf('.') + 1);
      await client.query(`CREATE INDEX IF NOT EXISTS ${bare}_expiredate_idx ON ${table} (expiredate)`);
      await client.query(
        `INSERT INTO ${metaTable} (key, value) VALUES ('migrations', '2') ON CONFLICT (key) DO NOTHING`,
      );
    } finally {
      await client.query('SELECT pg_advisory_unlock(hashtext($1))', [`outrigger-state-migrate:${table}`]);
    }
  } finally {
    client.release();
  }
}
