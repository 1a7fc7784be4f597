import { DaprError } from '../../errors/dapr-error.js';
import {
  type BulkGetItem,
  type DeleteRequest,
  ETagError,
  type GetRequest,
  isTransactional,
  type RequestMetadata,
  type SetRequest,
  type StateOptions,
  type StateStore,
  type TransactionOperation,
} from '../../state/state-store.js';
import { componentCall } from './component-calls.js';
import type { ApiContext, LoadedStateStore } from './context.js';
import {
  errorText,
  malformedRequest,
  stateStoreNotFound,
  stateStoresNotConfigured,
  storeFailure,
  transactionsNotSupported,
} from './state-errors.js';
import { type KeyScope, modifiedStateKey, originalStateKey } from './state-keys.js';

/**
 * The State API, implemented once for every protocol (after daprd's pkg/api/http/http.go state
 * handlers and pkg/api/universal). Requests arrive decoded and typed; keys are the app's keys.
 */

/** GET state/{store}/{key}. */
export interface GetStateRequest {
  readonly storeName: string;
  readonly key: string;
  readonly metadata: RequestMetadata;
  readonly consistency?: StateOptions['consistency'];
}

/** A found item. `undefined` from `getState` means the key does not exist (HTTP 204). */
export interface GetStateResult {
  readonly data: Uint8Array;
  readonly etag?: string;
  readonly metadata: Readonly<Record<string, string>>;
  readonly contentType?: string;
}

/** POST state/{store}/bulk. */
export interface BulkGetStateRequest {
  readonly storeName: string;
  readonly keys: readonly string[];
  /** How many gets run at once; <= 0 means the default. */
  readonly parallelism: number;
  readonly metadata: RequestMetadata;
}

/** One item of a bulk get: missing keys have no `data`; failed keys carry `error`. */
export interface BulkGetStateItem {
  readonly key: string;
  readonly data?: Uint8Array;
  readonly etag?: string;
  readonly metadata?: Readonly<Record<string, string>>;
  readonly error?: string;
}

/** One item to save (the value is already encoded as bytes by the adapter). */
export interface SaveStateItem {
  readonly key: string;
  readonly value: Uint8Array;
  readonly etag?: string;
  readonly metadata: RequestMetadata;
  readonly options?: StateOptions;
  readonly contentType?: string;
}

/** POST state/{store}. */
export interface SaveStateRequest {
  readonly storeName: string;
  readonly items: readonly SaveStateItem[];
}

/** DELETE state/{store}/{key}. */
export interface DeleteStateRequest {
  readonly storeName: string;
  readonly key: string;
  readonly etag?: string;
  readonly metadata: RequestMetadata;
  readonly options?: StateOptions;
}

/** One operation of a transaction, keys un-prefixed. */
export type StateTransactionOperation =
  | { readonly operation: 'upsert'; readonly request: SaveStateItem }
  | { readonly operation: 'delete'; readonly request: Omit<DeleteStateRequest, 'storeName'> };

/** POST state/{store}/transaction. */
export interface StateTransactionRequest {
  readonly storeName: string;
  readonly operations: readonly StateTransactionOperation[];
  readonly metadata: RequestMetadata;
}

/** Default bulk-get parallelism when the request gives none (contrib's default). */
export const DEFAULT_BULK_GET_PARALLELISM = 100;

/** Resolves a store by name with daprd's not-configured / not-found errors. */
export function resolveStateStore(ctx: ApiContext, storeName: string): LoadedStateStore {
  if (ctx.stateStores.size === 0) throw stateStoresNotConfigured(storeName, ctx.appId);
  const loaded = ctx.stateStores.get(storeName);
  if (loaded === undefined) throw stateStoreNotFound(storeName, ctx.appId);
  return loaded;
}

/** The key-prefix scope of a loaded store. */
export function keyScopeOf(ctx: ApiContext, loaded: LoadedStateStore): KeyScope {
  return { storeName: loaded.name, appId: ctx.appId, namespace: ctx.namespace, strategy: loaded.keyPrefix };
}

function withOptions<T extends object>(
  base: T,
  options: StateOptions | undefined,
): T & { options?: StateOptions } {
  return options === undefined ? base : { ...base, options };
}

/**
 * Runs a store call under the store's outbound resiliency policy (daprd wraps every state call in
 * `forComponentOutbound`); ETag conflicts are final, never retried.
 */
export function outbound<T>(ctx: ApiContext, storeName: string, fn: () => Promise<T>): Promise<T> {
  const policy = ctx.resiliency?.forComponentOutbound(storeName, 'state');
  if (policy === undefined || policy.isEmpty) return fn();
  return policy.execute(() => fn(), { shouldRetry: (err) => !(err instanceof ETagError) });
}

/** Reads one key; undefined when it does not exist. */
export async function getState(ctx: ApiContext, req: GetStateRequest): Promise<GetStateResult | undefined> {
  const loaded = resolveStateStore(ctx, req.storeName);
  const key = modifiedStateKey(req.key, keyScopeOf(ctx, loaded));
  const getReq: GetRequest = withOptions(
    { key, metadata: req.metadata },
    req.consistency === undefined ? undefined : { consistency: req.consistency },
  );
  let res: Awaited<ReturnType<StateStore['get']>>;
  try {
    res = await componentCall('state', req.storeName, 'get', () =>
      outbound(ctx, req.storeName, () => loaded.store.get(getReq)),
    );
  } catch (err) {
    throw storeFailure(
      err,
      'ERR_STATE_GET',
      (d) => `fail to get ${req.key} from state store ${req.storeName}: ${d}`,
    );
  }
  if (res === undefined) return undefined;
  const result: GetStateResult = { data: res.data, metadata: res.metadata ?? {} };
  return {
    ...result,
    ...(res.etag === undefined ? {} : { etag: res.etag }),
    ...(res.contentType === undefined ? {} : { contentType: res.contentType }),
  };
}

/** Reads many keys with bounded parallelism; per-key failures become `error` strings. */
export async function getBulkState(ctx: ApiContext, req: BulkGetStateRequest): Promise<BulkGetStateItem[]> {
  const loaded = resolveStateStore(ctx, req.storeName);
  if (req.keys.length === 0) return [];
  const scope = keyScopeOf(ctx, loaded);
  const gets: GetRequest[] = req.keys.map((k) => ({
    key: modifiedStateKey(k, scope),
    metadata: req.metadata,
  }));
  let items: BulkGetItem[];
  try {
    items = await componentCall('state', req.storeName, 'bulk_get', () =>
      outbound(ctx, req.storeName, () =>
        loaded.store.bulkGet !== undefined
          ? loaded.store.bulkGet(gets)
          : parallelGets(
              loaded.store,
              gets,
              req.parallelism > 0 ? req.parallelism : DEFAULT_BULK_GET_PARALLELISM,
            ),
      ),
    );
  } catch (err) {
    throw storeFailure(err, 'ERR_STATE_BULK_GET', (d) => d);
  }
  return items.map((item) => {
    const key = originalStateKey(item.key);
    if (item.error !== undefined && item.error !== '') return { key, error: item.error };
    return {
      key,
      ...(item.data === undefined ? {} : { data: item.data }),
      ...(item.etag === undefined ? {} : { etag: item.etag }),
      ...(item.metadata === undefined || Object.keys(item.metadata).length === 0
        ? {}
        : { metadata: item.metadata }),
    };
  });
}

async function parallelGets(
  store: StateStore,
  gets: readonly GetRequest[],
  parallelism: number,
): Promise<BulkGetItem[]> {
  const out: BulkGetItem[] = new Array(gets.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < gets.length) {
      const i = next++;
      const g = gets[i] as GetRequest;
      try {
        const res = await store.get(g);
        out[i] =
          res === undefined
            ? { key: g.key }
            : {
                key: g.key,
                data: res.data,
                ...(res.etag === undefined ? {} : { etag: res.etag }),
                ...(res.metadata === undefined ? {} : { metadata: res.metadata }),
              };
      } catch (err) {
        out[i] = { key: g.key, error: errorText(err) };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallelism, gets.length) }, worker));
  return out;
}

function toSetRequest(item: SaveStateItem, key: string): SetRequest {
  return withOptions(
    {
      key,
      value: item.value,
      metadata: item.metadata,
      ...(item.etag === undefined || item.etag === '' ? {} : { etag: item.etag }),
      ...(item.contentType === undefined ? {} : { contentType: item.contentType }),
    },
    item.options,
  );
}

function toDeleteRequest(req: Omit<DeleteStateRequest, 'storeName'>, key: string): DeleteRequest {
  return withOptions(
    { key, metadata: req.metadata, ...(req.etag === undefined || req.etag === '' ? {} : { etag: req.etag }) },
    req.options,
  );
}

/** Saves items (last-write unless an ETag is given). An empty list is a no-op. */
export async function saveState(ctx: ApiContext, req: SaveStateRequest): Promise<void> {
  const loaded = resolveStateStore(ctx, req.storeName);
  if (req.items.length === 0) return;
  const scope = keyScopeOf(ctx, loaded);
  const sets = req.items.map((item) => {
    if (item.key === '') throw malformedRequest('"key" is a required field');
    return toSetRequest(item, modifiedStateKey(item.key, scope));
  });
  const fail = (err: unknown) =>
    storeFailure(err, 'ERR_STATE_SAVE', (d) => `failed saving state in state store ${req.storeName}: ${d}`);
  await componentCall('state', req.storeName, 'set', async () => {
    if (sets.length === 1) {
      try {
        await outbound(ctx, req.storeName, () => loaded.store.set(sets[0] as SetRequest));
      } catch (err) {
        throw fail(err);
      }
      return;
    }
    // contrib's default BulkSet: every item is attempted; the errors are reported together.
    const results = await Promise.allSettled(
      sets.map((s) => outbound(ctx, req.storeName, () => loaded.store.set(s))),
    );
    const errors = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
    if (errors.length === 1) throw fail(errors[0]);
    if (errors.length > 1) throw fail(new AggregateError(errors, errors.map(errorText).join('\n')));
  });
}

/** Deletes one key; with an ETag the delete is conditional. */
export async function deleteState(ctx: ApiContext, req: DeleteStateRequest): Promise<void> {
  const loaded = resolveStateStore(ctx, req.storeName);
  return componentCall('state', req.storeName, 'delete', () => deleteOne(ctx, loaded, req));
}

/** One delete, without the operation's metrics (a bulk delete counts once, as `bulk_delete`). */
export async function deleteOne(
  ctx: ApiContext,
  loaded: LoadedStateStore,
  req: DeleteStateRequest,
): Promise<void> {
  const key = modifiedStateKey(req.key, keyScopeOf(ctx, loaded));
  try {
    await outbound(ctx, req.storeName, () => loaded.store.delete(toDeleteRequest(req, key)));
  } catch (err) {
    throw storeFailure(err, 'ERR_STATE_DELETE', (d) => `failed deleting state with key ${req.key}: ${d}`);
  }
}

/** Validates a transaction operation name; anything but upsert/delete is 400 ERR_NOT_SUPPORTED_STATE_OPERATION. */
export function transactionOperationType(name: unknown): StateTransactionOperation['operation'] {
  if (name === 'upsert' || name === 'delete') return name;
  throw new DaprError('ERR_NOT_SUPPORTED_STATE_OPERATION', `operation type ${String(name)} not supported`, {
    httpStatus: 400,
  });
}

/** Checks the store can run transactions before the body is decoded (daprd's order). */
export function assertTransactional(ctx: ApiContext, storeName: string): void {
  const loaded = resolveStateStore(ctx, storeName);
  if (!isTransactional(loaded.store)) throw transactionsNotSupported(storeName);
}

/** Runs operations atomically. Any store failure is 500 ERR_STATE_TRANSACTION, as daprd. */
export async function executeStateTransaction(ctx: ApiContext, req: StateTransactionRequest): Promise<void> {
  const loaded = resolveStateStore(ctx, req.storeName);
  const store = loaded.store;
  if (!isTransactional(store)) throw transactionsNotSupported(req.storeName);
  if (req.operations.length === 0) return;
  const scope = keyScopeOf(ctx, loaded);
  const ops: TransactionOperation[] = req.operations.map((op) =>
    op.operation === 'upsert'
      ? { operation: 'upsert', request: toSetRequest(op.request, modifiedStateKey(op.request.key, scope)) }
      : {
          operation: 'delete',
          request: toDeleteRequest(op.request, modifiedStateKey(op.request.key, scope)),
        },
  );
  try {
    await componentCall('state', req.storeName, 'transaction', () =>
      outbound(ctx, req.storeName, () => store.multi(ops, req.metadata)),
    );
  } catch (err) {
    throw storeFailure(err, 'ERR_STATE_TRANSACTION', (d) => `error while executing state transaction: ${d}`, {
      mapETag: false,
    });
  }
}
