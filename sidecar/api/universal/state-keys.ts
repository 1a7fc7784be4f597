import { DaprError, errorInfo, resourceInfo } from '../../errors/dapr-error.js';
import type { KeyPrefixStrategy } from './context.js';

/**
 * Dapr's state key layout (`appid||key`), after daprd's pkg/components/state GetModifiedStateKey.
 * Stores only ever see modified keys; the API hands original keys back to the app.
 */

/** The separator daprd puts between the prefix and the key. */
export const KEY_SEPARATOR = '||';

/** Where a key comes from, for the prefix rules. */
export interface KeyScope {
  readonly storeName: string;
  readonly appId: string;
  readonly namespace: string;
  readonly strategy: KeyPrefixStrategy;
}

/**
 * The prefix (without separator) a strategy puts in front of keys, or undefined for none.
 * `namespace` follows daprd: `<namespace>.<appid>`, falling back to the app id when there is no namespace.
 */
export function keyPrefixOf(scope: KeyScope): string | undefined {
  const { strategy, appId, namespace, storeName } = scope;
  switch (strategy.kind) {
    case 'none':
      return undefined;
    case 'name':
      return storeName;
    case 'appid':
      return appId === '' ? undefined : appId;
    case 'namespace':
      if (appId === '') return undefined;
      return namespace === '' ? appId : `${namespace}.${appId}`;
    case 'custom':
      return strategy.prefix;
  }
}

/** Builds the stored key; keys containing `||` are refused with 400 ERR_MALFORMED_REQUEST, as daprd. */
export function modifiedStateKey(key: string, scope: KeyScope): string {
  if (key.includes(KEY_SEPARATOR)) {
    const message = `input key/keyPrefix '${key}' can't contain '${KEY_SEPARATOR}'`;
    throw new DaprError('ERR_MALFORMED_REQUEST', message, {
      details: [
        errorInfo('DAPR_STATE_ILLEGAL_KEY'),
        resourceInfo('state', scope.storeName),
        {
          '@type': 'type.googleapis.com/google.rpc.BadRequest',
          field_violations: [{ field: key, description: message }],
        },
      ],
    });
  }
  const prefix = keyPrefixOf(scope);
  return prefix === undefined ? key : `${prefix}${KEY_SEPARATOR}${key}`;
}

/** Strips the prefix daprd-style: the part after the first `||` (the whole key when there is none). */
export function originalStateKey(modifiedKey: string): string {
  const parts = modifiedKey.split(KEY_SEPARATOR);
  return parts.length <= 1 ? modifiedKey : (parts[1] ?? '');
}
