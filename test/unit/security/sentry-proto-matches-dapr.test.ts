import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { SENTRY_PROTO_JSON } from '../../../sidecar/pki/proto/sentry-proto.js';

// The compiled test lives under <out>/test/unit/security; the .proto stays in the source tree.
function findProto(): string {
  for (const rel of [
    '../../../../sidecar/pki/proto/sentry.proto',
    '../../../../../sidecar/pki/proto/sentry.proto',
  ]) {
    try {
      return readFileSync(fileURLToPath(new URL(rel, import.meta.url)), 'utf8');
    } catch {
      // try the next layout (dist/ vs .build/<name>/)
    }
  }
  throw new Error('sidecar/pki/proto/sentry.proto not found from the compiled test');
}

describe('embedded sentry proto', () => {
  const proto = findProto();
  const v1 = SENTRY_PROTO_JSON.nested.dapr.nested.proto.nested.sentry.nested.v1.nested;

  it('has the same package and service as sentry.proto', () => {
    assert.match(proto, /package dapr\.proto\.sentry\.v1;/);
    assert.match(proto, /rpc SignCertificate \(SignCertificateRequest\) returns \(SignCertificateResponse\)/);
    assert.deepEqual(Object.keys(v1.CA.methods), ['SignCertificate']);
  });

  for (const message of ['SignCertificateRequest', 'SignCertificateResponse'] as const) {
    it(`${message} fields match sentry.proto names and numbers`, () => {
      const block = new RegExp(`message ${message} \\{([\\s\\S]*?)\\n\\}`).exec(proto)?.[1] ?? '';
      const fromProto = [...block.matchAll(/^\s*(?:repeated |optional )?[\w.]+ (\w+) = (\d+);/gm)]
        .map((m) => [m[1], Number(m[2])])
        .filter(([name]) => !['UNKNOWN', 'INSECURE', 'KUBERNETES', 'JWKS'].includes(String(name)));
      const fromJson = Object.entries(v1[message].fields).map(([name, f]) => [name, f.id]);
      assert.deepEqual(fromJson, fromProto);
    });
  }

  it('TokenValidator enum values match', () => {
    assert.deepEqual(v1.SignCertificateRequest.nested.TokenValidator.values, {
      UNKNOWN: 0,
      INSECURE: 1,
      KUBERNETES: 2,
      JWKS: 3,
    });
    assert.match(proto, /UNKNOWN = 0;\s+INSECURE = 1;\s+KUBERNETES = 2;\s+JWKS = 3;/);
  });
});
