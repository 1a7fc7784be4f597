import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bootstrapCaBundle } from '../../../operator/sentry/ca-bundle.js';
import { parseGoDuration } from '../../../operator/sentry/config.js';
import { ExpiryWarner, expiringCertificates } from '../../../operator/sentry/expiry-watch.js';
import type { SentryLogger } from '../../../operator/sentry/logger.js';
import { identityOptionsFromEnvironment } from '../../../sidecar/security/workload-identity.js';

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 0, 1);
const bundle = bootstrapCaBundle({
  trustDomain: 'cluster.local',
  namespace: 'dapr-system',
  validityMs: 365 * DAY,
  skewMs: 0,
  now: new Date(T0),
});

function recordingLogger(lines: string[]): SentryLogger {
  const l: SentryLogger = {
    debug: () => {},
    info: () => {},
    warn: (m) => lines.push(m),
    error: () => {},
    child: () => l,
  };
  return l;
}

describe('CA expiry warnings', () => {
  const cases = [
    { name: 'a year left: nothing', now: T0, want: [] as string[] },
    { name: '31 days left: nothing', now: T0 + 334 * DAY, want: [] },
    { name: '30 days left: root and issuer', now: T0 + 335 * DAY, want: ['root', 'issuer'] },
    { name: 'expired: still reported', now: T0 + 400 * DAY, want: ['root', 'issuer'] },
  ];
  for (const c of cases) {
    it(c.name, () => {
      assert.deepEqual(
        expiringCertificates(bundle, c.now).map((w) => w.which),
        c.want,
      );
    });
  }

  it('logs at most once an hour per certificate', () => {
    const lines: string[] = [];
    const warner = new ExpiryWarner(recordingLogger(lines));
    warner.check(bundle, T0 + 340 * DAY);
    warner.check(bundle, T0 + 340 * DAY + 60_000);
    assert.equal(lines.length, 2);
    assert.match(lines[0] ?? '', /root certificate expires in 25 days/);
    warner.check(bundle, T0 + 340 * DAY + 3_600_000);
    assert.equal(lines.length, 4);
  });
});

describe('identity options from the sidecar environment', () => {
  it('reads Dapr env vars and pins the sentry SPIFFE ID', () => {
    const o = identityOptionsFromEnvironment({
      appId: 'orders',
      sentryAddress: 'dapr-sentry.ops.svc:443',
      env: {
        NAMESPACE: 'shop',
        DAPR_CONTROLPLANE_NAMESPACE: 'ops',
        DAPR_TRUST_ANCHORS: 'PEM',
        DAPR_SENTRY_TOKEN_FILE: '/t',
      },
      logger: { info: () => {}, warn: () => {}, error: () => {} },
    });
    assert.equal(o.namespace, 'shop');
    assert.equal(o.sentry.spiffeId, 'spiffe://cluster.local/ns/ops/dapr-sentry');
    assert.equal(o.tokenFile, '/t');
    assert.equal(o.trustAnchorsPem, 'PEM');
  });

  it('defaults the token file to the projected volume path', () => {
    const o = identityOptionsFromEnvironment({
      appId: 'a',
      sentryAddress: 's:1',
      env: {},
      logger: { info: () => {}, warn: () => {}, error: () => {} },
    });
    assert.equal(o.tokenFile, '/var/run/secrets/dapr.io/sentrytoken/token');
    assert.equal(o.namespace, 'default');
  });
});

describe('sentry duration flags', () => {
  for (const [text, ms] of [
    ['24h', 86_400_000],
    ['15m', 900_000],
    ['1h30m', 5_400_000],
    ['500ms', 500],
    ['8760h', 365 * DAY],
  ] as const) {
    it(`${text} = ${ms} ms`, () => assert.equal(parseGoDuration(text), ms));
  }
  for (const bad of ['', 'soon', '-1h', '10']) {
    it(`"${bad}" is refused`, () => assert.equal(parseGoDuration(bad), undefined));
  }
});
