import assert from 'node:assert/strict';
import { type AddressInfo, createServer } from 'node:net';
import { describe, it } from 'node:test';
import { INTERNAL_GRPC_PORT_START, parseFlags, stablePort } from '../../../sidecar/runtime/flags.js';
import type { Options } from '../../../sidecar/runtime/options.js';
import { stableOrFreePort } from '../../../sidecar/runtime/ports.js';
import { parseByteQuantity } from '../../../sidecar/runtime/quantity.js';

const machine = { cwd: '/work', uid: 1000, hostname: 'host-a' };

function ok(argv: string[], env: Record<string, string> = {}): Options {
  const r = parseFlags(argv, env, machine);
  assert.equal(r.kind, 'options', r.kind === 'errors' ? r.errors.join('\n') : r.kind);
  return (r as { options: Options }).options;
}

function errors(argv: string[], env: Record<string, string> = {}): readonly string[] {
  const r = parseFlags(argv, env, machine);
  assert.equal(r.kind, 'errors');
  return (r as { errors: readonly string[] }).errors;
}

describe('outriggerd flags', () => {
  it("applies daprd's defaults", () => {
    const o = ok(['--app-id', 'orders']);
    assert.equal(o.appId, 'orders');
    assert.equal(o.daprHttpPort, 3500);
    assert.equal(o.daprGrpcPort, 50001);
    assert.equal(o.metricsPort, 9090);
    assert.equal(o.enableMetrics, true);
    assert.equal(o.appPort, undefined);
    assert.equal(o.appProtocol, 'http');
    assert.equal(o.appChannelAddress, '127.0.0.1');
    assert.equal(o.appMaxConcurrency, -1);
    assert.equal(o.maxBodyBytes, 4 * 1024 * 1024);
    assert.equal(o.gracefulShutdownMs, 5000);
    assert.deepEqual(o.appHealth, {
      enabled: false,
      path: '/healthz',
      probeIntervalMs: 5000,
      probeTimeoutMs: 500,
      threshold: 3,
    });
    assert.equal(o.mode, 'standalone');
    assert.equal(o.logLevel, 'info');
    assert.equal(o.logAsJson, false);
    assert.equal(o.enableApiLogging, undefined);
    assert.equal(o.namespace, 'default');
    assert.deepEqual(o.listenAddresses, []);
    assert.equal(o.daprInternalGrpcListenAddress, undefined);
    assert.equal(o.allowedOrigins, '*');
    assert.equal(o.readBufferBytes, 4096);
    assert.deepEqual(o.resourcesPaths, []);
    assert.ok(Object.isFrozen(o) && Object.isFrozen(o.appHealth));
  });

  it('accepts --flag value, --flag=value and Go-style single dash', () => {
    const o = ok([
      '-app-id',
      'a',
      '--app-port=3000',
      '-dapr-http-port=3600',
      '--log-level',
      'debug',
      '-log-as-json',
      '--enable-metrics=false',
    ]);
    assert.equal(o.appId, 'a');
    assert.equal(o.appPort, 3000);
    assert.equal(o.daprHttpPort, 3600);
    assert.equal(o.logLevel, 'debug');
    assert.equal(o.logAsJson, true);
    assert.equal(o.enableMetrics, false);
  });

  it('repeats --resources-path, keeps the --components-path alias and splits commas', () => {
    const o = ok([
      '--app-id',
      'a',
      '--resources-path',
      './one',
      '--resources-path=./two,./three',
      '--components-path',
      './legacy',
    ]);
    assert.deepEqual(o.resourcesPaths, ['./one', './two', './three', './legacy']);
  });

  it('reads --max-body-size quantities and the legacy MB flag, new flag first', () => {
    assert.equal(ok(['--app-id', 'a', '--max-body-size', '16Mi']).maxBodyBytes, 16 * 2 ** 20);
    assert.equal(ok(['--app-id', 'a', '--max-body-size', '16MB']).maxBodyBytes, 16e6);
    assert.equal(ok(['--app-id', 'a', '--dapr-http-max-request-size', '8']).maxBodyBytes, 8 * 2 ** 20);
    assert.equal(
      ok(['--app-id', 'a', '--dapr-http-max-request-size', '8', '--max-body-size', '1Ki']).maxBodyBytes,
      1024,
    );
    assert.equal(parseByteQuantity('512'), 512);
    assert.equal(parseByteQuantity('1.5Ki'), 1536);
    assert.equal(parseByteQuantity('4 parsecs'), undefined);
  });

  it('reads the app health and shutdown flags in their units', () => {
    const o = ok([
      '--app-id',
      'a',
      '--app-port',
      '8080',
      '--enable-app-health-check',
      '--app-health-check-path',
      '/ready',
      '--app-health-probe-interval',
      '2',
      '--app-health-probe-timeout',
      '300',
      '--app-health-threshold',
      '1',
      '--dapr-graceful-shutdown-seconds',
      '10',
      '--app-max-concurrency',
      '4',
    ]);
    assert.deepEqual(o.appHealth, {
      enabled: true,
      path: '/ready',
      probeIntervalMs: 2000,
      probeTimeoutMs: 300,
      threshold: 1,
    });
    assert.equal(o.gracefulShutdownMs, 10_000);
    assert.equal(o.appMaxConcurrency, 4);
  });

  it('converts the legacy --app-ssl like daprd', () => {
    assert.equal(ok(['--app-id', 'a', '--app-ssl']).appProtocol, 'https');
    assert.equal(ok(['--app-id', 'a', '--app-ssl', '--app-protocol', 'grpc']).appProtocol, 'grpcs');
    assert.equal(ok(['--app-id', 'a', '--app-ssl=false']).appProtocol, 'http');
  });

  it('takes tokens and the namespace from the environment', () => {
    const o = ok(['--app-id', 'a'], { DAPR_API_TOKEN: 'tok', APP_API_TOKEN: 'app-tok', NAMESPACE: 'prod' });
    assert.equal(o.apiToken, 'tok');
    assert.equal(o.appApiToken, 'app-tok');
    assert.equal(o.namespace, 'prod');
    assert.equal(ok(['--app-id', 'a', '--namespace', 'x'], { NAMESPACE: 'prod' }).namespace, 'x');
    assert.equal(ok(['--app-id', 'a'], { DAPR_API_TOKEN: '' }).apiToken, undefined);
  });

  it('accepts recognised but unimplemented daprd flags and lists them', () => {
    const o = ok([
      '--app-id',
      'a',
      '--actors-service',
      'placement:localhost:50005',
      '--reminders-service',
      'scheduler',
    ]);
    assert.deepEqual([...o.unimplementedFlags].sort(), ['actors-service', 'reminders-service']);
  });

  it('reads --trust-anchors-file before DAPR_TRUST_ANCHORS_FILE, and --kubeconfig', () => {
    const env = { DAPR_TRUST_ANCHORS_FILE: '/env/ca.crt' };
    assert.equal(ok(['--app-id', 'a'], env).trustAnchorsFile, '/env/ca.crt');
    assert.equal(
      ok(['--app-id', 'a', '--trust-anchors-file', '/flag/ca.crt'], env).trustAnchorsFile,
      '/flag/ca.crt',
    );
    assert.equal(ok(['--app-id', 'a']).trustAnchorsFile, undefined);
    const o = ok(['--app-id', 'a', '--kubeconfig', '/tmp/kubeconfig']);
    assert.equal(o.kubeconfig, '/tmp/kubeconfig');
    assert.deepEqual([...o.unimplementedFlags], []);
    assert.equal(ok(['--app-id', 'a']).kubeconfig, undefined);
  });

  it('reads the profiling flags (daprd: off, port 7777)', () => {
    const defaults = ok(['--app-id', 'a']);
    assert.equal(defaults.enableProfiling, false);
    assert.equal(defaults.profilePort, 7777);
    const on = ok(['--app-id', 'a', '--enable-profiling', '--profile-port', '7878']);
    assert.equal(on.enableProfiling, true);
    assert.equal(on.profilePort, 7878);
    assert.deepEqual([...on.unimplementedFlags], []);
  });

  it('reads --read-buffer-size quantities and the legacy KB flag, new flag first (default 4Ki)', () => {
    assert.equal(ok(['--app-id', 'a']).readBufferBytes, 4096);
    assert.equal(ok(['--app-id', 'a', '--read-buffer-size', '64Ki']).readBufferBytes, 65536);
    assert.equal(ok(['--app-id', 'a', '--dapr-http-read-buffer-size', '16']).readBufferBytes, 16384);
    assert.equal(
      ok(['--app-id', 'a', '--dapr-http-read-buffer-size', '16', '--read-buffer-size', '8Ki'])
        .readBufferBytes,
      8192,
    );
    assert.match(errors(['--app-id', 'a', '--read-buffer-size', 'lots']).join('\n'), /--read-buffer-size/);
  });

  it('reads --unix-domain-socket as a folder (empty: TCP, as without it)', () => {
    assert.equal(ok(['--app-id', 'a', '--unix-domain-socket', '/tmp/dapr']).unixDomainSocket, '/tmp/dapr');
    assert.equal(ok(['--app-id', 'a', '--unix-domain-socket=']).unixDomainSocket, undefined);
    assert.equal(ok(['--app-id', 'a']).unixDomainSocket, undefined);
  });

  it('binds the internal API where --dapr-internal-grpc-listen-address says (empty: all interfaces)', () => {
    const o = ok(['--app-id', 'a', '--dapr-internal-grpc-listen-address', '127.0.0.1']);
    assert.equal(o.daprInternalGrpcListenAddress, '127.0.0.1');
    assert.ok(!o.unimplementedFlags.includes('dapr-internal-grpc-listen-address'));
    assert.equal(
      ok(['--app-id', 'a', '--dapr-internal-grpc-listen-address=']).daprInternalGrpcListenAddress,
      undefined,
    );
  });

  it('reads --dapr-block-shutdown-duration as a Go duration', () => {
    assert.equal(ok(['--app-id', 'a', '--dapr-block-shutdown-duration', '1m30s']).blockShutdownMs, 90_000);
    assert.equal(ok(['--app-id', 'a']).blockShutdownMs, undefined);
    assert.match(
      errors(['--app-id', 'a', '--dapr-block-shutdown-duration', 'soon']).join('\n'),
      /--dapr-block-shutdown-duration/,
    );
  });

  it('reports every problem at once', () => {
    const errs = errors([
      '--bogus',
      '--app-port',
      'abc',
      '--app-protocol',
      'ftp',
      '--dapr-http-port',
      '70000',
      '--log-level',
      'loud',
      '--max-body-size',
      'huge',
    ]);
    const text = errs.join('\n');
    for (const needle of [
      'unknown flag: --bogus',
      '--app-port',
      '--app-protocol',
      '--dapr-http-port',
      '--log-level',
      '--max-body-size',
      '--app-id is required',
    ]) {
      assert.ok(text.includes(needle), `missing "${needle}" in:\n${text}`);
    }
    assert.equal(errs.length, 7);
  });

  it('rejects a flag without its value and stray arguments', () => {
    assert.match(errors(['--app-id', 'a', '--app-port']).join('\n'), /flag needs an argument: --app-port/);
    assert.match(errors(['--app-id', 'a', 'extra']).join('\n'), /unexpected argument "extra"/);
    assert.match(errors(['--app-id', 'a.b']).join('\n'), /cannot contain dots/);
  });

  it('answers --help and --version without requiring an app id', () => {
    const help = parseFlags(['--help'], {}, machine);
    assert.equal(help.kind, 'help');
    assert.match((help as { text: string }).text, /--dapr-http-port/);
    assert.equal(parseFlags(['-version'], {}, machine).kind, 'version');
  });

  it("derives daprd's stable internal gRPC port from the app id", () => {
    const port = ok(['--app-id', 'orders']).daprInternalGrpcPort;
    assert.ok(port >= INTERNAL_GRPC_PORT_START && port <= INTERNAL_GRPC_PORT_START + 2047, String(port));
    assert.equal(port, stablePort(INTERNAL_GRPC_PORT_START, 'orders', machine));
    assert.equal(ok(['--app-id', 'orders']).daprInternalGrpcPort, port);
    assert.notEqual(ok(['--app-id', 'payments']).daprInternalGrpcPort, port);
    assert.equal(
      ok(['--app-id', 'orders', '--dapr-internal-grpc-port', '50002']).daprInternalGrpcPort,
      50002,
    );
  });
});

describe('stable internal gRPC port fallback', () => {
  it('keeps a free stable port and moves off a taken one', async () => {
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, resolve));
    const taken = (holder.address() as AddressInfo).port;
    try {
      const moved = await stableOrFreePort(taken);
      assert.notEqual(moved, taken);
      assert.equal(await stableOrFreePort(moved), moved);
    } finally {
      await new Promise<void>((resolve) => holder.close(() => resolve()));
    }
    assert.equal(ok(['--app-id', 'x']).daprInternalGrpcPortIsStable, true);
    assert.equal(
      ok(['--app-id', 'x', '--dapr-internal-grpc-port', '50002']).daprInternalGrpcPortIsStable,
      false,
    );
  });
});
