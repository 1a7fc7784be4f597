import { after } from 'node:test';
import pg from 'pg';
import type { StateStore } from '../../../sidecar/state/state-store.js';
import { startPostgres } from '../../env/postgres.js';
import { openStore, uniqueId } from './state-fixtures.js';
import { runStateConformance } from './state-suite.js';

/**
 * `state.postgresql` against the state conformance suite, on a real PostgreSQL started for this
 * file. Each factory call uses its own schema-qualified table, so the store creates the schema.
 */

type PostgresServer = Awaited<ReturnType<typeof startPostgres>>;
let server: Promise<PostgresServer> | undefined;

/** Starts the shared server once; a missing PostgreSQL fails the tests with the harness's message. */
function postgresServer(): Promise<PostgresServer> {
  server ??= startPostgres();
  return server;
}

after(async () => {
  if (server) await (await server.catch(() => undefined))?.stop();
});

/** Runs one statement on a short-lived admin connection. */
async function adminQuery<R extends pg.QueryResultRow>(
  srv: PostgresServer,
  sql: string,
  params: unknown[] = [],
): Promise<R[]> {
  const client = new pg.Client({ connectionString: srv.connectionString });
  await client.connect();
  try {
    return (await client.query<R>(sql, params)).rows;
  } finally {
    await client.end();
  }
}

runStateConformance('state.postgresql', async () => {
  const srv = await postgresServer();
  const schema = `conf_${uniqueId()}`;
  const metadata = {
    connectionString: srv.connectionString,
    tableName: `${schema}.state`,
    metadataTableName: `${schema}.dapr_metadata`,
    cleanupInterval: '1s',
    actorStateStore: 'true',
  };
  const name = `conformance-${uniqueId()}`;
  const store = await openStore('state.postgresql', metadata, { name });
  const peers: StateStore[] = [];
  return {
    store,
    peer: async () => {
      const p = await openStore('state.postgresql', metadata);
      peers.push(p);
      return p;
    },
    connectionCount: async () => {
      const rows = await adminQuery<{ n: string }>(
        srv,
        'SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = $1',
        [`outrigger-state-${name}`],
      );
      return Number(rows[0]?.n ?? 0);
    },
    cleanup: async () => {
      await store.close();
      for (const p of peers) await p.close();
      await adminQuery(srv, `DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    },
  };
}, ['ETAG', 'TRANSACTIONAL', 'TTL', 'QUERY_API', 'ACTOR']);
