import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AccessControlList, AccessControlSpecError } from '../../../sidecar/acl/access-control.js';

/** Dapr's access-control semantics (pkg/acl, pkg/config/trie.go), checked case by case. */

const caller = (appId: string, namespace = 'default', trustDomain = 'public') => ({
  appId,
  namespace,
  trustDomain,
});

const spec = {
  defaultAction: 'deny',
  trustDomain: 'public',
  policies: [
    {
      appId: 'app1',
      defaultAction: 'allow',
      trustDomain: 'public',
      namespace: 'default',
      operations: [
        { name: '/op1', httpVerb: ['POST', 'GET'], action: 'deny' },
        { name: '/op2/*', httpVerb: ['*'], action: 'deny' },
        { name: '/op3/a/*', httpVerb: ['PUT'], action: 'deny' },
        { name: '/op4/**', httpVerb: ['GET'], action: 'deny' },
        { name: '/op5*', httpVerb: ['GET'], action: 'deny' },
      ],
    },
    {
      appId: 'app2',
      defaultAction: 'deny',
      trustDomain: 'domain1',
      namespace: 'ns2',
      operations: [{ name: '/x', httpVerb: ['GET'], action: 'allow' }],
    },
  ],
};

describe('access control matching', () => {
  const acl = AccessControlList.compile(spec, true) as AccessControlList;

  it('is absent without an accessControl section', () => {
    assert.equal(AccessControlList.compile(undefined, true), undefined);
    assert.equal(AccessControlList.compile({}, true), undefined);
  });

  it('applies the global default to unknown callers and to callers without an identity', () => {
    assert.equal(acl.check(caller('other'), 'op1', 'GET', true).allowed, false);
    assert.equal(acl.check(undefined, 'op1', 'GET', true).allowed, false);
    assert.equal(acl.check(undefined, 'op1', 'GET', true).policy, 'global');
  });

  it('matches exact operations by verb, falling back to the app default', () => {
    assert.equal(acl.check(caller('app1'), 'op1', 'GET', true).allowed, false);
    assert.equal(acl.check(caller('app1'), 'op1', 'PUT', true).allowed, true);
    assert.equal(acl.check(caller('app1'), 'unlisted', 'GET', true).allowed, true);
  });

  it('treats /* as one segment (or the rest at the end), /** as everything below, * as a glob', () => {
    assert.equal(acl.check(caller('app1'), 'op2/x', 'DELETE', true).allowed, false);
    assert.equal(acl.check(caller('app1'), 'op3/a/b', 'PUT', true).allowed, false);
    assert.equal(acl.check(caller('app1'), 'op3/a/b', 'GET', true).allowed, true);
    assert.equal(acl.check(caller('app1'), 'op4/a/b/c', 'GET', true).allowed, false);
    assert.equal(acl.check(caller('app1'), 'op5abc', 'GET', true).allowed, false);
  });

  it('compares HTTP operations case-insensitively and normalizes slashes', () => {
    assert.equal(acl.check(caller('app1'), 'OP1', 'GET', true).allowed, false);
    assert.equal(acl.check(caller('app1'), '//op1/', 'GET', true).allowed, false);
  });

  it('requires the trust domain and namespace of the policy', () => {
    assert.equal(acl.check(caller('app2', 'ns2', 'domain1'), 'x', 'GET', true).allowed, true);
    assert.equal(acl.check(caller('app2', 'ns2', 'public'), 'x', 'GET', true).allowed, false);
    assert.equal(acl.check(caller('app2', 'default', 'domain1'), 'x', 'GET', true).allowed, false);
  });

  it('defaults the global action to deny when policies exist and allow otherwise', () => {
    const onlyPolicies = AccessControlList.compile({ policies: spec.policies }, true) as AccessControlList;
    assert.equal(onlyPolicies.defaultAction, 'deny');
    const onlyTd = AccessControlList.compile({ trustDomain: 'x' }, true) as AccessControlList;
    assert.equal(onlyTd.defaultAction, 'allow');
  });

  it('refuses policies without namespace or trust domain, as daprd does', () => {
    assert.throws(
      () =>
        AccessControlList.compile(
          { defaultAction: 'allow', policies: [{ appId: 'a', trustDomain: 'public' }] },
          true,
        ),
      AccessControlSpecError,
    );
  });

  it("words a denial like daprd's", () => {
    assert.equal(
      acl.check(caller('app1'), 'op1', 'GET', true).message,
      'access control policy has denied access to appid: app1 operation: op1 verb: GET',
    );
  });
});
