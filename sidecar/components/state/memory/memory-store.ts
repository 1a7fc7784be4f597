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
import type { ComponentInit } from '../../component.js';
import type { MetadataSchema } from '../../metadata-schema.js';
import type { QueryCandidate } from '../shared/query-evaluator.js';
import { runQuery } from '../shared/query-evaluator.js';
import {
  assertIntegerEtag,
  expiryFor,
  isFirstWrite,
  parseJsonValue,
  toBytes,
  ttlMetadata,
} from '../shared/state-value.js';

/** `state.in-memory` metadata, as contrib's in-memory store (it takes none of its own). */
export const MEMORY_SCHEMA: MetadataSchema = {
  actorStateStore: { type: 'boolean', default: false, description: 'Use this store for actor state' },
  cleanupInterval: {
    type: 'duration',
    default: '10s',
    description: 'How often expired items are swept from memory',
  },
};

/** Options for tests and embedding: an injected clock. */
export interface MemoryStateStoreOptions {
  /** Epoch milliseconds; defaults to `Date.now`. */
  readonly now?: () => number;
}

interface Entry {
  readonly data: Uint8Array;
  readonly version: number;
  readonly expiresAt: number | undefined;
}

/**
 * `state.in-memory`: a process-local map with integer-version ETags, TTL, atomic transactions
 * and the query API. Data lives as long as the store (nothing is shared between sidecars).
 */
export class MemoryStateStore implements StateStore, TransactionalStore, QueryableStore {
  readonly #features = new Set<StateFeature>(['ETAG', 'TRANSACTIONAL', 'TTL', 'QUERY_API']);
  readonly #items = new Map<string, Entry>();
  readonly #now: () => number;
  #versionCounter = 0;
  #sweeper: NodeJS.Timeout | undefined;
  #closed = false;

  /** Capabilities; `ACTOR` is added at init when metadata says `actorStateStore: true` (as daprd reports it). */
  get features(): ReadonlySet<StateFeature> {
    return this.#features;
  }

  constructor(options: MemoryStateStoreOptions = {}) {
    this.#now = options.now ?? Date.now;
  }

  /** Starts the expiry sweeper. */
  async init(init: ComponentInit): Promise<void> {
    if (init.metadata.actorStateStore === true) this.#features.add('ACTOR');
    const every = typeof init.metadata.cleanupInterval === 'number' ? init.metadata.cleanupInterval : 10_000;
    if (every > 0) {
      this.#sweeper = setInterval(() => this.#sweep(), every);
      this.#sweeper.unref();
    }
  }

  /** Stops the sweeper and drops all data. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#sweeper) clearInterval(this.#sweeper);
    this.#items.clear();
  }

  async ping(): Promise<void> {
    this.#assertOpen();
  }

  async get(req: GetRequest): Promise<GetResponse | undefined> {
    this.#assertOpen();
    const e = this.#live(req.key);
    if (!e) return undefined;
    const md = ttlMetadata(e.expiresAt);
    return { data: toBytes(e.data), etag: String(e.version), ...(md ? { metadata: md } : {}) };
  }

  async bulkGet(keys: readonly GetRequest[]): Promise<BulkGetItem[]> {
    this.#assertOpen();
    return keys.map((k) => {
      const e = this.#live(k.key);
      if (!e) return { key: k.key };
      const md = ttlMetadata(e.expiresAt);
      return { key: k.key, data: toBytes(e.data), etag: String(e.version), ...(md ? { metadata: md } : {}) };
    });
  }

  async set(req: SetRequest): Promise<void> {
    this.#assertOpen();
    this.#checkSet(req, this.#live(req.key));
    this.#write(req);
  }

  async delete(req: DeleteRequest): Promise<void> {
    this.#assertOpen();
    this.#checkDelete(req, this.#live(req.key));
    this.#items.delete(req.key);
  }

  async multi(operations: readonly TransactionOperation[], _metadata: RequestMetadata): Promise<void> {
    this.#assertOpen();
    // Check every operation against the state it would see, then apply: all or nothing.
    const view = new Map<string, Entry | undefined>();
    const current = (key: string): Entry | undefined => (view.has(key) ? view.get(key) : this.#live(key));
    for (const op of operations) {
      if (op.operation === 'upsert') {
        this.#checkSet(op.request, current(op.request.key));
        view.set(op.request.key, { data: op.request.value, version: -1, expiresAt: undefined });
      } else {
        this.#checkDelete(op.request, current(op.request.key));
        view.set(op.request.key, undefined);
      }
    }
    for (const op of operations) {
      if (op.operation === 'upsert') this.#write(op.request);
      else this.#items.delete(op.request.key);
    }
  }

  async query(
    query: StateQuery,
    metadata: RequestMetadata & { readonly keyPrefix?: string },
  ): Promise<QueryResponse> {
    this.#assertOpen();
    const prefix = metadata.keyPrefix ?? '';
    const candidates: QueryCandidate<{ key: string; data: Uint8Array; etag: string }>[] = [];
    for (const key of this.#items.keys()) {
      if (!key.startsWith(prefix)) continue;
      const e = this.#live(key);
      if (!e) continue;
      const parsed = parseJsonValue(e.data);
      if (!parsed) continue;
      candidates.push({
        key,
        doc: parsed.json,
        item: { key, data: toBytes(e.data), etag: String(e.version) },
      });
    }
    const { items, token } = runQuery(query, candidates);
    return token === undefined ? { results: items } : { results: items, token };
  }

  #assertOpen(): void {
    if (this.#closed) throw new Error('state store is closed');
  }

  #live(key: string): Entry | undefined {
    const e = this.#items.get(key);
    if (e && e.expiresAt !== undefined && e.expiresAt <= this.#now()) {
      this.#items.delete(key);
      return undefined;
    }
    return e;
  }

  #checkSet(req: SetRequest, existing: Entry | undefined): void {
    if (req.etag !== undefined) {
      assertIntegerEtag(req.etag);
      if (!existing || String(existing.version) !== req.etag) throw new ETagError('mismatch');
    } else if (isFirstWrite(req.options) && existing) {
      throw new ETagError('mismatch');
    }
    // Validate the TTL before anything is written.
    expiryFor(req.metadata, 0);
  }

  #checkDelete(req: DeleteRequest, existing: Entry | undefined): void {
    if (req.etag === undefined) return;
    assertIntegerEtag(req.etag);
    if (!existing || String(existing.version) !== req.etag) throw new ETagError('mismatch');
  }

  #write(req: SetRequest): void {
    this.#versionCounter += 1;
    this.#items.set(req.key, {
      data: toBytes(req.value),
      version: this.#versionCounter,
      expiresAt: expiryFor(req.metadata, this.#now()),
    });
  }

  #sweep(): void {
    for (const key of [...this.#items.keys()]) this.#live(key);
  }
}
