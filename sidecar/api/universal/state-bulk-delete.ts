import { isDaprError } from '../../errors/dapr-error.js';
import { componentCall } from './component-calls.js';
import type { ApiContext } from './context.js';
import { type DeleteStateRequest, deleteOne, keyScopeOf, resolveStateStore } from './state.js';
import { errorText, storeFailure } from './state-errors.js';
import { modifiedStateKey } from './state-keys.js';

/**
 * Bulk delete (daprd's gRPC DeleteBulkState; HTTP has no such route): every item is deleted as
 * `deleteState` deletes one, and the store's failures are reported together as
 * ERR_STATE_BULK_DELETE, with the ETag mapping daprd's getStateErrorCode applies.
 */

/** `DeleteBulkState`: items with their own ETag, options and metadata. */
export interface DeleteBulkStateRequest {
  readonly storeName: string;
  readonly items: readonly Omit<DeleteStateRequest, 'storeName'>[];
}

/** The store's own error behind a `deleteState` failure (its DaprError keeps it as `cause`). */
function storeError(err: unknown): unknown {
  if (isDaprError(err) && err.code === 'ERR_STATE_DELETE' && err.cause !== undefined) return err.cause;
  return err;
}

/** Deletes every item; all are attempted, and any failures come back as one error. */
export async function deleteBulkState(ctx: ApiContext, req: DeleteBulkStateRequest): Promise<void> {
  const loaded = resolveStateStore(ctx, req.storeName);
  // Every key is checked before anything is deleted, as daprd builds all requests first.
  const scope = keyScopeOf(ctx, loaded);
  for (const item of req.items) modifiedStateKey(item.key, scope);
  await componentCall('state', req.storeName, 'bulk_delete', async () => {
    const results = await Promise.allSettled(
      req.items.map((item) => deleteOne(ctx, loaded, { ...item, storeName: req.storeName })),
    );
    const errors = results.flatMap((r) => (r.status === 'rejected' ? [storeError(r.reason)] : []));
    if (errors.length === 0) return;
    const err =
      errors.length === 1 ? errors[0] : new AggregateError(errors, errors.map(errorText).join('\n'));
    throw storeFailure(
      err,
      'ERR_STATE_BULK_DELETE',
      (d) => `failed deleting state in state store ${req.storeName}: ${d}`,
    );
  });
}
