import { after } from 'node:test';
import { Redis } from 'ioredis';
import type { StateStore } from '../../../sidecar/state/state-store.js';
import { startRedis } from '../../env/redis.js';
import { openStore, uniqueId } from './state-fixtures.js';
import { runStateConformance } from './state-suite.js';

/** `state.redis` against the state conformance suite, on a real redis-server started for this file. */

type RedisServer = Awaited<ReturnType<typeof startRedis>>;
let server: Promise<RedisServer> | undefined;

/** Starts the shared server once; a missing redis-server fails the tests with the harness's message. */
function redisServer(): Promise<RedisServer> {
  server ??= startRedis();
  return server;
}

after(async () => {
  if (server) await (await server.catch(() => undefined))?.stop();
});

/** Counts the server's client connections named after one component. */
async function countClients(srv: RedisServer, componentName: string): Promise<number> {
  const admin = new Redis({ host: srv.host, port: srv.port, lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await admin.connect();
    const list = (await admin.client('LIST')) as string;
    return list.split('\n').filter((line) => line.includes(` name=outrigger-state-${componentName} `)).length;
  } finally {
    admin.disconnect();
  }
}

runStateConformance('state.redis', async () => {
  const srv = await redisServer();
  const metadata = { redisHost: `${srv.host}:${srv.port}`, actorStateStore: 'true' };
  const name = `conformance-${uniqueId()}`;
  const store = await openStore('state.redis', metadata, { name });
  const peers: StateStore[] = [];
  return {
    store,
    peer: async () => {
      const p = await openStore('state.redis', metadata);
      peers.push(p);
      return p;
    },
    connectionCount: () => countClients(srv, name),
    cleanup: async () => {
      await store.close();
      for (const p of peers) await p.close();
    },
  };
}, ['ETAG', 'TRANSACTIONAL', 'TTL', 'ACTOR']);
