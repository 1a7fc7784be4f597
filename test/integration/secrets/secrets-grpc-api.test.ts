import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { DaprClient } from '@dapr/dapr';
import * as grpc from '@grpc/grpc-js';
import { makeTempDir, removeTempDir } from '../../env/process.js';
import {
  assertGrpcError,
  dialDapr,
  grpcCall,
  grpcRawCall,
  startSdkGrpcClient,
  statusDetails,
} from '../grpc-api-client.js';
import { type Sidecar, startSidecar } from '../harness.js';
import { writeSecretsFixture } from './secrets-fixture.js';

/**
 * The Secrets API on the sidecar's gRPC port: local.file stores and Configuration secret scopes,
 * read by the official DaprClient over gRPC unchanged and by raw grpc-js calls (Dapr's own
 * dapr.proto) for daprd's error statuses.
 */

const TOKEN = 'grpc-secrets-token';
let dir = '';
let sidecar: Sidecar;
let raw: grpc.Client;
let sdk: DaprClient;

const call = (method: string, req: unknown) => grpcCall(raw, method, req, TOKEN);

before(async () => {
  dir = await makeTempDir('secrets-grpc');
  const { resources, config } = await writeSecretsFixture(dir);
  sidecar = await startSidecar({
    appId: 'grpcsecrets',
    resourcesPaths: [resources],
    configPath: config,
    env: { DAPR_API_TOKEN: TOKEN },
  });
  raw = dialDapr(sidecar.grpcPort);
  sdk = await startSdkGrpcClient(sidecar.grpcPort, TOKEN);
});

after(async () => {
  await sdk?.stop();
  raw?.close();
  await sidecar?.stop();
  await removeTempDir(dir);
});

describe('@dapr/dapr DaprClient secrets over gRPC', () => {
  it('reads one secret', async () => {
    assert.deepEqual(await sdk.secret.get('files', 'db:password'), { 'db:password': 's3cret' });
    assert.deepEqual(await sdk.secret.get('files', 'apiKey'), { apiKey: 'k-123' });
  });

  it('reads every allowed secret in bulk', async () => {
    const all = (await sdk.secret.getBulk('files')) as Record<string, Record<string, string>>;
    assert.deepEqual(all['db:user'], { 'db:user': 'admin' });
    assert.deepEqual(all.apiKey, { apiKey: 'k-123' });
    assert.equal(all.hidden, undefined, 'a denied secret is left out');
  });
});

describe('gRPC Secrets API: daprd behaviours', () => {
  it('GetSecret answers every key of a multi-valued secret, with request metadata passed on', async () => {
    const { err, res } = await call('GetSecret', {
      store_name: 'multi',
      key: 'db',
      metadata: { version_id: '1' },
    });
    assert.equal(err, null, err?.message);
    assert.deepEqual(res?.data, { user: 'admin', password: 's3cret' });
  });

  it('GetBulkSecret nests each secret in a SecretResponse', async () => {
    const { err, res } = await call('GetBulkSecret', { store_name: 'multi' });
    assert.equal(err, null, err?.message);
    const data = res?.data as Record<string, { secrets: Record<string, string> }>;
    assert.deepEqual(data.db?.secrets, { user: 'admin', password: 's3cret' });
    assert.deepEqual(data.apiKey?.secrets, { apiKey: 'k-123' });
  });

  it('refuses a secret denied by the scopes with PermissionDenied', async () => {
    const err = assertGrpcError(
      await call('GetSecret', { store_name: 'files', key: 'hidden' }),
      grpc.status.PERMISSION_DENIED,
      'access denied by policy to get "hidden" from "files"',
    );
    assert.equal(statusDetails(err)[0]?.value.reason, 'ERR_PERMISSION_DENIED');
  });

  it('answers an unknown store with InvalidArgument', async () => {
    for (const [method, req] of [
      ['GetSecret', { store_name: 'ghost', key: 'apiKey' }],
      ['GetBulkSecret', { store_name: 'ghost' }],
    ] as const)
      assertGrpcError(
        await call(method, req),
        grpc.status.INVALID_ARGUMENT,
        'failed finding secret store with key ghost',
      );
  });

  it('answers a secret the store does not have with Internal ERR_SECRET_GET', async () => {
    const err = assertGrpcError(
      await call('GetSecret', { store_name: 'files', key: 'nope' }),
      grpc.status.INTERNAL,
      /^failed getting secret with key nope from secret store files: /,
    );
    assert.equal(statusDetails(err)[0]?.value.reason, 'ERR_SECRET_GET');
  });

  it('answers bytes that are not a GetSecretRequest with an error status and keeps serving', async () => {
    // `metadata` (field 3) announcing 127 bytes of which one is there.
    const err = await grpcRawCall(raw, 'GetSecret', Buffer.from([0x1a, 0x7f, 0x0a]), TOKEN);
    assert.equal(err?.code, grpc.status.INTERNAL);
    assert.equal((await call('GetSecret', { store_name: 'files', key: 'apiKey' })).err, null);
  });

  it('refuses a call without the API token as Unauthenticated', async () => {
    assertGrpcError(
      await grpcCall(raw, 'GetSecret', { store_name: 'files', key: 'apiKey' }),
      grpc.status.UNAUTHENTICATED,
    );
  });
});
