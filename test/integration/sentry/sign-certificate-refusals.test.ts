import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { generateP256 } from '../../../operator/sentry/ca-bundle.js';
import { createCsr } from '../../../sidecar/pki/x509/csr.js';
import type { CertificateRequest } from '../../../sidecar/security/sentry-client.js';
import { requestCertificate, SentryRequestError } from '../../../sidecar/security/sentry-client.js';
import type { SentryFixture } from './sentry-fixture.js';
import { metricValue, startSentryFixture } from './sentry-fixture.js';

describe('SignCertificate refusals carry Dapr gRPC statuses and count as failures', () => {
  let fx: SentryFixture;
  let anchors: string;
  const keys = generateP256();
  const base: CertificateRequest = {
    csrPem: createCsr(keys.privateKey, keys.publicKey),
    token: '',
    id: 'orders',
    namespace: 'default',
    trustDomain: '',
    tokenValidator: 'UNKNOWN',
  };
  const call = (req: Partial<CertificateRequest>) =>
    requestCertificate({ address: fx.address, spiffeId: fx.sentry.spiffeId, timeoutMs: 3_000 }, anchors, {
      ...base,
      ...req,
    });
  const rejectsWith = async (p: Promise<unknown>, code: grpc.status, message: RegExp) => {
    await assert.rejects(p, (err: unknown) => {
      assert.ok(err instanceof SentryRequestError);
      assert.equal(err.grpcCode, code, err.message);
      assert.match(err.message, message);
      return true;
    });
  };

  before(async () => {
    fx = await startSentryFixture();
    anchors = await readFile(fx.trustFile, 'utf8');
  });
  after(async () => {
    await fx?.close();
  });

  it('signs a good request with the default (dev) validator and returns chain, anchors and valid_until', async () => {
    const issued = await call({});
    assert.equal((issued.certChainPem.match(/BEGIN CERTIFICATE/g) ?? []).length, 2);
    assert.equal(issued.trustAnchorsPem.trim(), anchors.trim());
    assert.ok(issued.validUntil !== null && issued.validUntil.getTime() > Date.now());
    assert.equal(await metricValue(fx.registry, 'dapr_sentry_cert_sign_success_total'), 1);
  });

  it('a malformed CSR is InvalidArgument', async () => {
    await rejectsWith(
      call({ csrPem: '-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n' }),
      grpc.status.INVALID_ARGUMENT,
      /invalid certificate signing request/,
    );
    assert.equal(
      await metricValue(fx.registry, 'dapr_sentry_cert_sign_failure_total', { reason: 'csr_invalid' }),
      1,
    );
  });

  it('an empty CSR is InvalidArgument', async () => {
    await rejectsWith(
      call({ csrPem: '' }),
      grpc.status.INVALID_ARGUMENT,
      /certificate_signing_request is empty/,
    );
  });

  it('a validator that is not enabled is InvalidArgument', async () => {
    await rejectsWith(
      call({ tokenValidator: 'KUBERNETES' }),
      grpc.status.INVALID_ARGUMENT,
      /token validator KUBERNETES is not enabled/,
    );
  });

  it('an identity the validator refuses is PermissionDenied', async () => {
    await rejectsWith(call({ id: '' }), grpc.status.PERMISSION_DENIED, /request has no id/);
    await rejectsWith(call({ id: 'bad/id' }), grpc.status.PERMISSION_DENIED, /invalid app id/);
  });

  it('counts every request received', async () => {
    assert.equal(await metricValue(fx.registry, 'dapr_sentry_cert_sign_request_received_total'), 6);
    assert.ok(
      (await metricValue(fx.registry, 'dapr_sentry_issuercert_expiry_timestamp')) > Date.now() / 1000,
    );
    assert.ok((await metricValue(fx.registry, 'dapr_sentry_rootcert_expiry_timestamp')) > Date.now() / 1000);
  });

  it('a client refuses a server that is not sentry (SPIFFE pin)', async () => {
    await assert.rejects(
      requestCertificate(
        {
          address: fx.address,
          spiffeId: 'spiffe://cluster.local/ns/dapr-system/not-sentry',
          timeoutMs: 3_000,
        },
        anchors,
        base,
      ),
      /not spiffe:\/\/cluster.local\/ns\/dapr-system\/not-sentry|No connection established/,
    );
  });
});
