import type {
  ApiContext,
  KeyPrefixStrategy,
  LoadedSecretStore,
  LoadedStateStore,
  SecretScope,
} from '../../../sidecar/api/universal/context.js';
import type { Logger } from '../../../sidecar/components/component.js';
import { EnvSecretStore } from '../../../sidecar/components/secretstores/local-env/env-secret-store.js';
import { MemoryStateStore } from '../../../sidecar/components/state/memory/memory-store.js';
import type {
  DeleteRequest,
  GetRequest,
  GetResponse,
  SetRequest,
  StateFeature,
  StateStore,
} from '../../../sidecar/state/state-store.js';

/** Test fixtures for the API layer: real in-memory/env stores wired into an ApiContext. */

/** A logger that keeps lines in memory. */
export class MemoryLogger implements Logger {
  readonly lines: { level: string; msg: string; fields: Record<string, unknown> }[];
  constructor(lines: { level: string; msg: string; fields: Record<string, unknown> }[] = []) {
    this.lines = lines;
  }
  debug(msg: string, fields: Record<string, unknown> = {}): void {
    this.lines.push({ level: 'debug', msg, fields });
  }
  info(msg: string, fields: Record<string, unknown> = {}): void {
    this.lines.push({ level: 'info', msg, fields });
  }
  warn(msg: string, fields: Record<string, unknown> = {}): void {
    this.lines.push({ level: 'warn', msg, fields });
  }
  error(msg: string, fields: Record<string, unknown> = {}): void {
    this.lines.push({ level: 'error', msg, fields });
  }
  child(): Logger {
    return new MemoryLogger(this.lines);
  }
}

/** A plain key/value store WITHOUT transactions or query, to exercise capability checks. */
export class PlainStore implements StateStore {
  readonly features: ReadonlySet<StateFeature> = new Set<StateFeature>(['ETAG']);
  readonly items = new Map<string, Uint8Array>();
  async init(): Promise<void> {}
  async close(): Promise<void> {}
  async get(req: GetRequest): Promise<GetResponse | undefined> {
    const data = this.items.get(req.key);
    return data === undefined ? undefined : { data, etag: '1' };
  }
  async set(req: SetRequest): Promise<void> {
    this.items.set(req.key, req.value);
  }
  async delete(req: DeleteRequest): Promise<void> {
    this.items.delete(req.key);
  }
}

/** Starts a real `state.in-memory` store. */
export async function memoryStore(logger: Logger = new MemoryLogger()): Promise<MemoryStateStore> {
  const store = new MemoryStateStore();
  await store.init({
    name: 'mem',
    type: 'state.in-memory',
    version: 'v1',
    metadata: { cleanupInterval: 0 },
    appId: 'app1',
    namespace: '',
    logger,
    dataDir: '/nonexistent',
  });
  return store;
}

/** Options for `makeContext`. */
export interface ContextOptions {
  readonly appId?: string;
  readonly namespace?: string;
  readonly stateStores?: readonly {
    name: string;
    store: StateStore;
    keyPrefix?: KeyPrefixStrategy;
    type?: string;
  }[];
  readonly env?: Record<string, string>;
  readonly secretScopes?: readonly SecretScope[];
  readonly ready?: boolean;
  readonly outboundReady?: boolean;
  readonly onShutdown?: (reason: string) => void;
}

/** Builds an ApiContext over the given stores; a `secretstores.local.env` store named `env` reads `env`. */
export async function makeContext(opts: ContextOptions = {}): Promise<ApiContext> {
  const logger = new MemoryLogger();
  const appId = opts.appId ?? 'app1';
  const stateStores = new Map<string, LoadedStateStore>();
  for (const s of opts.stateStores ?? []) {
    stateStores.set(s.name, {
      name: s.name,
      type: s.type ?? 'state.in-memory',
      version: 'v1',
      store: s.store,
      keyPrefix: s.keyPrefix ?? { kind: 'appid' },
      actorStateStore: false,
    });
  }
  const secretStores = new Map<string, LoadedSecretStore>();
  if (opts.env !== undefined) {
    const env = opts.env;
    const store = new EnvSecretStore(() => env);
    await store.init({
      name: 'env',
      type: 'secretstores.local.env',
      version: 'v1',
      metadata: { prefix: '' },
      appId,
      namespace: '',
      logger,
      dataDir: '/nonexistent',
    });
    secretStores.set('env', { name: 'env', type: 'secretstores.local.env', version: 'v1', store });
  }
  const extendedMetadata = new Map<string, string>();
  return {
    appId,
    namespace: opts.namespace ?? '',
    runtimeVersion: '0.1.0-test',
    enabledFeatures: [],
    logger,
    stateStores,
    secretStores,
    secretScopes: new Map((opts.secretScopes ?? []).map((s) => [s.storeName, s])),
    health: {
      ready: () => opts.ready ?? true,
      outboundReady: () => opts.outboundReady ?? true,
      notReadyTargets: () => (opts.ready === false ? ['app'] : []),
    },
    appConnection: { protocol: 'http', channelAddress: '127.0.0.1' },
    components: () => [
      ...[...stateStores.values()].map((s) => ({
        name: s.name,
        type: s.type,
        version: s.version,
        capabilities: [...s.store.features],
      })),
      ...[...secretStores.values()].map((s) => ({
        name: s.name,
        type: s.type,
        version: s.version,
        capabilities: [...s.store.features],
      })),
    ],
    extendedMetadata,
    requestShutdown: (reason) => opts.onShutdown?.(reason),
  };
}

/** Bytes of a UTF-8 string. */
export function utf8(text: string): Uint8Array {
  return Buffer.from(text, 'utf8');
}

/** The UTF-8 text of bytes. */
export function text(bytes: Uint8Array | undefined): string | undefined {
  return bytes === undefined ? undefined : Buffer.from(bytes).toString('utf8');
}
