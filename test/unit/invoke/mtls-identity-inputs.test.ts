import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createMtlsIdentity, type MtlsIdentityInputs } from '../../../sidecar/api/internal/mtls-identity.js';
import { makeTempDir, removeTempDir } from '../../env/process.js';
import { recordingLogger } from '../recording-logger.js';

/** What mTLS needs before the first certificate request: each missing input is a clear start error. */
function inputs(over: Partial<MtlsIdentityInputs>): MtlsIdentityInputs {
  return {
    appId: 'a',
    namespace: 'default',
    mode: 'standalone',
    sentryAddress: '127.0.0.1:1',
    trustAnchorsFile: undefined,
    controlPlaneTrustDomain: 'localhost',
    controlPlaneNamespace: 'default',
    trustDomain: 'public',
    env: {},
    logger: recordingLogger().logger,
    ...over,
  };
}

describe('mTLS identity inputs', () => {
  it('refuses to start without a sentry address', async () => {
    await assert.rejects(createMtlsIdentity(inputs({ sentryAddress: '' })), /--sentry-address is not set/);
  });

  it('refuses to start without trust anchors, naming every source', async () => {
    await assert.rejects(
      createMtlsIdentity(inputs({})),
      /no trust anchors were given \(--trust-anchors-file, DAPR_TRUST_ANCHORS_FILE or DAPR_TRUST_ANCHORS\)/,
    );
  });

  it('refuses trust anchors that hold no certificate, naming their source', async () => {
    await assert.rejects(
      createMtlsIdentity(inputs({ env: { DAPR_TRUST_ANCHORS: 'not-a-pem' } })),
      /the trust anchors in DAPR_TRUST_ANCHORS hold no PEM certificate/,
    );
    const dir = await makeTempDir('mtls-inputs');
    try {
      const file = join(dir, 'ca.pem');
      await writeFile(file, '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n');
      await assert.rejects(createMtlsIdentity(inputs({ trustAnchorsFile: file })), (err: Error) =>
        err.message.startsWith(`the trust anchors in ${file} are not valid PEM certificates`),
      );
    } finally {
      await removeTempDir(dir);
    }
  });

  it('names a trust anchors file that cannot be read, and does not fall back to DAPR_TRUST_ANCHORS', async () => {
    const dir = await makeTempDir('mtls-inputs');
    try {
      const missing = join(dir, 'absent.pem');
      await assert.rejects(
        createMtlsIdentity(inputs({ trustAnchorsFile: missing, env: { DAPR_TRUST_ANCHORS: 'not-a-pem' } })),
        (err: Error) => err.message.includes(`cannot read the trust anchors file ${missing}`),
      );
    } finally {
      await removeTempDir(dir);
    }
  });
});
