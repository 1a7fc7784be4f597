import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  freePort,
  ManagedProcess,
  makeTempDir,
  removeTempDir,
  runCommand,
  waitForPort,
  waitUntil,
} from '../../env/process.js';
import { ensurePythonSdk, PYTHON_SDK_PROBE, type PythonSdk } from '../../env/python-sdk.js';
import type { Sidecar } from '../harness.js';
import { startAppSidecar, startTestApp, type TestApp } from '../invoke/invoke-fixture.js';
import { startSdkCaller } from './sdk-fixture.js';

/**
 * The official Dapr Python SDK (`dapr` from PyPI), unchanged, against outriggerd, the way a
 * Python app uses it: DaprClient finds its sidecar from DAPR_HTTP_PORT / DAPR_GRPC_PORT and sends
 * DAPR_API_TOKEN. It invokes an HTTP app and an App of `dapr.ext.grpc` (the SDK's own gRPC app
 * server) through two sidecars, over HTTP (the SDK's default) and gRPC, and uses state, secrets
 * and metadata over the gRPC API. Each scenario is one run of `python/dapr_sdk_probe.py`, which
 * prints what the SDK returned or raised.
 */

const TOKEN = 'py-sdk-token';
let sdk: PythonSdk;
let home = '';
let app: TestApp;
let pyApp: ManagedProcess;
let orders: Sidecar;
let pyOrders: Sidecar;
let shop: Sidecar;

before(async () => {
  sdk = await ensurePythonSdk((m) => process.stderr.write(`${m}\n`));
  home = await makeTempDir('sdk-python');
  app = await startTestApp();
  orders = await startAppSidecar(home, { appId: 'orders', appPort: app.port });

  const pyPort = await freePort();
  pyApp = await ManagedProcess.start({
    name: 'python-grpc-app',
    command: sdk.python,
    args: [PYTHON_SDK_PROBE, 'grpc-app', String(pyPort)],
    logFile: join(home, 'python-grpc-app.log'),
    env: { ...process.env, PYTHONPATH: sdk.sitePackages },
  });
  await waitForPort('127.0.0.1', pyPort, 30_000);
  pyOrders = await startAppSidecar(home, {
    appId: 'pyorders',
    appPort: pyPort,
    // The App serves AppCallbackHealthCheck, which the sidecar probes every second.
    args: ['--app-protocol', 'grpc', '--enable-app-health-check', '--app-health-probe-interval', '1'],
  });

  shop = await startSdkCaller(home, TOKEN);
});

after(async () => {
  for (const s of [shop, pyOrders, orders]) await s?.stop();
  await pyApp?.stop();
  await app?.close();
  await removeTempDir(home);
});

/** Runs one client scenario as a Python app of `shop` would, and parses what it printed. */
async function scenario<T>(name: string, args: object, env: Record<string, string> = {}): Promise<T> {
  const res = await runCommand(sdk.python, [PYTHON_SDK_PROBE, 'client', name, JSON.stringify(args)], {
    env: {
      ...process.env,
      PYTHONPATH: sdk.sitePackages,
      DAPR_HTTP_PORT: String(shop.httpPort),
      DAPR_GRPC_PORT: String(shop.grpcPort),
      DAPR_API_TOKEN: TOKEN,
      DAPR_HEALTH_TIMEOUT: '10',
      ...env,
    },
    allowFailure: true,
    timeoutMs: 60_000,
  });
  assert.equal(res.code, 0, `the ${name} scenario failed:\n${res.stderr}`);
  return JSON.parse(res.stdout.trim().split('\n').at(-1) ?? '') as T;
}

interface SdkError {
  readonly type: string;
  readonly code?: string;
  readonly details?: string;
  readonly status?: number;
  readonly errorCode?: string;
  readonly message?: string;
  readonly errorInfo?: { reason?: string; domain?: string; metadata?: Record<string, string> } | null;
  readonly resourceInfo?: Record<string, string> | null;
  readonly badRequest?: { field_violations?: { field: string; description: string }[] } | null;
}
type Outcome<T> = { ok: T; error?: undefined } | { ok?: undefined; error: SdkError };
interface Invoked {
  readonly text: string;
  readonly contentType: string | null;
  readonly status: number | null;
  readonly headers: Record<string, unknown>;
}

/** The HTTP test app's description of the request it got. */
interface Seen {
  readonly method: string;
  readonly url: string;
  readonly body: string;
  readonly headers: Record<string, string>;
}

for (const protocol of ['http', 'grpc'] as const) {
  describe(`Python DaprClient.invoke_method over ${protocol}`, () => {
    const env = { DAPR_API_METHOD_INVOCATION_PROTOCOL: protocol };

    it('invokes an HTTP app with the verb, query, metadata, body and content type it chose', async () => {
      const out = await scenario<Outcome<Invoked>>(
        'invoke',
        {
          appId: 'orders',
          method: 'orders/create',
          verb: 'POST',
          data: '{"id":9}',
          contentType: 'application/json',
          query: [['region', 'eu']],
          metadata: [['x-tenant', 't-1']],
        },
        env,
      );
      assert.ok(out.ok, `invoke failed: ${JSON.stringify(out.error)}`);
      const seen = JSON.parse(out.ok.text) as Seen;
      assert.equal(seen.method, 'POST');
      assert.equal(seen.url, '/orders/create?region=eu');
      assert.equal(seen.body, '{"id":9}');
      assert.equal(seen.headers['content-type'], 'application/json');
      assert.equal(seen.headers['x-tenant'], 't-1');
      assert.equal(seen.headers['dapr-caller-app-id'], 'shop');
      assert.equal(seen.headers['dapr-callee-app-id'], 'orders');
      assert.equal(seen.headers['dapr-api-token'], undefined, 'the API token stays in the sidecar');
      assert.match(out.ok.contentType ?? '', /^application\/json/);
      if (protocol === 'http') assert.equal(out.ok.status, 200);
    });

    it("surfaces an app's error status", async () => {
      const out = await scenario<Outcome<Invoked>>(
        'invoke',
        { appId: 'orders', method: 'status/404', verb: 'GET' },
        env,
      );
      if (protocol === 'http') {
        // The HTTP API passes the app's status and body through; the SDK raises on non-2xx.
        assert.equal(out.error?.type, 'DaprHttpError');
        assert.equal(out.error?.status, 404);
      } else {
        // daprd's gRPC InvokeService turns an app's HTTP error into a gRPC status of its code table.
        assert.equal(out.error?.type, 'DaprGrpcError');
        assert.equal(out.error?.code, 'NOT_FOUND');
        assert.match(out.error?.details ?? '', /Not Found/);
      }
    });

    it('invokes a dapr.ext.grpc App through two sidecars', async () => {
      const out = await scenario<Outcome<Invoked>>(
        'invoke',
        {
          appId: 'pyorders',
          method: 'echo',
          verb: 'POST',
          data: 'hello from python',
          contentType: 'text/plain',
          metadata: [['x-tenant', 't-2']],
        },
        env,
      );
      assert.ok(out.ok, `invoke failed: ${JSON.stringify(out.error)}`);
      if (protocol === 'http') {
        // aiohttp's content_type drops the parameters; the header has the app's whole value.
        assert.deepEqual(out.ok.headers['content-type'], ['application/json; charset=utf-8']);
        assert.equal(out.ok.contentType, 'application/json');
      } else {
        assert.equal(out.ok.contentType, 'application/json; charset=utf-8');
      }
      const seen = JSON.parse(out.ok.text) as {
        data: string;
        contentType: string;
        metadata: Record<string, string>;
      };
      assert.equal(seen.data, 'hello from python');
      assert.equal(seen.contentType, 'text/plain');
      assert.equal(seen.metadata['dapr-caller-app-id'], 'shop');
      assert.equal(seen.metadata['dapr-callee-app-id'], 'pyorders');
      assert.equal(seen.metadata['x-tenant'], 't-2');
    });

    it("surfaces a dapr.ext.grpc handler's exception", async () => {
      const out = await scenario<Outcome<Invoked>>(
        'invoke',
        { appId: 'pyorders', method: 'fail', verb: 'POST' },
        env,
      );
      if (protocol === 'http') {
        // The app's gRPC status reaches an HTTP caller as grpc-gateway's mapping: Unknown → 500.
        assert.equal(out.error?.type, 'DaprHttpError');
        assert.equal(out.error?.status, 500);
      } else {
        assert.equal(out.error?.type, 'DaprGrpcError');
        assert.equal(out.error?.code, 'UNKNOWN');
      }
      assert.match(JSON.stringify(out.error), /the order is not valid/);
    });

    if (protocol === 'grpc') {
      // The SDK's docstring: over gRPC an HTTP callee needs http_verb, "otherwise, Dapr runtime
      // will return error" (daprd's HTTP channel refuses a call without a verb).
      it('is refused without an HTTP verb when the callee is an HTTP app', async () => {
        const out = await scenario<Outcome<Invoked>>('invoke', { appId: 'orders', method: 'orders/1' }, env);
        assert.equal(out.error?.type, 'DaprGrpcError');
        assert.match(out.error?.details ?? '', /invalid HTTP verb/);
        assert.equal(app.count('/orders/1'), 0, 'nothing reached the app');
      });
    }

    it('reports an app id that nobody serves', async () => {
      const out = await scenario<Outcome<Invoked>>(
        'invoke',
        { appId: 'nobody', method: 'x', verb: 'GET' },
        env,
      );
      if (protocol === 'http') {
        assert.equal(out.error?.type, 'DaprHttpError');
        assert.equal(out.error?.status, 500);
        assert.equal(out.error?.errorCode, 'ERR_DIRECT_INVOKE');
      } else {
        assert.equal(out.error?.type, 'DaprGrpcError');
        assert.equal(out.error?.code, 'INTERNAL');
      }
      assert.match(JSON.stringify(out.error), /failed to invoke, id: nobody/);
    });
  });
}

describe('the dapr.ext.grpc App behind its sidecar', () => {
  it("answers the sidecar's health probes (AppCallbackHealthCheck)", async () => {
    await waitUntil(
      'a successful gRPC health probe of the Python App',
      async () => {
        const text = await (await fetch(`http://127.0.0.1:${pyOrders.metricsPort}/`)).text();
        return /dapr_grpc_io_healthprobes_completed_count\{app_id="pyorders",grpc_client_status="OK"\} [1-9]/.test(
          text,
        );
      },
      20_000,
      { process: pyOrders.proc },
    );
    const text = await (await fetch(`http://127.0.0.1:${pyOrders.metricsPort}/`)).text();
    assert.doesNotMatch(text, /dapr_grpc_io_healthprobes_completed_count\{[^}]*grpc_client_status="(?!OK)/);
  });
});

describe('Python DaprClient state, secrets and metadata (gRPC API)', () => {
  it('saves, reads, bulk-reads, transacts and deletes state, with first-write ETags', async () => {
    interface StateOut {
      get: { data: string; etag: string };
      bulk: { key: string; data: string; hasEtag: boolean; error: string }[];
      staleEtag: Outcome<string>;
      badEtag: Outcome<string>;
      freshEtag: Outcome<string>;
      afterFresh: string;
      afterTx: { t1: string; k1: string };
      afterDelete: string;
      missingStore: Outcome<string>;
      illegalKey: Outcome<string>;
      query: string[];
    }
    const out = await scenario<StateOut>('state', { store: 'statestore', query: true });
    assert.equal(out.get.data, '{"item":"book","qty":2}');
    assert.notEqual(out.get.etag, '');
    assert.deepEqual(out.bulk, [
      { key: 'k1', data: Buffer.from('v1').toString('hex'), hasEtag: true, error: '' },
      { key: 'k2', data: Buffer.from('\x00\x01bytes', 'latin1').toString('hex'), hasEtag: true, error: '' },
      { key: 'missing', data: '', hasEtag: false, error: '' },
    ]);
    assert.equal(out.staleEtag.error?.type, 'DaprGrpcError', JSON.stringify(out.staleEtag));
    assert.equal(out.staleEtag.error?.code, 'ABORTED', JSON.stringify(out.staleEtag));
    assert.match(out.staleEtag.error?.details ?? '', /possible etag mismatch/);
    // SQLite's ETags are UUIDs: anything else is malformed, not stale.
    assert.equal(out.badEtag.error?.code, 'INVALID_ARGUMENT', JSON.stringify(out.badEtag));
    assert.match(out.badEtag.error?.details ?? '', /invalid etag value/);
    assert.equal(out.freshEtag.ok, 'saved');
    assert.equal(out.afterFresh, '{"qty":3}');
    assert.deepEqual(out.afterTx, { t1: 'one', k1: '' });
    assert.equal(out.afterDelete, '');
    assert.equal(out.missingStore.error?.code, 'INVALID_ARGUMENT');
    assert.match(out.missingStore.error?.details ?? '', /state store nosuchstore is not found/);
    assert.equal(out.missingStore.error?.errorCode, 'DAPR_STATE_NOT_FOUND');
    assert.deepEqual(out.missingStore.error?.errorInfo?.metadata, { appID: 'shop' });
    // The Python SDK's error-handling example: daprd's rich error for an illegal key.
    const illegal = out.illegalKey.error;
    assert.equal(illegal?.code, 'INVALID_ARGUMENT');
    assert.equal(illegal?.details, "input key/keyPrefix 'bad||keyname' can't contain '||'");
    assert.equal(illegal?.errorCode, 'DAPR_STATE_ILLEGAL_KEY');
    assert.equal(illegal?.errorInfo?.domain, 'dapr.io');
    assert.deepEqual(illegal?.resourceInfo, {
      '@type': 'type.googleapis.com/google.rpc.ResourceInfo',
      resource_type: 'state',
      resource_name: 'statestore',
    });
    assert.equal(illegal?.badRequest?.field_violations?.[0]?.field, 'bad||keyname');
    assert.deepEqual(out.query, ['order-1'], 'the query finds the value saved with the fresh ETag');
  });

  it('reads one secret and all of a store', async () => {
    interface SecretsOut {
      one: Outcome<Record<string, string>>;
      bulk: Outcome<Record<string, Record<string, string>>>;
      missingKey: Outcome<Record<string, string>>;
      missingStore: Outcome<Record<string, string>>;
    }
    const out = await scenario<SecretsOut>('secrets', { store: 'secretstore' });
    assert.deepEqual(out.one.ok, { apiKey: 'k-123' });
    assert.deepEqual(out.bulk.ok, { apiKey: { apiKey: 'k-123' }, dbPassword: { dbPassword: 'pw-1' } });
    assert.equal(out.missingKey.error?.type, 'DaprGrpcError');
    assert.equal(out.missingStore.error?.code, 'INVALID_ARGUMENT');
    assert.match(out.missingStore.error?.details ?? '', /nosuchstore/);
  });

  it('sets and reads the sidecar metadata', async () => {
    const out = await scenario<{ id: string; components: string[][]; extended: Record<string, string> }>(
      'metadata',
      {},
    );
    assert.equal(out.id, 'shop');
    assert.deepEqual(out.components, [
      ['secretstore', 'secretstores.local.file', 'v1'],
      ['statestore', 'state.sqlite', 'v1'],
    ]);
    assert.equal(out.extended.owner, 'py-team');
  });

  it('is refused with a wrong API token, as daprd refuses it', async () => {
    const res = await runCommand(sdk.python, [PYTHON_SDK_PROBE, 'client', 'metadata', '{}'], {
      env: {
        ...process.env,
        PYTHONPATH: sdk.sitePackages,
        DAPR_HTTP_PORT: String(shop.httpPort),
        DAPR_GRPC_PORT: String(shop.grpcPort),
        DAPR_API_TOKEN: 'wrong',
        DAPR_HEALTH_TIMEOUT: '2',
      },
      allowFailure: true,
      timeoutMs: 60_000,
    });
    assert.notEqual(res.code, 0);
    assert.match(res.stderr, /Unauthenticated|UNAUTHENTICATED|401/);
  });
});
