import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  ensureGoSdkProbe,
  errorInfoOf,
  type GoSdkClient,
  goSdkClient,
  startGoSdkApp,
} from '../../env/go-sdk-probe.js';
import { freePort, type ManagedProcess, makeTempDir, removeTempDir } from '../../env/process.js';
import type { Sidecar } from '../harness.js';
import { startAppSidecar } from '../invoke/invoke-fixture.js';

/**
 * Callee apps written with the official Dapr Go SDK's services (github.com/dapr/go-sdk
 * `service/grpc` behind `--app-protocol grpc`, and `service/http`), unchanged, each with
 * `AddServiceInvocationHandler` handlers `echo`, `reply` and `fail`, invoked through two sidecars
 * by the SDK's client. The apps run with APP_API_TOKEN, which the SDK's services check on every
 * call, and their sidecars send it. Expected errors are daprd v1.16's: a gRPC app's status passes
 * through as it is; an HTTP app's error status becomes invokev1.ErrorFromHTTPResponseCode.
 */

const APP_TOKEN = 'go-app-token';

let home = '';
const apps: ManagedProcess[] = [];
const sidecars: Sidecar[] = [];
let sdk: GoSdkClient;

/** What the probe's `echo` handler saw, as it answers it. */
interface HandlerSaw {
  data: string;
  contentType: string;
  typeUrl: string;
  verb: string;
  query: string;
  callerAppId: string;
  traceparent: string;
}

before(async () => {
  const probe = await ensureGoSdkProbe((line) => process.stderr.write(`${line}\n`));
  home = await makeTempDir('go-sdk-apps');
  for (const kind of ['grpc', 'http'] as const) {
    const port = await freePort();
    apps.push(await startGoSdkApp(probe, kind, port, join(home, `${kind}-app.log`), APP_TOKEN));
    sidecars.push(
      await startAppSidecar(home, {
        appId: `go${kind}`,
        appPort: port,
        env: { APP_API_TOKEN: APP_TOKEN },
        ...(kind === 'grpc' ? { args: ['--app-protocol', 'grpc'] } : {}),
      }),
    );
  }
  const caller = await startAppSidecar(home, { appId: 'gocaller' });
  sidecars.push(caller);
  sdk = goSdkClient(probe, { grpcPort: caller.grpcPort, httpPort: caller.httpPort });
});

after(async () => {
  for (const s of sidecars) await s.stop();
  for (const a of apps) await a.stop();
  await removeTempDir(home);
});

for (const kind of ['grpc', 'http'] as const) {
  const appId = `go${kind}`;
  describe(`a Go SDK ${kind} service app called by the Go SDK client through two sidecars`, () => {
    it('hands the handler the data, content type, verb, query and caller app id', async () => {
      const { traceparent, ...saw } = JSON.parse(
        await sdk.ok<string>({
          op: 'invokeMethodWithContent',
          appId,
          method: 'echo?region=eu&n=2',
          verb: 'PUT',
          contentType: 'text/plain',
          data: 'order 42',
        }),
      ) as HandlerSaw;
      assert.deepEqual(saw, {
        data: 'order 42',
        contentType: 'text/plain',
        typeUrl: '',
        verb: 'PUT',
        query: 'region=eu&n=2',
        callerAppId: 'gocaller',
      });
      assert.match(traceparent, /^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/);
    });

    it("continues the trace the SDK's WithTraceID started", async () => {
      const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
      const saw = JSON.parse(
        await sdk.ok<string>({
          op: 'invokeMethod',
          appId,
          method: 'echo',
          verb: 'GET',
          traceId: `00-${traceId}-00f067aa0ba902b7-01`,
        }),
      ) as HandlerSaw;
      assert.equal(saw.traceparent.split('-')[1], traceId);
    });

    it('hands over a JSON value with its content type (InvokeMethodWithCustomContent)', async () => {
      const saw = JSON.parse(
        await sdk.ok<string>({
          op: 'invokeMethodWithCustomContent',
          appId,
          method: 'echo',
          verb: 'post',
          contentType: 'application/json',
          content: { sku: 'A-1', qty: 3 },
        }),
      ) as HandlerSaw;
      assert.deepEqual(JSON.parse(saw.data), { sku: 'A-1', qty: 3 });
      assert.equal(saw.contentType, 'application/json');
      assert.equal(saw.verb, 'POST');
    });

    it("returns the handler's data and content type", async () => {
      const answer = await sdk.ok<{ contentType: string; data: string }>({
        op: 'invokeService',
        appId,
        method: 'reply',
        verb: 'POST',
        contentType: 'text/plain',
        data: 'ping',
      });
      assert.equal(answer.data, 'reply to ping');
      assert.equal(answer.contentType, 'text/x-probe');
      assert.equal(await sdk.ok({ op: 'invokeMethod', appId, method: 'reply', verb: 'GET' }), 'reply to ');
    });
  });
}

describe('handler errors as the Go SDK client sees them', () => {
  it("a gRPC service handler's error comes back as its status: Unknown with its message", async () => {
    const err = await sdk.fails({
      op: 'invokeMethodWithContent',
      appId: 'gogrpc',
      method: 'fail',
      verb: 'POST',
      contentType: 'text/plain',
      data: 'bad order',
    });
    assert.equal(err.code, 'Unknown');
    assert.equal(err.statusMessage, 'probe handler failed on "bad order"');
    assert.equal(err.message, 'rpc error: code = Unknown desc = probe handler failed on "bad order"');
    assert.deepEqual(err.details, []);
  });

  it('a method the gRPC service does not have is its own "method not implemented" error', async () => {
    const err = await sdk.fails({ op: 'invokeMethod', appId: 'gogrpc', method: 'nosuch', verb: 'GET' });
    assert.equal(err.code, 'Unknown');
    assert.equal(err.statusMessage, 'method not implemented: nosuch');
  });

  it("an HTTP service handler's error (500) comes back as Unknown with daprd's ErrorInfo", async () => {
    const err = await sdk.fails({
      op: 'invokeMethodWithContent',
      appId: 'gohttp',
      method: 'fail',
      verb: 'POST',
      contentType: 'text/plain',
      data: 'bad order',
    });
    assert.equal(err.code, 'Unknown');
    assert.equal(err.statusMessage, 'Internal Server Error');
    assert.deepEqual(errorInfoOf(err), {
      reason: 'Internal Server Error',
      domain: 'dapr.io',
      // service/http writes http.Error(w, err.Error(), 500): the text and a newline.
      metadata: { 'http.code': '500', 'http.error_message': 'probe handler failed on "bad order"\n' },
    });
  });

  it("cuts the HTTP app's error body to daprd's 63 bytes in the ErrorInfo", async () => {
    const err = await sdk.fails({
      op: 'invokeMethodWithContent',
      appId: 'gohttp',
      method: 'fail',
      verb: 'POST',
      contentType: 'text/plain',
      data: 'x'.repeat(100),
    });
    const text = `probe handler failed on "${'x'.repeat(100)}"\n`;
    assert.equal(errorInfoOf(err)?.metadata?.['http.error_message'], text.slice(0, 63));
  });

  it('a method given with a leading slash reaches the HTTP route; a gRPC app gets it as it was sent', async () => {
    const saw = JSON.parse(
      await sdk.ok<string>({ op: 'invokeMethod', appId: 'gohttp', method: '/echo?x=1', verb: 'GET' }),
    ) as HandlerSaw;
    assert.equal(saw.query, 'x=1');
    // daprd passes the method to a gRPC app unchanged; the SDK's service has no "/echo" handler.
    const err = await sdk.fails({ op: 'invokeMethod', appId: 'gogrpc', method: '/echo', verb: 'GET' });
    assert.equal(err.statusMessage, 'method not implemented: /echo');
  });

  it('a route the HTTP service does not have is NotFound with its 404 body', async () => {
    const err = await sdk.fails({ op: 'invokeMethod', appId: 'gohttp', method: 'nosuch', verb: 'GET' });
    assert.equal(err.code, 'NotFound');
    assert.equal(err.statusMessage, 'Not Found');
    assert.deepEqual(errorInfoOf(err)?.metadata, {
      'http.code': '404',
      'http.error_message': '404 page not found\n',
    });
  });
});
