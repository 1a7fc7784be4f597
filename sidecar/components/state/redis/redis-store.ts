import { createHash } from 'node:crypto';
// The driver is imported in init(), so a sidecar without a Redis component never loads it (cold start).
import type { Redis } from 'ioredis';
import type {
  BulkGetItem,
  DeleteRequest,
  GetRequest,
  GetResponse,
  RequestMetadata,
  SetRequest,
  StateFeature,
  StateStore,
  TransactionalStore,
  TransactionOperation,
} from '../../../state/state-store.js';
import { ETagError, parseTtlSeconds } from '../../../state/state-store.js';
import type { ComponentInit } from '../../component.js';
import type { MetadataSchema } from '../../metadata-schema.js';
import { assertIntegerEtag, isFirstWrite, toBuffer, ttlMetadata } from '../shared/state-value.js';
import { DELETE_SCRIPT, GET_SCRIPT, MISMATCH, MULTI_SCRIPT, SET_SCRIPT } from './redis-scripts.js';

/** `state.redis` metadata, named as in components-contrib. (`keyPrefix` is the runtime's.) */
export const REDIS_SCHEMA: MetadataSchema = {
  redisHost: { type: 'string', required: true, description: 'host:port of the Redis server' },
  redisPassword: { type: 'string', default: '', sensitive: true, description: 'Password (AUTH)' },
  redisUsername: { type: 'string', default: '', description: 'ACL user name (Redis 6+)' },
  redisDB: { type: 'integer', default: 0, min: 0, description: 'Database index' },
  enableTLS: { type: 'boolean', default: false, description: 'Connect over TLS' },
  maxRetries: { type: 'integer', default: 3, min: -1, description: 'Retries per command before it fails' },
  maxRetryBackoff: { type: 'duration', default: '2s', description: 'Upper bound of the reconnect backoff' },
  dialTimeout: { type: 'duration', default: '5s', description: 'Connect timeout' },
  ttlInSeconds: { type: 'integer', min: -1, description: 'Default TTL for items saved without one' },
  actorStateStore: { type: 'boolean', default: false, description: 'Use this store for actor state' },
  redisType: {
    type: 'enum',
    values: ['node', 'cluster'],
    default: 'node',
    description: 'Only a single node is supported',
  },
  failover: { type: 'boolean', default: false, description: 'Sentinel failover (not supported)' },
};

/** Splits `host:port` (or `[v6]:port`); the port defaults to 6379. */
export function parseRedisHost(hostPort: string): { host: string; port: number } {
  const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(hostPort) ?? /^([^:]+)(?::(\d+))?$/.exec(hostPort);
  if (!m || m[1] === undefined) throw new Error(`redisHost "${hostPort}" must be host:port`);
  return { host: m[1], port: m[2] === undefined ? 6379 : Number(m[2]) };
}

function isMismatch(err: unknown): boolean {
  return err instanceof Error && err.message.includes(MISMATCH);
}

/**
 * `state.redis`: ETags are integer versions, writes and checks run as Lua scripts (atomic), TTL
 * is EXPIRE, transactions are one script that checks every ETag before writing anything.
 * Query needs RediSearch, so `QUERY_API` is not advertised.
 */
export class RedisStateStore implements StateStore, TransactionalStore {
  readonly #features = new Set<StateFeature>(['ETAG', 'TRANSACTIONAL', 'TTL']);
  #client: Redis | undefined;
  #defaultTtl: number | undefined;
  readonly #shas = new Map<string, string>();

  /** Capabilities; `ACTOR` is added at init when metadata says `actorStateStore: true` (as daprd reports it). */
  get features(): ReadonlySet<StateFeature> {
    return this.#features;
  }

  /** Connects and verifies the server answers. */
  async init(init: ComponentInit): Promise<void> {
    const md = init.metadata;
    if (md.actorStateStore === true) this.#features.add('ACTOR');
    // Cluster and Sentinel are refused rather than silently treated as one node: the scripts
    // touch several keys at once, which a cluster only allows within one hash slot.
    if (md.redisType === 'cluster' || md.failover === true) {
      throw new Error(
        `state.redis ${init.name}: redisType "cluster" and failover (Sentinel) are not supported; use a single node`,
      );
    }
    const { host, port } = parseRedisHost(String(md.redisHost));
    this.#defaultTtl = typeof md.ttlInSeconds === 'number' ? md.ttlInSeconds : undefined;
    const maxRetries = typeof md.maxRetries === 'number' ? md.maxRetries : 3;
    const maxBackoff = typeof md.maxRetryBackoff === 'number' ? md.maxRetryBackoff : 2000;
    const { Redis } = await import('ioredis');
    const client = new Redis({
      host,
      port,
      db: typeof md.redisDB === 'number' ? md.redisDB : 0,
      lazyConnect: true,
      connectTimeout: typeof md.dialTimeout === 'number' ? md.dialTimeout : 5000,
      maxRetriesPerRequest: maxRetries < 0 ? null : maxRetries,
      retryStrategy: (times) => Math.min(times * 8, maxBackoff),
      // CLIENT SETNAME refuses spaces; component names are DNS-like anyway.
      connectionName: `outrigger-state-${init.name.replace(/[^\w.-]/g, '_')}`,
      ...(md.redisPassword ? { password: String(md.redisPassword) } : {}),
      ...(md.redisUsername ? { username: String(md.redisUsername) } : {}),
      ...(md.enableTLS === true ? { tls: { servername: host } } : {}),
    });
    // Errors surface on the failing command; without a listener ioredis would print them.
    let lastError: Error | undefined;
    client.on('error', (err: Error) => {
      lastError = err;
      init.logger.debug('redis connection error', { error: err.message });
    });
    try {
      await client.connect();
      await client.ping();
    } catch (err) {
      client.disconnect();
      // ioredis reports "Connection is closed"; the socket error says why (refused, auth, TLS).
      const cause = lastError ?? (err as Error);
      throw new Error(`state.redis ${init.name}: cannot connect to ${host}:${port}: ${cause.message}`, {
        cause,
      });
    }
    this.#client = client;
  }

  /** Closes the connection (QUIT, then a hard disconnect if QUIT fails). */
  async close(): Promise<void> {
    const c = this.#client;
    this.#client = undefined;
    if (!c) return;
    try {
      await c.quit();
    } catch {
      c.disconnect();
    }
  }

  async ping(): Promise<void> {
    await this.#open().ping();
  }

  async get(req: GetRequest): Promise<GetResponse | undefined> {
    const reply = (await this.#run(GET_SCRIPT, [req.key], [])) as [Buffer | null, Buffer, number] | null;
    if (!reply) return undefined;
    const [data, version, pttl] = reply;
    const md = ttlMetadata(pttl > 0 ? Date.now() + pttl : undefined);
    return {
      data: new Uint8Array(data ?? Buffer.alloc(0)),
      etag: version.toString(),
      ...(md ? { metadata: md } : {}),
    };
  }

  async bulkGet(keys: readonly GetRequest[]): Promise<BulkGetItem[]> {
    // ioredis writes the commands back to back without waiting, so this is one round trip's worth.
    return Promise.all(
      keys.map(async (k): Promise<BulkGetItem> => {
        try {
          const r = await this.get(k);
          return r ? { key: k.key, ...r } : { key: k.key };
        } catch (err) {
          return { key: k.key, error: (err as Error).message };
        }
      }),
    );
  }

  async set(req: SetRequest): Promise<void> {
    if (req.etag !== undefined) assertIntegerEtag(req.etag);
    const args = [
      toBuffer(req.value),
      req.etag ?? '',
      isFirstWrite(req.options) ? '1' : '0',
      String(this.#ttl(req.metadata)),
    ];
    try {
      await this.#run(SET_SCRIPT, [req.key], args);
    } catch (err) {
      if (isMismatch(err)) throw new ETagError('mismatch', undefined, { cause: err });
      throw err;
    }
  }

  async delete(req: DeleteRequest): Promise<void> {
    if (req.etag !== undefined) assertIntegerEtag(req.etag);
    try {
      await this.#run(DELETE_SCRIPT, [req.key], [req.etag ?? '']);
    } catch (err) {
      if (isMismatch(err)) throw new ETagError('mismatch', undefined, { cause: err });
      throw err;
    }
  }

  async multi(operations: readonly TransactionOperation[], _metadata: RequestMetadata): Promise<void> {
    if (operations.length === 0) return;
    const keys: string[] = [];
    const args: (string | Buffer)[] = [];
    for (const op of operations) {
      const r = op.request;
      if (r.etag !== undefined) assertIntegerEtag(r.etag);
      keys.push(r.key);
      if (op.operation === 'upsert') {
        args.push(
          'u',
          op.request.etag ?? '',
          isFirstWrite(op.request.options) ? '1' : '0',
          String(this.#ttl(op.request.metadata)),
          toBuffer(op.request.value),
        );
      } else {
        args.push('d', op.request.etag ?? '', '0', '0', '');
      }
    }
    try {
      await this.#run(MULTI_SCRIPT, keys, args);
    } catch (err) {
      if (isMismatch(err)) throw new ETagError('mismatch', undefined, { cause: err });
      throw err;
    }
  }

  #open(): Redis {
    if (!this.#client) throw new Error('state store is closed');
    return this.#client;
  }

  /** Seconds to EXPIRE after a write; 0 means persist. */
  #ttl(metadata: RequestMetadata): number {
    const ttl = parseTtlSeconds(metadata) ?? this.#defaultTtl;
    return ttl === undefined || ttl <= 0 ? 0 : ttl;
  }

  /** EVALSHA with a fallback to EVAL when the server has not cached the script yet. */
  async #run(script: string, keys: readonly string[], args: readonly (string | Buffer)[]): Promise<unknown> {
    const client = this.#open();
    let sha = this.#shas.get(script);
    if (sha === undefined) {
      sha = createHash('sha1').update(script).digest('hex');
      this.#shas.set(script, sha);
    }
    try {
      return await client.callBuffer('EVALSHA', sha, keys.length, ...keys, ...args);
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
      return client.callBuffer('EVAL', script, keys.length, ...keys, ...args);
    }
  }
}
