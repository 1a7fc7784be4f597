import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ensureGoSdkProbe, errorInfoOf, type GoSdkClient, goSdkClient } from '../../env/go-sdk-probe.js';
import { makeTempDir, removeTempDir } from '../../env/process.js';
import { VERSIONS } from '../../env/versions.js';
import type { Sidecar } from '../harness.js';
import { startAppSidecar, startTestApp, type TestApp } from '../invoke/invoke-fixture.js';

/**
 * The official Dapr Go SDK's client (github.com/dapr/go-sdk, unchanged; `dapr.NewClient()` reads
 * DAPR_GRPC_PORT and DAPR_API_TOKEN) invoking an HTTP app through two sidecars. The caller's
 * sidecar requires an API token. Expected errors are daprd v1.16's (go-sdk v1.13's release):
 * an app's HTTP error status becomes invokev1.ErrorFromHTTPResponseCode (the status mapped to a
 * gRPC code, the status text, ErrorInfo with http.code and the body cut to 63 bytes), and a
 * failed call ERR_DIRECT_INVOKE's "failed to invoke, id: <app>, err: <cause>" (Internal).
 */

const TOKEN = 'go-sdk-token';
let home = '';
let app: TestApp;
let callee: Sidecar;
let caller: Sidecar;
let sdk: GoSdkClient;
let probe = '';

/** The JSON description the test app answers on its catch-all route. */
interface Seen {
  method: string;
  url: string;
  body: string;
  headers: Record<string, string | undefined>;
}

before(async () => {
  probe = await ensureGoSdkProbe((line) => process.stderr.write(`${line}\n`));
  home = await makeTempDir('go-sdk-invoke');
  app = await startTestApp();
  callee = await startAppSidecar(home, { appId: 'orders', appPort: app.port });
  caller = await startAppSidecar(home, { appId: 'goclient', env: { DAPR_API_TOKEN: TOKEN } });
  sdk = goSdkClient(probe, { grpcPort: caller.grpcPort, httpPort: caller.httpPort, token: TOKEN });
});

after(async () => {
  for (const s of [caller, callee]) await s?.stop();
  await app?.close();
  await removeTempDir(home);
});

describe('Go SDK client: service invocation of an HTTP app through two sidecars', () => {
  it('waits for the sidecar and invokes a method without content (InvokeMethod)', async () => {
    await sdk.ok({ op: 'wait', timeoutMs: 10_000 });
    const seen = JSON.parse(
      await sdk.ok<string>({
        op: 'invokeMethod',
        appId: 'orders',
        method: 'orders/9?expand=items',
        verb: 'GET',
      }),
    ) as Seen;
    assert.equal(seen.method, 'GET');
    assert.equal(seen.url, '/orders/9?expand=items');
    assert.equal(seen.body, '');
    assert.equal(seen.headers['dapr-caller-app-id'], 'goclient');
    assert.equal(seen.headers['dapr-callee-app-id'], 'orders');
    assert.equal(seen.headers['dapr-api-token'], undefined, 'the API token stays in the sidecar');
    assert.ok(
      seen.headers['user-agent']?.startsWith(`dapr-sdk-go/${VERSIONS.goSdk} `),
      seen.headers['user-agent'],
    );
  });

  it('sends the verb, content type, query string and body it chose (InvokeMethodWithContent)', async () => {
    const seen = JSON.parse(
      await sdk.ok<string>({
        op: 'invokeMethodWithContent',
        appId: 'orders',
        method: 'orders/create?source=go&n=2',
        verb: 'PUT',
        contentType: 'text/plain; charset=utf-8',
        data: 'hello from Go',
      }),
    ) as Seen;
    assert.equal(seen.method, 'PUT');
    assert.equal(seen.url, '/orders/create?source=go&n=2');
    assert.equal(seen.body, 'hello from Go');
    assert.equal(seen.headers['content-type'], 'text/plain; charset=utf-8');
    assert.equal(seen.headers['dapr-caller-app-id'], 'goclient');
  });

  it('sends a value as JSON with its content type, the verb upper-cased (InvokeMethodWithCustomContent)', async () => {
    const seen = JSON.parse(
      await sdk.ok<string>({
        op: 'invokeMethodWithCustomContent',
        appId: 'orders',
        method: 'orders/bulk',
        verb: 'post',
        contentType: 'application/json',
        content: { id: 7, tags: ['a', 'b'] },
      }),
    ) as Seen;
    assert.equal(seen.method, 'POST');
    assert.equal(seen.url, '/orders/bulk');
    assert.deepEqual(JSON.parse(seen.body), { id: 7, tags: ['a', 'b'] });
    assert.equal(seen.headers['content-type'], 'application/json');
  });

  it('reaches the same path whether the method starts with a slash or not (daprd adds one only when missing)', async () => {
    for (const method of ['orders/77', '/orders/77']) {
      const seen = JSON.parse(
        await sdk.ok<string>({ op: 'invokeMethod', appId: 'orders', method, verb: 'GET' }),
      ) as Seen;
      assert.equal(seen.url, '/orders/77', method);
    }
  });

  it("returns the app's answer bytes unchanged", async () => {
    const echoed = await sdk.ok<string>({
      op: 'invokeMethodWithContent',
      appId: 'orders',
      method: 'echo',
      verb: 'POST',
      contentType: 'application/octet-stream',
      data: 'line 1\nline 2 ✓',
    });
    assert.equal(echoed, 'line 1\nline 2 ✓');
  });

  it("turns an app's 404 into NotFound with daprd's ErrorInfo", async () => {
    const err = await sdk.fails({ op: 'invokeMethod', appId: 'orders', method: 'status/404', verb: 'GET' });
    assert.equal(err.code, 'NotFound');
    assert.equal(err.statusMessage, 'Not Found');
    assert.equal(err.message, 'rpc error: code = NotFound desc = Not Found');
    assert.deepEqual(errorInfoOf(err), {
      reason: 'Not Found',
      domain: 'dapr.io',
      metadata: { 'http.code': '404', 'http.error_message': 'status 404' },
    });
  });

  it("turns an app's 500 into Unknown (daprd's CodeFromHTTPStatus) and its 503 into Unavailable", async () => {
    const e500 = await sdk.fails({ op: 'invokeMethod', appId: 'orders', method: 'status/500', verb: 'POST' });
    assert.equal(e500.code, 'Unknown');
    assert.equal(e500.statusMessage, 'Internal Server Error');
    assert.equal(errorInfoOf(e500)?.metadata?.['http.code'], '500');
    const e503 = await sdk.fails({ op: 'invokeMethod', appId: 'orders', method: 'status/503', verb: 'GET' });
    assert.equal(e503.code, 'Unavailable');
    assert.equal(e503.statusMessage, 'Service Unavailable');
  });

  it('refuses a call without the API token, and with a wrong one, as daprd does', async () => {
    const none = await goSdkClient(probe, { grpcPort: caller.grpcPort }).fails({
      op: 'invokeMethod',
      appId: 'orders',
      method: 'orders/1',
      verb: 'GET',
    });
    assert.equal(none.code, 'Unauthenticated');
    assert.equal(none.statusMessage, 'Unauthorized');
    assert.deepEqual(errorInfoOf(none), {
      reason: 'Unauthorized',
      domain: 'dapr.io',
      metadata: { 'http.code': '401', 'http.error_message': 'missing api token in request metadata' },
    });
    const wrong = await goSdkClient(probe, { grpcPort: caller.grpcPort, token: 'not-it' }).fails({
      op: 'invokeMethod',
      appId: 'orders',
      method: 'orders/1',
      verb: 'GET',
    });
    assert.equal(wrong.code, 'Unauthenticated');
    assert.equal(
      errorInfoOf(wrong)?.metadata?.['http.error_message'],
      'authentication error: api token mismatch',
    );
  });
});

describe('Go SDK client: malformed and edge invocations', () => {
  it("invoking an unknown app id fails with daprd's ERR_DIRECT_INVOKE message (Internal)", async () => {
    const err = await sdk.fails({ op: 'invokeMethod', appId: 'no-such-app', method: 'x', verb: 'GET' });
    assert.equal(err.code, 'Internal');
    assert.equal(
      err.statusMessage,
      "failed to invoke, id: no-such-app, err: couldn't find service: no-such-app",
    );
  });

  it("an app id with more than one dot fails with daprd's invalid app id message", async () => {
    const err = await sdk.fails({ op: 'invokeMethod', appId: 'orders.default.x', method: 'x', verb: 'GET' });
    assert.equal(err.code, 'Internal');
    assert.equal(
      err.statusMessage,
      'failed to invoke, id: orders.default.x, err: invalid app id orders.default.x',
    );
  });

  it('an app id with its namespace (<app>.<namespace>) reaches the app', async () => {
    const seen = JSON.parse(
      await sdk.ok<string>({ op: 'invokeMethod', appId: 'orders.default', method: 'orders/5', verb: 'GET' }),
    ) as Seen;
    assert.equal(seen.url, '/orders/5');
    const other = await sdk.fails({
      op: 'invokeMethod',
      appId: 'orders.elsewhere',
      method: 'x',
      verb: 'GET',
    });
    assert.equal(
      other.statusMessage,
      "failed to invoke, id: orders.elsewhere, err: couldn't find service: orders",
    );
  });

  it('a verb the SDK does not know reaches the HTTP app as no verb, which the callee refuses', async () => {
    const err = await sdk.fails({ op: 'invokeMethod', appId: 'orders', method: 'orders/1', verb: 'FETCH' });
    assert.equal(err.code, 'Internal');
    assert.equal(
      err.statusMessage,
      'failed to invoke, id: orders, err: rpc error: code = Internal desc = error invoking app channel: ' +
        'rpc error: code = InvalidArgument desc = invalid HTTP verb',
    );
  });

  it('the SDK refuses an empty verb itself, before any call', async () => {
    const err = await sdk.fails({ op: 'invokeMethod', appId: 'orders', method: 'orders/1', verb: '' });
    assert.equal(err.message, 'missing required parameter: verb');
  });
});
