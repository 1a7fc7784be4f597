import type { ErrorCode } from '../../errors/catalogue.js';
import { DaprError, errorInfo, isDaprError, resourceInfo } from '../../errors/dapr-error.js';
import { GrpcCode } from '../../errors/grpc-code.js';
import { ETagError } from '../../state/state-store.js';

/**
 * State API errors with daprd's codes, statuses and messages (pkg/api/errors/state.go,
 * pkg/messages/predefined.go, pkg/api/http/http.go stateErrorResponse).
 */

/** No state store is loaded at all: 500 ERR_STATE_STORE_NOT_CONFIGURED. */
export function stateStoresNotConfigured(storeName: string, appId: string): DaprError {
  return new DaprError('ERR_STATE_STORE_NOT_CONFIGURED', `state store ${storeName} is not configured`, {
    details: [errorInfo('DAPR_STATE_NOT_CONFIGURED', appId === '' ? {} : { appID: appId })],
  });
}

/** The named store does not exist: 400 ERR_STATE_STORE_NOT_FOUND. */
export function stateStoreNotFound(storeName: string, appId: string): DaprError {
  return new DaprError('ERR_STATE_STORE_NOT_FOUND', `state store ${storeName} is not found`, {
    details: [errorInfo('DAPR_STATE_NOT_FOUND', appId === '' ? {} : { appID: appId })],
  });
}

/** The store is not transactional: 500 ERR_STATE_STORE_NOT_SUPPORTED (daprd HEAD). */
export function transactionsNotSupported(storeName: string): DaprError {
  return new DaprError(
    'ERR_STATE_STORE_NOT_SUPPORTED',
    `state store ${storeName} doesn't support transactions`,
    {
      httpStatus: 500,
      grpcCode: GrpcCode.UNIMPLEMENTED,
      details: [errorInfo('DAPR_STATE_TRANSACTIONS_NOT_SUPPORTED'), resourceInfo('state', storeName)],
    },
  );
}

/** The store does not implement the query API: 500 ERR_STATE_STORE_NOT_SUPPORTED. */
export function queryNotSupported(storeName: string): DaprError {
  return new DaprError('ERR_STATE_STORE_NOT_SUPPORTED', 'state store does not support querying', {
    httpStatus: 500,
    grpcCode: GrpcCode.INTERNAL,
    details: [errorInfo('DAPR_STATE_QUERYING_NOT_SUPPORTED'), resourceInfo('state', storeName)],
  });
}

/** A query failed to parse or to run: 500 ERR_STATE_QUERY. */
export function queryFailed(storeName: string, detail: string, cause?: unknown): DaprError {
  return new DaprError('ERR_STATE_QUERY', `state store ${storeName} query failed: ${detail}`, {
    cause,
    details: [errorInfo('DAPR_STATE_QUERY_FAILED'), resourceInfo('state', storeName)],
  });
}

/** A request body or field daprd would refuse to decode: 400 ERR_MALFORMED_REQUEST. */
export function malformedRequest(message: string, cause?: unknown): DaprError {
  return new DaprError('ERR_MALFORMED_REQUEST', message, cause === undefined ? {} : { cause });
}

/** The text of an unknown thrown value. */
export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Maps a store failure to daprd's response: ETag mismatch → 409, malformed ETag → 400, anything
 * else → 500, all with the operation's code. `message` builds daprd's text from the store's.
 */
export function storeFailure(
  err: unknown,
  code: ErrorCode,
  message: (detail: string) => string,
  opts: { readonly mapETag?: boolean } = {},
): DaprError {
  if (isDaprError(err)) return err;
  // daprd's transaction handler reports every failure, ETag ones included, as 500.
  const etag = opts.mapETag === false ? undefined : findETagError(err);
  if (etag !== undefined) {
    const mismatch = etag.kind === 'mismatch';
    return new DaprError(code, message(etag.message), {
      cause: err,
      httpStatus: mismatch ? 409 : 400,
      grpcCode: mismatch ? GrpcCode.ABORTED : GrpcCode.INVALID_ARGUMENT,
    });
  }
  return new DaprError(code, message(errorText(err)), { cause: err });
}

/** Finds an ETagError in an error, its `cause` chain or an AggregateError (bulk writes). */
export function findETagError(err: unknown, depth = 0): ETagError | undefined {
  if (depth > 8 || err === null || typeof err !== 'object') return undefined;
  if (err instanceof ETagError) return err;
  if (err instanceof AggregateError) {
    for (const inner of err.errors) {
      const found = findETagError(inner, depth + 1);
      if (found !== undefined) return found;
    }
  }
  return findETagError((err as { cause?: unknown }).cause, depth + 1);
}
