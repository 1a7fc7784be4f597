import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { apiPathLabel, HttpMetricLabels } from '../../../sidecar/observability/http-metric-labels.js';

const labels = (spec: Partial<ConstructorParameters<typeof HttpMetricLabels>[0]> = {}) =>
  new HttpMetricLabels({ increasedCardinality: true, pathMatching: [], excludeVerbs: false, ...spec });

describe('HTTP metric labels', () => {
  it("cuts ids out of API paths as daprd's increased-cardinality mode does", () => {
    const cases: [string, string][] = [
      ['/v1.0/state/mystore/key1', '/v1.0/state/mystore'],
      ['/v1.0/state/mystore', '/v1.0/state/mystore'],
      ['/v1.0/secrets/vault/db-password', '/v1.0/secrets/vault'],
      ['/v1.0/actors/DemoActor/1/method/method1', '/v1.0/actors/DemoActor/{id}/method'],
      ['/v1.0/actors/DemoActor/1/timer/t1', '/v1.0/actors/DemoActor/{id}/timer'],
      ['/v1.0/actors/DemoActor/1', '/v1.0/actors/DemoActor/1'],
      ['actors/DemoActor/1/method/foo', 'actors/DemoActor/{id}/method/foo'],
      ['/v1.0-beta1/workflows/dapr/abc', '/v1.0-beta1/workflows/dapr/{instanceId}'],
      ['/v1.0-beta1/workflows/dapr/MyWorkflow/start', '/v1.0-beta1/workflows/dapr/MyWorkflow/start'],
      [
        '/v1.0-beta1/workflows/dapr/abc/raiseEvent/ev1',
        '/v1.0-beta1/workflows/dapr/{instanceId}/raiseEvent/{eventName}',
      ],
      ['/v1.0-beta1/workflows/dapr/abc/terminate', '/v1.0-beta1/workflows/dapr/{instanceId}/terminate'],
      ['/v1.0/invoke/orders/method/items/42', '/v1.0/invoke/orders/method/items/42'],
      ['/v1.0/healthz', '/v1.0/healthz'],
      ['/v1.0/stateful/a/b', '/v1.0/stateful/a/b'],
      ['/v1.0/stat/a/b', '/v1.0/stat/a/b'],
      ['/v1.0/state', '/v1.0/state'],
      ['/v1.0/state/', '/v1.0/state/'],
      ['//v1.0/state/a/b', '//v1.0/state/a/b'],
      ['x/secrets/s/k', '/x/secrets/s'],
      ['/actorsX/a/b/c', '/actorsX/a/b/c'],
      ['', ''],
    ];
    for (const [path, want] of cases) assert.equal(apiPathLabel(path), want, path);
    assert.equal(labels().apiPath('/v1.0/state/s/k'), '/v1.0/state/s');
  });

  it('gives an empty path without increased cardinality, and the path matched with pathMatching', () => {
    assert.equal(labels({ increasedCardinality: false }).apiPath('/v1.0/state/s/k'), '');
    assert.equal(labels({ increasedCardinality: false }).appPath('/dapr/config'), '/dapr/config');
    const matching = labels({
      increasedCardinality: false,
      pathMatching: ['/orders/{orderID}', '/orders/{orderID}/items/{itemID}', '/v1.0/state/{store}/{key}'],
    });
    assert.equal(
      matching.apiPath('/v1.0/invoke/myapp/method/orders/1234'),
      '/v1.0/invoke/{app_id}/method/orders/{orderID}',
    );
    assert.equal(
      matching.apiPath('//v1.0/invoke/myapp/method/orders/9999/items/7'),
      '/v1.0/invoke/{app_id}/method/orders/{orderID}/items/{itemID}',
    );
    assert.equal(matching.apiPath('/v1.0/state/s/k'), '/v1.0/state/{store}/{key}');
    assert.equal(matching.appPath('/orders/55'), '/orders/{orderID}');
    assert.equal(matching.apiPath('/v1.0/invoke/myapp/method/payments/1'), '');
    const high = labels({ pathMatching: ['/orders/{orderID}'] });
    assert.equal(
      high.apiPath('/v1.0/invoke/myapp/method/payments//1'),
      '/v1.0/invoke/myapp/method/payments/1',
    );
  });

  it('prefers the most specific pattern: literals over wildcards, wildcards over subtrees', () => {
    const m = labels({
      increasedCardinality: false,
      pathMatching: ['/', '/orders/', '/orders/{id}', '/orders/special', '/files/{rest...}'],
    });
    assert.equal(m.appPath('/orders/special'), '/orders/special');
    assert.equal(m.appPath('/orders/7'), '/orders/{id}');
    assert.equal(m.appPath('/orders/7/lines'), '/orders/');
    assert.equal(m.appPath('/files/a/b/c'), '/files/{rest...}');
    assert.equal(m.appPath('/elsewhere'), '/');
    const noCatchAll = labels({ increasedCardinality: false, pathMatching: ['/orders/{id}'] });
    assert.equal(noCatchAll.appPath('/payments/1'), '/payments/1');
    assert.equal(noCatchAll.apiPath('/v1.0/invoke/a/method/payments/1'), '');
  });

  it('keeps RFC 9110 methods, calls others UNKNOWN, and drops them all with excludeVerbs', () => {
    assert.equal(labels().method('PATCH'), 'PATCH');
    assert.equal(labels().method('PROPFIND'), 'UNKNOWN');
    assert.equal(labels({ excludeVerbs: true }).method('GET'), '');
  });
});
