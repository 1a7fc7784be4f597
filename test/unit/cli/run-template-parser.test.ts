import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { parseRunTemplate, type TemplateApp } from '../../../sidecar/cli/run-template-parser.js';
import { TemplateError } from '../../../sidecar/cli/run-template-path.js';

const root = mkdtempSync(join(tmpdir(), 'run-template-'));
after(() => rmSync(root, { recursive: true, force: true }));

let n = 0;
/** A fresh folder with `files` (path → content; a path ending in / is a folder). */
function tree(files: Record<string, string>): string {
  const dir = join(root, `t${n++}`);
  mkdirSync(dir);
  for (const [path, content] of Object.entries(files)) {
    if (path.endsWith('/')) mkdirSync(join(dir, path), { recursive: true });
    else {
      mkdirSync(join(dir, path, '..'), { recursive: true });
      writeFileSync(join(dir, path), content);
    }
  }
  return dir;
}

function parse(dir: string, yaml: string) {
  return parseRunTemplate(yaml, join(dir, 'dapr.yaml'));
}

function problems(dir: string, yaml: string): string[] {
  try {
    parse(dir, yaml);
  } catch (err) {
    assert.ok(err instanceof TemplateError, String(err));
    return [...err.problems];
  }
  assert.fail('expected a TemplateError');
}

function app(apps: readonly TemplateApp[], id: string): TemplateApp {
  const found = apps.find((a) => a.appId === id);
  assert.ok(found, `app ${id}`);
  return found;
}

describe('run template parsing (dapr.yaml)', () => {
  test('the service-invocation quickstart template: ids, dirs, commands, ports and dapr CLI defaults', () => {
    const dir = tree({ 'order-processor/': '', 'checkout/': '' });
    const t = parse(
      dir,
      `version: 1
apps:
  - appDirPath: ./order-processor/
    appID: order-processor
    appPort: 6001
    command: ["node", "index.js"]
  - appID: checkout
    appDirPath: ./checkout/
    command: ["node", "index.js"]
`,
    );
    assert.equal(t.path, join(dir, 'dapr.yaml'));
    assert.deepEqual(
      t.apps.map((a) => [a.appId, a.appDirPath, a.command, a.appPort]),
      [
        ['order-processor', join(dir, 'order-processor'), ['node', 'index.js'], 6001],
        ['checkout', join(dir, 'checkout'), ['node', 'index.js'], undefined],
      ],
    );
    const checkout = app(t.apps, 'checkout');
    // dapr's DefaultAppLogDest / DefaultDaprdLogDest.
    assert.equal(checkout.appLogDestination, 'fileAndConsole');
    assert.equal(checkout.daprdLogDestination, 'file');
    assert.deepEqual(checkout.resourcesPaths, [], 'no resources: the CLI defaults apply');
    assert.equal(checkout.configFile, undefined);
    assert.deepEqual(checkout.env, {});
    assert.deepEqual(checkout.daprdArgs, []);
    assert.ok(Object.isFrozen(t) && Object.isFrozen(checkout));
  });

  test('a missing appID is the base name of appDirPath', () => {
    const dir = tree({ 'services/webapp/': '' });
    const t = parse(dir, 'version: 1\napps:\n  - appDirPath: services/webapp\n');
    assert.equal(t.apps[0]?.appId, 'webapp');
  });

  test('resources and config precedence: app paths > <appDirPath>/.dapr > common > defaults', () => {
    const dir = tree({
      'shared/resources/': '',
      'shared/config.yaml': 'kind: Configuration',
      'own/resources/': '',
      'own/config.yaml': '',
      'own/.dapr/resources/': '',
      'local/.dapr/resources/': '',
      'local/.dapr/config.yaml': '',
      'plain/': '',
    });
    const t = parse(
      dir,
      `version: 1
common:
  resourcesPath: ./shared/resources
  configFilePath: ./shared/config.yaml
apps:
  - appDirPath: own
    resourcesPath: resources
    configFilePath: config.yaml
  - appDirPath: local
  - appDirPath: plain
`,
    );
    assert.deepEqual(app(t.apps, 'own').resourcesPaths, [join(dir, 'own/resources')]);
    assert.equal(app(t.apps, 'own').configFile, join(dir, 'own/config.yaml'));
    assert.deepEqual(app(t.apps, 'local').resourcesPaths, [join(dir, 'local/.dapr/resources')]);
    assert.equal(app(t.apps, 'local').configFile, join(dir, 'local/.dapr/config.yaml'));
    assert.deepEqual(app(t.apps, 'plain').resourcesPaths, [join(dir, 'shared/resources')]);
    assert.equal(app(t.apps, 'plain').configFile, join(dir, 'shared/config.yaml'));
    const noCommon = parse(dir, 'version: 1\napps:\n  - appDirPath: plain\n');
    assert.deepEqual(noCommon.apps[0]?.resourcesPaths, []);
  });

  test('resourcesPaths and resourcesPath are merged, lists first, as dapr merges them', () => {
    const dir = tree({ 'a/one/': '', 'a/two/': '', 'a/three/': '' });
    const t = parse(
      dir,
      'version: 1\napps:\n  - appDirPath: a\n    resourcesPaths: [one, two]\n    resourcesPath: three\n',
    );
    assert.deepEqual(
      t.apps[0]?.resourcesPaths,
      ['one', 'two', 'three'].map((p) => join(dir, 'a', p)),
    );
  });

  test("common's shared settings apply where the app leaves them unset (a zero value counts as unset)", () => {
    const dir = tree({ 'a/': '', 'b/': '' });
    const t = parse(
      dir,
      `version: 1
common:
  logLevel: debug
  appProtocol: GRPC
  enableApiLogging: true
  appLogDestination: console
apps:
  - appDirPath: a
    logLevel: warn
    enableApiLogging: false
  - appDirPath: b
    appProtocol: http
    daprdLogDestination: fileAndConsole
`,
    );
    const a = app(t.apps, 'a');
    assert.equal(a.logLevel, 'warn');
    assert.equal(a.appProtocol, 'grpc', 'protocols are matched case-insensitively');
    assert.equal(a.enableApiLogging, true, 'false is the zero value: common wins, as in dapr');
    assert.equal(a.appLogDestination, 'console');
    const b = app(t.apps, 'b');
    assert.equal(b.logLevel, 'debug');
    assert.equal(b.appProtocol, 'http');
    assert.equal(b.daprdLogDestination, 'fileAndConsole');
  });

  test('the deprecated appSSL is passed to daprd and turns http / grpc into https / grpcs for the app', () => {
    const dir = tree({ 'a/': '', 'b/': '' });
    const t = parse(
      dir,
      'version: 1\ncommon:\n  appSSL: true\napps:\n  - appDirPath: a\n  - appDirPath: b\n    appProtocol: grpc\n',
    );
    assert.equal(app(t.apps, 'a').appProtocol, 'https');
    assert.equal(app(t.apps, 'b').appProtocol, 'grpcs');
    assert.deepEqual(app(t.apps, 'a').daprdArgs, ['--app-ssl']);
  });

  test('env: the app wins over common.envFile, which wins over common.env; scalars become strings', () => {
    const dir = tree({ 'a/': '', 'b/': '', '.env': '# comment\nexport FROM_FILE="x y"\nSHARED=file\n' });
    const t = parse(
      dir,
      `version: 1
common:
  envFile: .env
  env:
    DEBUG: true
    SHARED: common
    ONLY_COMMON: 1
apps:
  - appDirPath: a
    env:
      DEBUG: false
  - appDirPath: b
`,
    );
    assert.deepEqual(app(t.apps, 'a').env, {
      DEBUG: 'false',
      SHARED: 'file',
      ONLY_COMMON: '1',
      FROM_FILE: 'x y',
    });
    assert.deepEqual(app(t.apps, 'b').env, {
      DEBUG: 'true',
      SHARED: 'file',
      ONLY_COMMON: '1',
      FROM_FILE: 'x y',
    });
  });

  test('daprd settings become daprd flags (zero health-probe values are left out, as dapr ifneq:"0")', () => {
    const dir = tree({ 'a/': '' });
    const t = parse(
      dir,
      `version: 1
common:
  maxBodySize: 16Mi
apps:
  - appDirPath: a
    appPort: 7000
    enableAppHealthCheck: true
    appHealthCheckPath: /health
    appHealthProbeInterval: 2
    appHealthProbeTimeout: 0
    appHealthThreshold: 4
    appMaxConcurrency: 3
    appChannelAddress: localhost
    placementHostAddress: ""
    daprHTTPMaxRequestSize: 8
    apiListenAddresses: 127.0.0.1
    daprHTTPPort: 3600
    metricsPort: 9999
`,
    );
    const a = app(t.apps, 'a');
    assert.deepEqual(a.daprdArgs, [
      '--enable-app-health-check',
      '--app-health-check-path',
      '/health',
      '--app-health-probe-interval',
      '2',
      '--app-health-threshold',
      '4',
      '--app-max-concurrency',
      '3',
      '--app-channel-address',
      'localhost',
      '--dapr-http-max-request-size',
      '8',
      '--dapr-listen-addresses',
      '127.0.0.1',
      '--max-body-size',
      '16Mi',
    ]);
    assert.equal(a.appChannelAddress, 'localhost');
    assert.equal(a.httpPort, 3600);
    assert.equal(a.metricsPort, 9999);
    assert.equal(a.grpcPort, undefined, 'unset ports are picked free by the runner');
  });
});

describe('run template errors name the app and the field', () => {
  const dir = tree({ 'a/': '', 'a/file.txt': '' });

  test('version is required and must be 1', () => {
    assert.match(
      problems(dir, 'apps:\n  - appDirPath: a\n').join('\n'),
      /required field "version" not found/,
    );
    assert.match(
      problems(dir, 'version: 2\napps:\n  - appDirPath: a\n').join('\n'),
      /"version" must be 1, got 2/,
    );
  });

  test('appDirPath is required, must exist and must be a folder', () => {
    assert.deepEqual(problems(dir, 'version: 1\napps:\n  - appID: x\n'), [
      `${join(dir, 'dapr.yaml')}: apps[0] (appID "x"): required field "appDirPath" not found`,
    ]);
    assert.match(
      problems(dir, 'version: 1\napps:\n  - appDirPath: nowhere\n')[0] ?? '',
      /apps\[0\]: field "appDirPath": "nowhere" does not exist \(resolved to .*nowhere\)/,
    );
    assert.match(
      problems(dir, 'version: 1\napps:\n  - appDirPath: a/file.txt\n')[0] ?? '',
      /is not a directory/,
    );
  });

  test('bad values and misplaced fields, all reported at once', () => {
    const found = problems(
      dir,
      `version: 1
common:
  appPort: 3000
  appLogDestination: somewhere
apps:
  - appID: web
    appDirPath: a
    appPort: "abc"
    daprGRPCPort: 70000
    appId: typo
    appProtocol: soap
    command: node app.js
    env:
      - DEBUG: true
    enableApiLogging: "yes"
    resourcesPath: missing
`,
    ).map((p) => p.slice(join(dir, 'dapr.yaml').length + 2));
    assert.deepEqual(found, [
      'common: field "appPort" belongs to each app, not to common',
      'common: field "appLogDestination" must be one of console, file, fileAndConsole, got "somewhere"',
      'apps[0] (appID "web"): field "appPort" must be a port number between 1 and 65535, got "abc"',
      'apps[0] (appID "web"): field "daprGRPCPort" must be a port number between 1 and 65535, got 70000',
      'apps[0] (appID "web"): field "appProtocol" must be one of http, https, grpc, grpcs, h2c, got "soap"',
      'apps[0] (appID "web"): field "command" must be a list of strings, got "node app.js"',
      'apps[0] (appID "web"): field "env" must be a map of NAME: value, got [{"DEBUG":true}]',
      'apps[0] (appID "web"): field "enableApiLogging" must be true or false, got "yes"',
      `apps[0] (appID "web"): field "resourcesPath": "missing" does not exist (resolved to ${join(dir, 'a', 'missing')})`,
    ]);
  });

  test('unknown and Kubernetes-only fields are ignored with a warning, as the dapr CLI ignores them', () => {
    const template = parse(
      dir,
      `version: 1
kind: Template
common:
  runtimePath: /opt/dapr
apps:
  - appDirPath: a
    appId: typo
    containerImage: ghcr.io/me/app:1
    createService: true
`,
    );
    assert.equal(template.apps[0]?.appId, 'a', 'the misspelt appId is not read');
    assert.deepEqual(
      template.warnings.map((w) => w.slice(join(dir, 'dapr.yaml').length + 2)),
      [
        'unknown top-level field "kind" ignored (expected version, name, common, apps)',
        'common: field "runtimePath" ignored: outriggerd ships with the outrigger CLI; there is no separate runtime install to point at',
        'apps[0]: unknown field "appId" ignored (did you mean "appID"?)',
        'apps[0]: field "containerImage" ignored: it is only read by "dapr run -f -k" (Kubernetes)',
        'apps[0]: field "createService" ignored: it is only read by "dapr run -f -k" (Kubernetes)',
      ],
    );
  });

  test('a field outrigger cannot honour is an error', () => {
    assert.match(
      problems(dir, 'version: 1\napps:\n  - appDirPath: a\n    unixDomainSocket: /tmp/sock\n').join('\n'),
      /apps\[0\]: field "unixDomainSocket" is not supported: .*on TCP ports only/,
    );
  });

  test('duplicate app ids, invalid app ids, no apps, bad YAML', () => {
    assert.match(
      problems(dir, 'version: 1\napps:\n  - appDirPath: a\n  - appDirPath: ./a/\n')[0] ?? '',
      /apps\[1\]: app id "a" is also used by apps\[0\]/,
    );
    assert.match(
      problems(dir, 'version: 1\napps:\n  - appDirPath: a\n    appID: my.app\n')[0] ?? '',
      /app id "my.app" is invalid/,
    );
    assert.match(problems(dir, 'version: 1\napps: []\n')[0] ?? '', /field "apps" must list at least one app/);
    assert.match(problems(dir, 'version: 1\napps: [\n')[0] ?? '', /not valid YAML/);
  });
});
