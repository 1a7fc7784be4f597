import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  expandEnv,
  KUBERNETES_CONFIG_SOURCE,
  readConfiguration,
} from '../../../sidecar/runtime/resource-reader.js';
import type { ComponentResource } from '../../../sidecar/spec/component.js';
import type { ConfigurationResource } from '../../../sidecar/spec/configuration.js';
import type { HttpEndpointResource } from '../../../sidecar/spec/http-endpoint.js';
import { ResourceError } from '../../../sidecar/spec/problems.js';
import { parseResourceFile } from '../../../sidecar/spec/resources.js';
import type { SubscriptionResource } from '../../../sidecar/spec/subscription.js';

describe('resource specs', () => {
  it('reads a Configuration with secrets scopes, features, access control, api lists, tracing and metrics', () => {
    const { resources, problems } = parseResourceFile(
      'config.yaml',
      `
apiVersion: dapr.io/v1alpha1
kind: Configuration
metadata:
  name: appconfig
spec:
  secrets:
    scopes:
      - storeName: local
        defaultAccess: deny
        allowedSecrets: [db-password]
  features:
    - name: ActorStateTTL
      enabled: true
    - name: HotReload
      enabled: false
  accessControl:
    defaultAction: deny
    trustDomain: public
    policies:
      - appId: checkout
        defaultAction: allow
        namespace: default
        operations:
          - name: /orders/*
            httpVerb: [POST]
            action: deny
  api:
    allowed:
      - name: state
        version: v1.0
        protocol: http
  tracing:
    samplingRate: "1"
    otel:
      endpointAddress: localhost:4318
      protocol: http
      isSecure: false
  metrics:
    enabled: true
    latencyDistributionBuckets: [5, 50, 500]
  logging:
    apiLogging:
      enabled: true
`,
    );
    assert.deepEqual(problems, []);
    const c = resources[0] as ConfigurationResource;
    assert.equal(c.kind, 'Configuration');
    assert.deepEqual(c.secretScopes, [
      { storeName: 'local', defaultAccess: 'deny', allowedSecrets: ['db-password'], deniedSecrets: [] },
    ]);
    assert.deepEqual(c.enabledFeatures, ['ActorStateTTL']);
    assert.equal(c.accessControl?.defaultAction, 'deny');
    assert.deepEqual(c.accessControl?.policies[0]?.operations[0], {
      name: '/orders/*',
      httpVerb: ['POST'],
      action: 'deny',
    });
    assert.deepEqual(c.apiAllowed, [{ name: 'state', version: 'v1.0', protocol: 'http' }]);
    assert.equal(c.tracing?.samplingRate, 1);
    assert.deepEqual(c.tracing?.otel, {
      endpointAddress: 'localhost:4318',
      protocol: 'http',
      isSecure: false,
    });
    assert.deepEqual(c.metric.latencyDistributionBuckets, [5, 50, 500]);
    assert.equal(c.apiLoggingEnabled, true);
  });

  it('normalises Subscription v1alpha1 and v2alpha1 to one shape', () => {
    const { resources, problems } = parseResourceFile(
      'subs.yaml',
      `
apiVersion: dapr.io/v2alpha1
kind: Subscription
metadata:
  name: orders-v2
spec:
  pubsubname: pubsub
  topic: orders
  routes:
    rules:
      - match: event.type == "widget"
        path: /widgets
    default: /orders
  deadLetterTopic: poison
scopes: [app1]
---
apiVersion: dapr.io/v1alpha1
kind: Subscription
metadata:
  name: orders-v1
spec:
  pubsubname: pubsub
  topic: orders
  route: /orders
  metadata:
    rawPayload: true
`,
    );
    assert.deepEqual(problems, []);
    const [v2, v1] = resources as SubscriptionResource[];
    assert.deepEqual(v2?.routes, {
      rules: [{ match: 'event.type == "widget"', path: '/widgets' }],
      default: '/orders',
    });
    assert.equal(v2?.deadLetterTopic, 'poison');
    assert.deepEqual(v2?.scopes, ['app1']);
    assert.deepEqual(v1?.routes, { rules: [], default: '/orders' });
    assert.deepEqual(v1?.metadata, { rawPayload: 'true' });
  });

  it('reads an HTTPEndpoint and checks its base URL', () => {
    const ok = parseResourceFile(
      'ep.yaml',
      `
apiVersion: dapr.io/v1alpha1
kind: HTTPEndpoint
metadata:
  name: github
spec:
  baseUrl: https://api.github.com
  headers:
    - name: Authorization
      secretKeyRef:
        name: gh-token
        key: token
auth:
  secretStore: local
`,
    );
    assert.deepEqual(ok.problems, []);
    const ep = ok.resources[0] as HttpEndpointResource;
    assert.deepEqual(ep.headers, [
      { name: 'Authorization', secretKeyRef: { name: 'gh-token', key: 'token' } },
    ]);
    const bad = parseResourceFile(
      'ep.yaml',
      'apiVersion: dapr.io/v1alpha1\nkind: HTTPEndpoint\nmetadata:\n  name: x\nspec:\n  baseUrl: ftp://x\n',
    );
    assert.deepEqual(
      bad.problems.map((p) => [p.resource, p.field]),
      [['HTTPEndpoint/x', 'spec.baseUrl']],
    );
  });

  it('reads an HTTPEndpoint clientTLS and checks its renegotiation value', () => {
    const doc = (reneg: string) => `
apiVersion: dapr.io/v1alpha1
kind: HTTPEndpoint
metadata:
  name: tls
spec:
  baseUrl: https://example.com
  clientTLS:
    rootCA:
      value: PEM
    certificate:
      secretKeyRef: { name: c, key: crt }
    privateKey: { secretKeyRef: { name: c, key: key } }
    renegotiation: ${reneg}
auth:
  secretStore: local
`;
    const ok = parseResourceFile('ep.yaml', doc('OnceAsClient'));
    assert.deepEqual(ok.problems, []);
    assert.deepEqual((ok.resources[0] as HttpEndpointResource).clientTLS, {
      rootCA: { value: 'PEM' },
      certificate: { secretKeyRef: { name: 'c', key: 'crt' } },
      privateKey: { secretKeyRef: { name: 'c', key: 'key' } },
      renegotiation: 'OnceAsClient',
    });
    const bad = parseResourceFile('ep.yaml', doc('Sometimes'));
    assert.deepEqual(
      bad.problems.map((p) => [p.resource, p.field, p.rule]),
      [
        [
          'HTTPEndpoint/tls',
          'spec.clientTLS.renegotiation',
          'must be one of Never, OnceAsClient, FreelyAsClient',
        ],
      ],
    );
  });

  it('skips non-Dapr documents and flags wrong API versions and missing names', () => {
    const { resources, problems } = parseResourceFile(
      'mixed.yaml',
      `
apiVersion: v1
kind: ConfigMap
metadata:
  name: unrelated
---
apiVersion: dapr.io/v2alpha1
kind: Component
metadata:
  name: c
spec:
  type: state.in-memory
  version: v1
---
apiVersion: dapr.io/v1alpha1
kind: Component
spec:
  type: state.in-memory
`,
    );
    assert.equal(resources.length, 0);
    assert.deepEqual(
      problems.map((p) => [p.resource, p.field]),
      [
        ['Component/c', 'apiVersion'],
        ['Component (document 3)', 'metadata.name'],
      ],
    );
  });

  it('stringifies non-string metadata values and reads initTimeout and ignoreErrors', () => {
    const { resources } = parseResourceFile(
      'c.yaml',
      `
apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: c
spec:
  type: state.redis
  version: v1
  initTimeout: 1m
  ignoreErrors: true
  metadata:
    - name: redisDB
      value: 3
    - name: enableTLS
      value: false
    - name: password
      envRef: REDIS_PASSWORD
`,
    );
    const c = resources[0] as ComponentResource;
    assert.equal(c.initTimeoutMs, 60_000);
    assert.equal(c.ignoreErrors, true);
    assert.deepEqual(c.metadata, [
      { name: 'redisDB', value: '3' },
      { name: 'enableTLS', value: 'false' },
      { name: 'password', envRef: 'REDIS_PASSWORD' },
    ]);
  });
});

describe('--config', () => {
  it('in Kubernetes mode a resource name falls back to defaults; in standalone mode a missing file fails', async () => {
    const k8s = await readConfiguration(['appconfig'], 'kubernetes');
    assert.equal(k8s.name, 'appconfig');
    assert.equal(k8s.source, KUBERNETES_CONFIG_SOURCE);
    assert.equal(k8s.metric.enabled, true);
    await assert.rejects(readConfiguration(['appconfig'], 'standalone'), (err: unknown) => {
      assert.ok(err instanceof ResourceError);
      assert.equal(err.problems[0]?.file, 'appconfig');
      return true;
    });
    assert.equal((await readConfiguration([])).name, 'default');
  });

  it("expands environment variables as Go's os.ExpandEnv does before parsing", () => {
    const env = { HOST: 'zipkin', PORT: '9411', EMPTY: '' };
    // biome-ignore lint/suspicious/noTemplateCurlyInString: shell-style ${NAME} is what is tested
    assert.equal(expandEnv('http://${HOST}:$PORT/api', env), 'http://zipkin:9411/api');
    // biome-ignore lint/suspicious/noTemplateCurlyInString: shell-style ${NAME} is what is tested
    assert.equal(expandEnv('$UNSET-${UNSET}|$EMPTY', env), '-|');
    assert.equal(expandEnv('^/v1.0/.*$', env), '^/v1.0/.*$', 'a trailing $ stays');
    assert.equal(expandEnv('cost: $"5" and $/x', env), 'cost: $"5" and $/x', 'a $ before a non-name stays');
    // biome-ignore lint/suspicious/noTemplateCurlyInString: shell-style ${NAME} is what is tested
    assert.equal(expandEnv('a${}b${c', env), 'abc', 'malformed braces are dropped');
    assert.equal(expandEnv('$1x $$', env), 'x ', 'one-character shell names');
  });

  it('applies several files in order, as daprd decodes them onto one Configuration', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'outrigger-configs-'));
    try {
      const base = join(dir, 'base.yaml');
      const override = join(dir, 'override.yaml');
      await writeFile(
        base,
        `apiVersion: dapr.io/v1alpha1
kind: Configuration
metadata:
  name: base
spec:
  tracing:
    samplingRate: "1"
    zipkin:
      endpointAddress: http://zipkin:9411/api/v2/spans
  features:
  - name: A
    enabled: true
  secrets:
    scopes:
    - storeName: vault
      defaultAccess: deny
`,
      );
      await writeFile(
        override,
        `apiVersion: dapr.io/v1alpha1
kind: Configuration
metadata:
  name: override
spec:
  tracing:
    samplingRate: "0.5"
  features:
  - name: B
    enabled: true
  accessControl:
    defaultAction: deny
`,
      );
      const c = await readConfiguration([base, override]);
      assert.equal(c.name, 'override');
      assert.equal(c.tracing?.samplingRate, 0.5, 'a later scalar wins');
      assert.equal(c.tracing?.zipkinEndpoint, 'http://zipkin:9411/api/v2/spans', 'mappings merge');
      assert.deepEqual(c.enabledFeatures, ['B'], 'a later list replaces the earlier one');
      assert.equal(c.secretScopes[0]?.storeName, 'vault');
      assert.equal(c.accessControl?.defaultAction, 'deny');
      assert.equal(c.source, `${base}, ${override}`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
