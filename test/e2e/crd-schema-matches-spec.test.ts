/**
 * Holds crds/ and the resource parsers in sidecar/spec to each other: realistic Dapr YAML is
 * accepted by the CRD schemas on a real kube-apiserver with no field pruned, and by our parser;
 * deliberately broken YAML is rejected by both.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse } from 'yaml';
import { parseResourceFile } from '../../sidecar/spec/resources.js';
import { type ControlPlane, startControlPlane } from '../env/control-plane.js';
import { repoRoot } from './support/repo-root.js';

const NAMESPACE = 'shop';

/** A realistic example resource, as a user would `kubectl apply` it. */
interface Example {
  readonly title: string;
  readonly yaml: string;
}

const VALID: readonly Example[] = [
  {
    title: 'Component: redis state store with secretKeyRef, auth and scopes',
    yaml: `
apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: statestore
spec:
  type: state.redis
  version: v1
  initTimeout: 10s
  ignoreErrors: false
  metadata:
  - name: redisHost
    value: redis-master.shop.svc.cluster.local:6379
  - name: redisPassword
    secretKeyRef:
      name: redis
      key: redis-password
  - name: enableTLS
    value: false
  - name: actorStateStore
    value: "true"
  - name: keyPrefix
    envRef: STATE_KEY_PREFIX
auth:
  secretStore: kubernetes
scopes:
- orders
- checkout
`,
  },
  {
    title: 'Configuration: access control, secret scopes, features, tracing, API allow-list',
    yaml: `
apiVersion: dapr.io/v1alpha1
kind: Configuration
metadata:
  name: appconfig
spec:
  tracing:
    samplingRate: "1"
    otel:
      endpointAddress: otel-collector.observability:4317
      isSecure: false
      protocol: grpc
  metric:
    enabled: true
    http:
      increasedCardinality: false
      pathMatching:
      - /orders/{id}
  accessControl:
    defaultAction: deny
    trustDomain: public
    policies:
    - appId: checkout
      defaultAction: deny
      trustDomain: public
      namespace: shop
      operations:
      - name: /orders/*
        httpVerb: [POST, GET]
        action: allow
      - name: /admin/*
        httpVerb: ['*']
        action: deny
  secrets:
    scopes:
    - storeName: kubernetes
      defaultAccess: deny
      allowedSecrets: [redis, stripe-key]
    - storeName: vault
      defaultAccess: allow
      deniedSecrets: [root-token]
  api:
    allowed:
    - name: state
      version: v1.0
      protocol: http
    - name: invoke
      version: v1.0
      protocol: grpc
  features:
  - name: SchedulerReminders
    enabled: true
  - name: HotReload
    enabled: false
  logging:
    apiLogging:
      enabled: true
      omitHealthChecks: true
`,
  },
  {
    title: 'Resiliency: timeouts, retries, circuit breakers and app/actor/component targets',
    yaml: `
apiVersion: dapr.io/v1alpha1
kind: Resiliency
metadata:
  name: shop-resiliency
scopes:
- checkout
spec:
  policies:
    timeouts:
      general: 5s
      important: 60s
    retries:
      retryForever:
        policy: constant
        duration: 5s
        maxRetries: -1
      important:
        policy: exponential
        maxInterval: 15s
        maxRetries: 10
        matching:
          httpStatusCodes: 429,500-599
          gRPCStatusCodes: 1-4,8-11,13,14
    circuitBreakers:
      simpleCB:
        maxRequests: 1
        interval: 8s
        timeout: 45s
        trip: consecutiveFailures > 8
  targets:
    apps:
      orders:
        timeout: general
        retry: important
        circuitBreaker: simpleCB
        circuitBreakerCacheSize: 5000
    actors:
      cart:
        timeout: general
        retry: retryForever
        circuitBreaker: simpleCB
        circuitBreakerScope: both
        circuitBreakerCacheSize: 5000
    components:
      statestore:
        outbound:
          timeout: general
          retry: retryForever
          circuitBreaker: simpleCB
      pubsub:
        inbound:
          timeout: important
          retry: important
`,
  },
  {
    title: 'Subscription v2alpha1: routing rules, dead letters, bulk subscribe',
    yaml: `
apiVersion: dapr.io/v2alpha1
kind: Subscription
metadata:
  name: order-events
spec:
  pubsubname: pubsub
  topic: orders
  routes:
    rules:
    - match: event.type == "order.created"
      path: /orders/created
    - match: event.type == "order.cancelled"
      path: /orders/cancelled
    default: /orders
  deadLetterTopic: orders-dead
  metadata:
    rawPayload: "false"
  bulkSubscribe:
    enabled: true
    maxMessagesCount: 100
    maxAwaitDurationMs: 40
scopes:
- orders
`,
  },
  {
    title: 'Subscription v1alpha1: single route',
    yaml: `
apiVersion: dapr.io/v1alpha1
kind: Subscription
metadata:
  name: legacy-order-events
spec:
  pubsubname: pubsub
  topic: legacy-orders
  route: /legacy/orders
  deadLetterTopic: legacy-dead
  metadata:
    maxDeliveryCount: "5"
scopes:
- orders
`,
  },
  {
    title: 'HTTPEndpoint: base URL, literal and secret headers',
    yaml: `
apiVersion: dapr.io/v1alpha1
kind: HTTPEndpoint
metadata:
  name: payments-api
spec:
  baseUrl: https://payments.example.com/v2
  headers:
  - name: Accept
    value: application/json
  - name: Authorization
    secretKeyRef:
      name: payments
      key: token
auth:
  secretStore: kubernetes
scopes:
- checkout
`,
  },
];

/** Broken YAML: the CRD rejects it (message matched) and so does the parser (field named). */
const INVALID: ReadonlyArray<Example & { readonly apiserver: RegExp; readonly field: string }> = [
  {
    title: 'Component without spec.type',
    apiserver: /spec\.type: Required value/,
    field: 'spec.type',
    yaml: `
apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: no-type
spec:
  version: v1
  metadata:
  - name: redisHost
    value: localhost:6379
`,
  },
  {
    title: 'Subscription v2alpha1 without routes',
    apiserver: /spec\.routes: Required value/,
    field: 'spec.routes',
    yaml: `
apiVersion: dapr.io/v2alpha1
kind: Subscription
metadata:
  name: no-routes
spec:
  pubsubname: pubsub
  topic: orders
`,
  },
  {
    title: 'Subscription v1alpha1 without route',
    apiserver: /spec\.route: Required value/,
    field: 'spec.route',
    yaml: `
apiVersion: dapr.io/v1alpha1
kind: Subscription
metadata:
  name: no-route
spec:
  pubsubname: pubsub
  topic: orders
`,
  },
  {
    title: 'HTTPEndpoint with a non-HTTP base URL',
    apiserver: /spec\.baseUrl: Invalid value/,
    field: 'spec.baseUrl',
    yaml: `
apiVersion: dapr.io/v1alpha1
kind: HTTPEndpoint
metadata:
  name: ftp-endpoint
spec:
  baseUrl: ftp://files.example.com
`,
  },
  {
    title: 'Configuration with an access-control action that is neither allow nor deny',
    apiserver: /spec\.accessControl\.defaultAction: Unsupported value/,
    field: 'spec.accessControl.defaultAction',
    yaml: `
apiVersion: dapr.io/v1alpha1
kind: Configuration
metadata:
  name: bad-acl
spec:
  accessControl:
    defaultAction: maybe
`,
  },
  {
    title: 'Resiliency without targets',
    apiserver: /spec\.targets: Required value/,
    field: 'spec.targets',
    yaml: `
apiVersion: dapr.io/v1alpha1
kind: Resiliency
metadata:
  name: no-targets
spec:
  policies:
    timeouts:
      general: 5s
`,
  },
];

type Doc = Record<string, unknown> & { kind: string; metadata: { name: string } };

/** Top-level fields a user writes besides apiVersion/kind/metadata; all must survive unpruned. */
const CONTENT_FIELDS = ['spec', 'scopes', 'auth'] as const;

describe('CRD schemas (crds/) and the sidecar/spec parsers agree', () => {
  let cp: ControlPlane;

  before(async () => {
    cp = await startControlPlane({ log: (m: string) => process.stderr.write(`# ${m}\n`) });
    await cp.kubectl(['apply', '--server-side', '-f', join(repoRoot(), 'crds')]);
    await cp.kubectl(['wait', '--for=condition=Established', '--timeout=60s', 'crd', '--all']);
    await cp.kubectl(['create', 'namespace', NAMESPACE]);
  });

  after(async () => {
    await cp?.stop();
  });

  for (const example of VALID) {
    it(`accepts ${example.title} in both, with no field pruned`, async () => {
      const input = parse(example.yaml) as Doc;
      const { stdout } = await cp.kubectl(
        ['apply', '--dry-run=server', '--namespace', NAMESPACE, '-o', 'json', '-f', '-'],
        { input: example.yaml },
      );
      const stored = JSON.parse(stdout) as Doc;
      assert.equal(stored.kind, input.kind);
      assert.equal(stored.apiVersion, input.apiVersion);
      for (const field of CONTENT_FIELDS) {
        assert.deepEqual(stored[field], input[field], `${field} came back from the apiserver unchanged`);
      }

      const parsed = parseResourceFile(`${input.metadata.name}.yaml`, example.yaml);
      assert.deepEqual(parsed.problems, [], 'the parser reports no problem');
      assert.equal(parsed.resources.length, 1);
      assert.equal(parsed.resources[0]?.kind, input.kind);
      assert.equal(parsed.resources[0]?.name, input.metadata.name);
    });
  }

  for (const example of INVALID) {
    it(`rejects ${example.title} in both`, async () => {
      await assert.rejects(
        cp.kubectl(['apply', '--dry-run=server', '--namespace', NAMESPACE, '-f', '-'], {
          input: example.yaml,
        }),
        example.apiserver,
      );
      const parsed = parseResourceFile('invalid.yaml', example.yaml);
      assert.equal(parsed.resources.length, 0, 'the parser loads nothing');
      assert.ok(
        parsed.problems.some((p) => p.field === example.field),
        `the parser names ${example.field}: ${JSON.stringify(parsed.problems)}`,
      );
    });
  }
});
