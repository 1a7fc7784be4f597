import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { getBulkSecret, getSecret, isSecretAllowed } from '../../../sidecar/api/universal/secrets.js';
import { isDaprError } from '../../../sidecar/errors/dapr-error.js';
import { makeContext } from './api-fixture.js';

describe('secret scopes (daprd SecretsScope.IsSecretAllowed)', () => {
  const scope = (
    defaultAccess: 'allow' | 'deny',
    allowedSecrets: string[] = [],
    deniedSecrets: string[] = [],
  ) => ({
    storeName: 'env',
    defaultAccess,
    allowedSecrets,
    deniedSecrets,
  });

  it('follows allow list, then deny list, then default access', () => {
    assert.equal(isSecretAllowed(undefined, 'x'), true);
    assert.equal(isSecretAllowed(scope('allow'), 'x'), true);
    assert.equal(isSecretAllowed(scope('deny'), 'x'), false);
    assert.equal(isSecretAllowed(scope('deny', ['x']), 'x'), true);
    assert.equal(isSecretAllowed(scope('allow', ['y']), 'x'), false);
    assert.equal(isSecretAllowed(scope('allow', [], ['x']), 'x'), false);
    assert.equal(isSecretAllowed(scope('deny', [], ['x']), 'y'), false);
  });

  it('denies with 403 ERR_PERMISSION_DENIED and filters bulk results', async () => {
    const ctx = await makeContext({
      env: { A: '1', B: '2', C: '3' },
      secretScopes: [scope('allow', [], ['B'])],
    });
    assert.deepEqual(await getSecret(ctx, { storeName: 'env', key: 'A', metadata: {} }), { A: '1' });
    await assert.rejects(
      getSecret(ctx, { storeName: 'env', key: 'B', metadata: {} }),
      (err: unknown) => isDaprError(err) && err.code === 'ERR_PERMISSION_DENIED' && err.httpStatus === 403,
    );
    assert.deepEqual(await getBulkSecret(ctx, { storeName: 'env', metadata: {} }), {
      A: { A: '1' },
      C: { C: '3' },
    });
  });

  it('unknown store is 401 ERR_SECRET_STORE_NOT_FOUND and no stores is 500 ERR_SECRET_STORES_NOT_CONFIGURED', async () => {
    const ctx = await makeContext({ env: {} });
    await assert.rejects(
      getSecret(ctx, { storeName: 'vault', key: 'A', metadata: {} }),
      (err: unknown) =>
        isDaprError(err) && err.code === 'ERR_SECRET_STORE_NOT_FOUND' && err.httpStatus === 401,
    );
    const none = await makeContext();
    await assert.rejects(
      getBulkSecret(none, { storeName: 'vault', metadata: {} }),
      (err: unknown) =>
        isDaprError(err) && err.code === 'ERR_SECRET_STORES_NOT_CONFIGURED' && err.httpStatus === 500,
    );
  });
});
