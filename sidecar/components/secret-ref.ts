import type { LoadedSecretStore } from '../api/universal/context.js';
import type { SecretKeyRef } from '../spec/problems.js';

/**
 * Resolves a resource's `secretKeyRef` through the secret store its `auth.secretStore` names
 * (daprd's processor: components and HTTPEndpoints alike). Never throws: a failure comes back as
 * the reason, for the caller to report in its own way.
 */
export async function resolveSecretKeyRef(
  stores: ReadonlyMap<string, LoadedSecretStore>,
  storeName: string | undefined,
  ref: SecretKeyRef,
): Promise<{ readonly value: string } | { readonly error: string }> {
  const store = storeName === undefined ? undefined : stores.get(storeName);
  if (store === undefined)
    return { error: `secret store "${storeName ?? ''}" did not load, so secretKeyRef cannot be resolved` };
  try {
    const value = (await store.store.getSecret(ref.name, {}))?.[ref.key];
    if (value !== undefined) return { value };
    return { error: `secret "${ref.name}" key "${ref.key}" not found in secret store "${store.name}"` };
  } catch (err) {
    return { error: `reading secret "${ref.name}" from "${store.name}" failed: ${(err as Error).message}` };
  }
}
