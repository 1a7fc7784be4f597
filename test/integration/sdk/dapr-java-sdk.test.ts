import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ensureJavaSdkProbe, type JavaSdkProbe } from '../../env/java-sdk.js';
import { makeTempDir, removeTempDir, runCommand } from '../../env/process.js';
import type { Sidecar } from '../harness.js';
import { startAppSidecar, startTestApp, type TestApp } from '../invoke/invoke-fixture.js';
import { startSdkCaller } from './sdk-fixture.js';

/**
 * The official Dapr Java SDK (`io.dapr:dapr-sdk` from Maven Central), unchanged, against
 * outriggerd, as a Java app uses it: DaprClientBuilder finds the sidecar from DAPR_HTTP_PORT /
 * DAPR_GRPC_PORT and sends DAPR_API_TOKEN; `waitForSidecar` polls the outbound health endpoint.
 * Service invocation (the SDK calls it over HTTP) of an HTTP app through two sidecars, then state,
 * secrets and metadata over the gRPC API. Each scenario is one run of `java/DaprSdkProbe.java`,
 * which prints what the SDK returned or threw.
 */

const TOKEN = 'java-sdk-token';
let probe: JavaSdkProbe;
let home = '';
let app: TestApp;
let orders: Sidecar;
let shop: Sidecar;

before(async () => {
  probe = await ensureJavaSdkProbe((m) => process.stderr.write(`${m}\n`));
  home = await makeTempDir('sdk-java');
  app = await startTestApp();
  orders = await startAppSidecar(home, { appId: 'orders', appPort: app.port });
  shop = await startSdkCaller(home, TOKEN);
});

after(async () => {
  for (const s of [shop, orders]) await s?.stop();
  await app?.close();
  await removeTempDir(home);
});

/** Runs one scenario as a Java app of `shop` would, and parses what it printed. */
async function scenario<T>(name: string, args: object = {}): Promise<T> {
  const res = await runCommand(
    probe.java,
    ['-cp', probe.classpath, 'DaprSdkProbe', name, JSON.stringify(args)],
    {
      env: {
        ...process.env,
        DAPR_HTTP_PORT: String(shop.httpPort),
        DAPR_GRPC_PORT: String(shop.grpcPort),
        DAPR_API_TOKEN: TOKEN,
      },
      allowFailure: true,
      timeoutMs: 60_000,
    },
  );
  assert.equal(res.code, 0, `the ${name} scenario failed:\n${res.stderr}`);
  return JSON.parse(res.stdout.trim().split('\n').at(-1) ?? '') as T;
}

interface SdkError {
  readonly errorCode?: string;
  readonly message?: string;
  readonly httpStatus?: number;
  readonly payload?: string | null;
  readonly reason?: string | null;
  readonly domain?: string | null;
}
type Outcome<T> = { ok: T; error?: undefined } | { ok?: undefined; error: SdkError };

describe('Java DaprClient.invokeMethod (HTTP)', () => {
  it('invokes an HTTP app with the verb, query, headers and JSON body it chose', async () => {
    const out = await scenario<Outcome<string>>('invoke', {
      appId: 'orders',
      method: 'orders/create',
      verb: 'POST',
      body: { id: 9 },
      query: { region: 'eu' },
      headers: { 'x-tenant': 't-1' },
    });
    assert.ok(out.ok, `invoke failed: ${JSON.stringify(out.error)}`);
    const seen = JSON.parse(out.ok) as {
      method: string;
      url: string;
      body: string;
      headers: Record<string, string>;
    };
    assert.equal(seen.method, 'POST');
    assert.equal(seen.url, '/orders/create?region=eu');
    assert.deepEqual(JSON.parse(seen.body), { id: 9 });
    assert.equal(seen.headers['x-tenant'], 't-1');
    assert.equal(seen.headers['dapr-caller-app-id'], 'shop');
    assert.equal(seen.headers['dapr-api-token'], undefined, 'the API token stays in the sidecar');
  });

  it("surfaces an app's error status", async () => {
    const out = await scenario<Outcome<string>>('invoke', {
      appId: 'orders',
      method: 'status/404',
      verb: 'GET',
    });
    assert.equal(out.error?.httpStatus, 404);
    assert.equal(out.error?.payload, 'status 404', "the app's body reaches the SDK");
  });

  it('reports an app id that nobody serves with ERR_DIRECT_INVOKE', async () => {
    const out = await scenario<Outcome<string>>('invoke', { appId: 'nobody', method: 'x', verb: 'GET' });
    assert.equal(out.error?.httpStatus, 500);
    assert.equal(out.error?.errorCode, 'ERR_DIRECT_INVOKE');
    assert.match(out.error?.message ?? '', /failed to invoke, id: nobody/);
  });
});

describe('Java DaprClient state, secrets and metadata (gRPC API)', () => {
  it('saves JSON values, reads, bulk-reads, transacts and deletes, with first-write ETags', async () => {
    interface StateOut {
      get: { value: unknown; etag: string };
      bulk: { key: string; value: unknown; hasEtag: boolean }[];
      staleEtag: Outcome<string>;
      freshEtag: Outcome<string>;
      afterFresh: unknown;
      afterTx: { t1: string | null; k1: string | null };
      afterDelete: string | null;
      illegalKey: Outcome<string>;
      missingStore: Outcome<string>;
    }
    const out = await scenario<StateOut>('state', { store: 'statestore' });
    assert.deepEqual(out.get.value, { item: 'book', qty: 2 });
    assert.notEqual(out.get.etag, '');
    assert.deepEqual(out.bulk, [
      { key: 'k1', value: 'v1', hasEtag: true },
      { key: 'k2', value: 42, hasEtag: true },
      { key: 'missing', value: null, hasEtag: false },
    ]);
    assert.equal(out.staleEtag.error?.errorCode, 'ABORTED', JSON.stringify(out.staleEtag));
    assert.match(out.staleEtag.error?.message ?? '', /possible etag mismatch/);
    assert.equal(out.freshEtag.ok, 'saved', JSON.stringify(out.freshEtag));
    assert.deepEqual(out.afterFresh, { qty: 3 });
    assert.deepEqual(out.afterTx, { t1: 'one', k1: null });
    assert.equal(out.afterDelete, null);
    assert.equal(out.illegalKey.error?.errorCode, 'INVALID_ARGUMENT');
    assert.equal(out.illegalKey.error?.reason, 'DAPR_STATE_ILLEGAL_KEY');
    assert.equal(out.illegalKey.error?.domain, 'dapr.io');
    assert.equal(out.missingStore.error?.errorCode, 'INVALID_ARGUMENT');
    assert.equal(out.missingStore.error?.reason, 'DAPR_STATE_NOT_FOUND');
    assert.match(out.missingStore.error?.message ?? '', /state store nosuchstore is not found/);
  });

  it('reads one secret and all of a store', async () => {
    interface SecretsOut {
      one: Outcome<Record<string, string>>;
      bulk: Outcome<Record<string, Record<string, string>>>;
      missingStore: Outcome<Record<string, string>>;
    }
    const out = await scenario<SecretsOut>('secrets', { store: 'secretstore' });
    assert.deepEqual(out.one.ok, { apiKey: 'k-123' });
    assert.deepEqual(out.bulk.ok, { apiKey: { apiKey: 'k-123' }, dbPassword: { dbPassword: 'pw-1' } });
    assert.equal(out.missingStore.error?.errorCode, 'INVALID_ARGUMENT');
    assert.match(out.missingStore.error?.message ?? '', /nosuchstore/);
  });

  it('reads the sidecar metadata', async () => {
    const out = await scenario<{ id: string; components: string[][] }>('metadata');
    assert.equal(out.id, 'shop');
    assert.deepEqual(out.components, [
      ['secretstore', 'secretstores.local.file', 'v1'],
      ['statestore', 'state.sqlite', 'v1'],
    ]);
  });
});
