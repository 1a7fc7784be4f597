import { DaprError, errorInfo } from '../../errors/dapr-error.js';
import { componentCall } from './component-calls.js';
import type { ApiContext, LoadedSecretStore, SecretScope } from './context.js';
import { errorText } from './state-errors.js';

/**
 * The Secrets API, implemented once (after daprd's pkg/api/universal/secrets.go and
 * pkg/api/errors/secrets.go), with Configuration `secrets.scopes` enforcement.
 */

/** GET secrets/{store}/{key}. */
export interface GetSecretRequest {
  readonly storeName: string;
  readonly key: string;
  readonly metadata: Readonly<Record<string, string>>;
}

/** GET secrets/{store}/bulk. */
export interface GetBulkSecretRequest {
  readonly storeName: string;
  readonly metadata: Readonly<Record<string, string>>;
}

/** True when the scope lets the app read `key` (daprd's SecretsScope.IsSecretAllowed). */
export function isSecretAllowed(scope: SecretScope | undefined, key: string): boolean {
  if (scope === undefined) return true;
  // A non-empty allow list is the whole rule: only listed secrets are readable.
  if (scope.allowedSecrets.length > 0) return scope.allowedSecrets.includes(key);
  if (scope.deniedSecrets.includes(key)) return false;
  return scope.defaultAccess !== 'deny';
}

function resolveSecretStore(ctx: ApiContext, storeName: string): LoadedSecretStore {
  if (ctx.secretStores.size === 0) {
    throw new DaprError('ERR_SECRET_STORES_NOT_CONFIGURED', 'secret store is not configured', {
      details: [errorInfo('ERR_SECRET_STORES_NOT_CONFIGURED')],
    });
  }
  const loaded = ctx.secretStores.get(storeName);
  if (loaded === undefined) {
    throw new DaprError('ERR_SECRET_STORE_NOT_FOUND', `failed finding secret store with key ${storeName}`, {
      details: [errorInfo('ERR_SECRET_STORE_NOT_FOUND')],
    });
  }
  return loaded;
}

function permissionDenied(storeName: string, key: string): DaprError {
  return new DaprError(
    'ERR_PERMISSION_DENIED',
    `access denied by policy to get ${JSON.stringify(key)} from ${JSON.stringify(storeName)}`,
    {
      details: [errorInfo('ERR_PERMISSION_DENIED')],
    },
  );
}

/**
 * Reads one secret's key/value pairs. A secret the store does not have is 500 ERR_SECRET_GET,
 * which is what daprd answers with its file, env and Kubernetes stores (they all return an error).
 */
export async function getSecret(ctx: ApiContext, req: GetSecretRequest): Promise<Record<string, string>> {
  const loaded = resolveSecretStore(ctx, req.storeName);
  if (!isSecretAllowed(ctx.secretScopes.get(req.storeName), req.key))
    throw permissionDenied(req.storeName, req.key);
  const fail = (detail: string, cause?: unknown) =>
    new DaprError(
      'ERR_SECRET_GET',
      `failed getting secret with key ${req.key} from secret store ${req.storeName}: ${detail}`,
      {
        cause,
        details: [errorInfo('ERR_SECRET_GET')],
      },
    );
  let data: Record<string, string> | undefined;
  try {
    data = await componentCall('secret', req.storeName, 'get', () =>
      outbound(ctx, req.storeName, () => loaded.store.getSecret(req.key, req.metadata)),
    );
  } catch (err) {
    throw fail(errorText(err), err);
  }
  if (data === undefined) throw fail(`secret ${req.key} not found`);
  return data;
}

/** Reads every secret the scope allows: name → key/value pairs; the rest are filtered out. */
export async function getBulkSecret(
  ctx: ApiContext,
  req: GetBulkSecretRequest,
): Promise<Record<string, Record<string, string>>> {
  const loaded = resolveSecretStore(ctx, req.storeName);
  let all: Record<string, Record<string, string>>;
  try {
    all = await componentCall('secret', req.storeName, 'bulk_get', () =>
      outbound(ctx, req.storeName, () => loaded.store.bulkGetSecret(req.metadata)),
    );
  } catch (err) {
    throw new DaprError(
      'ERR_SECRET_GET',
      `failed getting secrets from secret store ${req.storeName}: ${errorText(err)}`,
      {
        cause: err,
        details: [errorInfo('ERR_SECRET_GET')],
      },
    );
  }
  const scope = ctx.secretScopes.get(req.storeName);
  const out: Record<string, Record<string, string>> = {};
  for (const [name, value] of Object.entries(all)) {
    if (isSecretAllowed(scope, name)) out[name] = value;
  }
  return out;
}

/** Runs a secret-store call under the store's outbound resiliency policy, as daprd does. */
function outbound<T>(ctx: ApiContext, storeName: string, fn: () => Promise<T>): Promise<T> {
  const policy = ctx.resiliency?.forComponentOutbound(storeName, 'secretstores');
  return policy === undefined || policy.isEmpty ? fn() : policy.execute(() => fn());
}
