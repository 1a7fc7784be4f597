/**
 * The State API methods of `dapr.proto.runtime.v1.Dapr` (daprd's pkg/api/grpc GetState,
 * GetBulkState, SaveState, DeleteState, DeleteBulkState, ExecuteStateTransaction and universal
 * QueryStateAlpha1): each decodes the message, calls the universal State API (the code the HTTP
 * API calls) and encodes its answer. Only what differs between daprd's gRPC and HTTP handlers is
 * decided here: the empty-key and operation-type errors, and bulk-get failures passed through bare.
 */
import * as grpc from '@grpc/grpc-js';
import { DaprError, errorInfo, isDaprError } from '../../errors/dapr-error.js';
import { GrpcCode } from '../../errors/grpc-code.js';
import type { StateOptions } from '../../state/state-store.js';
import type { ApiContext } from '../universal/context.js';
import {
  assertTransactional,
  deleteState,
  executeStateTransaction,
  getBulkState,
  getState,
  resolveStateStore,
  type SaveStateItem,
  type StateTransactionOperation,
  saveState,
} from '../universal/state.js';
import { deleteBulkState } from '../universal/state-bulk-delete.js';
import { queryState } from '../universal/state-query.js';
import type {
  DeleteStateRequestMessage,
  ExecuteStateTransactionRequestMessage,
  GetBulkStateRequestMessage,
  GetStateRequestMessage,
  QueryStateRequestMessage,
  StateItemMessage,
  StateItemsRequestMessage,
  StateOptionsMessage,
} from './dapr-proto.js';
import type { GrpcError } from './grpc-errors.js';

/** A method's answer: the response message, or an error status. */
export type GrpcOutcome = { readonly response: unknown } | { readonly error: GrpcError };

const EMPTY = Buffer.alloc(0);

/** daprd's stateConsistencyToString: an unspecified or unknown value is no option. */
function consistencyOf(v: string | number | undefined): StateOptions['consistency'] {
  if (v === 'CONSISTENCY_EVENTUAL') return 'eventual';
  if (v === 'CONSISTENCY_STRONG') return 'strong';
  return undefined;
}

/** daprd's stateConcurrencyToString. */
function concurrencyOf(v: string | number | undefined): StateOptions['concurrency'] {
  if (v === 'CONCURRENCY_FIRST_WRITE') return 'first-write';
  if (v === 'CONCURRENCY_LAST_WRITE') return 'last-write';
  return undefined;
}

function optionsOf(m: StateOptionsMessage | null | undefined): StateOptions | undefined {
  if (m === null || m === undefined) return undefined;
  const concurrency = concurrencyOf(m.concurrency);
  const consistency = consistencyOf(m.consistency);
  if (concurrency === undefined && consistency === undefined) return undefined;
  return {
    ...(concurrency === undefined ? {} : { concurrency }),
    ...(consistency === undefined ? {} : { consistency }),
  };
}

/** A present `Etag` message is a condition (its empty value means none to the stores, as in contrib). */
function etagOf(m: { value: string } | null | undefined): { etag?: string } {
  return m === null || m === undefined ? {} : { etag: m.value };
}

/** The common fields of a StateItem, as the universal API takes them for a delete. */
function deleteItem(item: StateItemMessage): Omit<Parameters<typeof deleteState>[1], 'storeName'> {
  const options = optionsOf(item.options);
  return {
    key: item.key,
    metadata: item.metadata ?? {},
    ...etagOf(item.etag),
    ...(options === undefined ? {} : { options }),
  };
}

function saveItem(item: StateItemMessage, value: Uint8Array): SaveStateItem {
  const options = optionsOf(item.options);
  return {
    key: item.key,
    value,
    metadata: item.metadata ?? {},
    ...etagOf(item.etag),
    ...(options === undefined ? {} : { options }),
  };
}

/**
 * A value whose item metadata says `contentType: application/json` is decoded by daprd
 * (json.Unmarshal into the request's value) and the store writes the decoded value re-encoded,
 * so it arrives here as compact JSON (key order and escaping are each Go store's own encoder's).
 * When it is not JSON the call fails with the decoder's error and no Dapr code (status Unknown).
 */
function jsonValue(item: StateItemMessage): Uint8Array | GrpcError {
  const raw = item.value ?? EMPTY;
  if (item.metadata?.contentType !== 'application/json') return raw;
  try {
    return Buffer.from(JSON.stringify(JSON.parse(Buffer.from(raw).toString('utf8'))));
  } catch (err) {
    return { code: grpc.status.UNKNOWN, details: (err as Error).message };
  }
}

const isGrpcError = (v: Uint8Array | GrpcError): v is GrpcError => !(v instanceof Uint8Array);

/** The codes daprd's gRPC state handlers build with apierrors.Basic (pkg/api/grpc/grpc.go, v1.16). */
const BASIC_CODES: ReadonlySet<string> = new Set([
  'ERR_STATE_GET',
  'ERR_STATE_SAVE',
  'ERR_STATE_DELETE',
  'ERR_STATE_BULK_DELETE',
  'ERR_STATE_TRANSACTION',
  'ERR_NOT_SUPPORTED_STATE_OPERATION',
]);

/**
 * daprd's gRPC handlers answer these failures with ErrorInfo{reason: <the ERR_* code>, domain:
 * dapr.io} (apierrors.Basic), while its HTTP handlers send the bare `{errorCode, message}`: the
 * detail is added here, on the gRPC side only. Found by the Go SDK tests (status details).
 */
function withReason<Req>(fn: (req: Req) => Promise<GrpcOutcome>): (req: Req) => Promise<GrpcOutcome> {
  return async (req) => {
    try {
      return await fn(req);
    } catch (err) {
      if (!isDaprError(err) || err.details.length > 0 || !BASIC_CODES.has(err.code)) throw err;
      throw new DaprError(err.code, err.message, {
        httpStatus: err.httpStatus,
        grpcCode: err.grpcCode,
        details: [errorInfo(err.code)],
        cause: err.cause,
        headers: err.headers,
      });
    }
  };
}

/** The State API handlers over `ctx`, keyed by method name. */
export function stateMethods(ctx: ApiContext) {
  const methods = {
    async GetState(req: GetStateRequestMessage): Promise<GrpcOutcome> {
      const consistency = consistencyOf(req.consistency);
      const got = await getState(ctx, {
        storeName: req.store_name,
        key: req.key,
        metadata: req.metadata ?? {},
        ...(consistency === undefined ? {} : { consistency }),
      });
      // A missing key is an empty answer, not an error (daprd).
      return {
        response: { data: got?.data ?? EMPTY, etag: got?.etag ?? '', metadata: got?.metadata ?? {} },
      };
    },

    async GetBulkState(req: GetBulkStateRequestMessage): Promise<GrpcOutcome> {
      try {
        const items = await getBulkState(ctx, {
          storeName: req.store_name,
          keys: req.keys ?? [],
          parallelism: req.parallelism ?? 0,
          metadata: req.metadata ?? {},
        });
        return {
          response: {
            items: items.map((i) => ({
              key: i.key,
              data: i.data ?? EMPTY,
              etag: i.etag ?? '',
              error: i.error ?? '',
              metadata: i.metadata ?? {},
            })),
          },
        };
      } catch (err) {
        // daprd returns the store's bulk-get error as it is (no Dapr code): status Unknown.
        if (isDaprError(err) && err.code === 'ERR_STATE_BULK_GET')
          return { error: { code: grpc.status.UNKNOWN, details: err.message } };
        throw err;
      }
    },

    async SaveState(req: StateItemsRequestMessage): Promise<GrpcOutcome> {
      resolveStateStore(ctx, req.store_name);
      const items: SaveStateItem[] = [];
      for (const s of req.states ?? []) {
        if (s.key === '')
          throw new DaprError('ERR_STATE_SAVE', 'state key cannot be empty', {
            httpStatus: 400,
            grpcCode: GrpcCode.INVALID_ARGUMENT,
          });
        const value = jsonValue(s);
        if (isGrpcError(value)) return { error: value };
        items.push(saveItem(s, value));
      }
      await saveState(ctx, { storeName: req.store_name, items });
      return { response: {} };
    },

    async DeleteState(req: DeleteStateRequestMessage): Promise<GrpcOutcome> {
      const options = optionsOf(req.options);
      await deleteState(ctx, {
        storeName: req.store_name,
        key: req.key,
        metadata: req.metadata ?? {},
        ...etagOf(req.etag),
        ...(options === undefined ? {} : { options }),
      });
      return { response: {} };
    },

    async DeleteBulkState(req: StateItemsRequestMessage): Promise<GrpcOutcome> {
      await deleteBulkState(ctx, { storeName: req.store_name, items: (req.states ?? []).map(deleteItem) });
      return { response: {} };
    },

    async ExecuteStateTransaction(req: ExecuteStateTransactionRequestMessage): Promise<GrpcOutcome> {
      // daprd checks the store can run transactions before it looks at the operations.
      assertTransactional(ctx, req.storeName);
      const operations: StateTransactionOperation[] = (req.operations ?? []).map((op) => {
        const item: StateItemMessage = op.request ?? {
          key: '',
          value: EMPTY,
          etag: null,
          metadata: {},
          options: null,
        };
        if (op.operationType === 'upsert')
          // Values go to the store as the bytes sent (daprd does not decode them here).
          return { operation: 'upsert', request: saveItem(item, item.value ?? EMPTY) };
        if (op.operationType === 'delete') return { operation: 'delete', request: deleteItem(item) };
        throw new DaprError(
          'ERR_NOT_SUPPORTED_STATE_OPERATION',
          `operation type ${op.operationType} not supported`,
          { httpStatus: 500, grpcCode: GrpcCode.UNIMPLEMENTED },
        );
      });
      await executeStateTransaction(ctx, {
        storeName: req.storeName,
        operations,
        metadata: req.metadata ?? {},
      });
      return { response: {} };
    },

    async QueryStateAlpha1(req: QueryStateRequestMessage): Promise<GrpcOutcome> {
      const result = await queryState(ctx, {
        storeName: req.store_name,
        query: req.query ?? '',
        metadata: req.metadata ?? {},
      });
      return {
        response: {
          results: result.results.map((r) => ({
            key: r.key,
            data: r.data,
            etag: r.etag ?? '',
            error: r.error ?? '',
          })),
          token: result.token ?? '',
          metadata: result.metadata ?? {},
        },
      };
    },
  };
  return {
    ...methods,
    GetState: withReason(methods.GetState),
    SaveState: withReason(methods.SaveState),
    DeleteState: withReason(methods.DeleteState),
    DeleteBulkState: withReason(methods.DeleteBulkState),
    ExecuteStateTransaction: withReason(methods.ExecuteStateTransaction),
  };
}
