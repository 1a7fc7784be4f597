import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApiAllowlist, apiRuleWarnings } from '../../../sidecar/api/universal/api-allowlist.js';

const http = (name: string, version: string) => ({ name, version, protocol: 'http' });
const grpc = (name: string, version: string) => ({ name, version, protocol: 'grpc' });
const M = (m: string) => `/dapr.proto.runtime.v1.Dapr/${m}`;

describe('API allowlist (Configuration spec.api)', () => {
  it('serves only the listed HTTP groups, health checks always', () => {
    const a = new ApiAllowlist([http('state', 'v1.0')], []);
    assert.equal(a.servesHttpRoute('/v1.0/state/:storeName/:key'), true);
    assert.equal(a.servesHttpRoute('/v1.0/state/:storeName/transaction'), true);
    assert.equal(a.servesHttpRoute('/v1.0-alpha1/state/:storeName/query'), false, 'a different version');
    assert.equal(a.servesHttpRoute('/v1.0/secrets/:storeName/:key'), false);
    assert.equal(a.servesHttpRoute('/v1.0/invoke/:id/method/*'), false);
    assert.equal(a.servesHttpRoute('/v1.0/metadata'), false);
    assert.equal(a.servesHttpRoute('/v1.0/healthz'), true);
    assert.equal(a.servesHttpRoute('/v1.0/healthz/outbound'), true);
  });

  it("matches daprd's group versions and its legacy path-prefix rules", () => {
    const groups = new ApiAllowlist([http('state', 'v1alpha1'), http('invoke', 'v1')], []);
    assert.equal(groups.servesHttpRoute('/v1.0-alpha1/state/:storeName/query'), true);
    assert.equal(groups.servesHttpRoute('/v1.0/state/:storeName'), false);
    assert.equal(groups.servesHttpRoute('/v1.0/invoke/:id/method/*'), true);
    const prefix = new ApiAllowlist([http('s', 'v1.0')], []);
    assert.equal(prefix.servesHttpRoute('/v1.0/state/:storeName'), true);
    assert.equal(prefix.servesHttpRoute('/v1.0/secrets/:storeName/bulk'), true);
    assert.equal(prefix.servesHttpRoute('/v1.0/shutdown'), true);
    assert.equal(prefix.servesHttpRoute('/v1.0/metadata'), false);
  });

  it('lets the denylist win over the allowlist, and serves the rest when only a denylist is given', () => {
    const both = new ApiAllowlist([http('state', 'v1.0'), http('invoke', 'v1.0')], [http('invoke', 'v1.0')]);
    assert.equal(both.servesHttpRoute('/v1.0/invoke/:id/method/*'), false);
    assert.equal(both.servesHttpRoute('/v1.0/state/:storeName'), true);
    const denyOnly = new ApiAllowlist([], [http('secrets', 'v1.0')]);
    assert.equal(denyOnly.servesHttpRoute('/v1.0/secrets/:storeName/:key'), false);
    assert.equal(denyOnly.servesHttpRoute('/v1.0/metadata'), true);
    assert.equal(denyOnly.servesHttpRoute('/v1.0/healthz'), true);
  });

  it('keeps each protocol to its own rules', () => {
    const a = new ApiAllowlist([grpc('state', 'v1')], []);
    assert.equal(a.servesHttpRoute('/v1.0/secrets/:storeName/:key'), true, 'no HTTP rule: all of HTTP');
    assert.equal(a.servesGrpcMethod(M('GetState')), true);
    assert.equal(a.servesGrpcMethod(M('ExecuteStateTransaction')), true);
    assert.equal(a.servesGrpcMethod(M('QueryStateAlpha1')), false);
    assert.equal(a.servesGrpcMethod(M('GetMetadata')), false);
    assert.equal(a.servesGrpcMethod(M('InvokeService')), false);
    assert.equal(a.servesGrpcMethod('/shop.Orders/Place'), true, 'proxied calls are not the Dapr API');
    const deny = new ApiAllowlist([grpc('state', 'v1')], [grpc('state', 'v1')]);
    assert.equal(deny.servesGrpcMethod(M('GetState')), false);
    const unknownGroup = new ApiAllowlist([grpc('state', 'v1.0')], []);
    assert.equal(
      unknownGroup.servesGrpcMethod(M('GetMetadata')),
      true,
      'no gRPC group matched: no gRPC rule',
    );
  });

  it('applies a rule without a protocol to neither, and says so', () => {
    const rule = { name: 'state', version: 'v1.0', protocol: '' };
    const a = new ApiAllowlist([rule], []);
    assert.equal(a.servesHttpRoute('/v1.0/secrets/:storeName/:key'), true);
    assert.equal(a.servesGrpcMethod(M('GetSecret')), true);
    assert.deepEqual(apiRuleWarnings([rule], []), [
      'spec.api.allowed[0] (state v1.0) names no protocol (http or grpc), so it applies to neither, as in daprd',
    ]);
  });
});
