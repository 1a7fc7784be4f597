import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { renewalTime, retryDelay } from '../../../sidecar/security/renewal-time.js';

const H = 3_600_000;
const T0 = Date.UTC(2026, 0, 1);
const fixed = (v: number) => () => v;

describe('renewalTime (injected clock and randomness)', () => {
  const cases: {
    name: string;
    notBefore: number;
    notAfter: number;
    now: number;
    rand: number;
    want: number;
  }[] = [
    {
      name: '24h cert, no jitter → renews at 12h',
      notBefore: T0,
      notAfter: T0 + 24 * H,
      now: T0,
      rand: 0.5,
      want: T0 + 12 * H,
    },
    {
      name: 'lowest jitter → 50% − 5% of validity',
      notBefore: T0,
      notAfter: T0 + 24 * H,
      now: T0,
      rand: 0,
      want: T0 + 12 * H - 0.05 * 24 * H,
    },
    {
      name: 'highest jitter → just under 50% + 5%',
      notBefore: T0,
      notAfter: T0 + 24 * H,
      now: T0,
      rand: 0.999999,
      want: T0 + 12 * H + (0.999999 - 0.5) * 0.1 * 24 * H,
    },
    {
      name: 'backdated NotBefore (15m skew) counts in the validity',
      notBefore: T0 - 0.25 * H,
      notAfter: T0 + 24 * H,
      now: T0,
      rand: 0.5,
      want: T0 - 0.25 * H + 12.125 * H,
    },
    {
      name: 'already past the renewal point → now',
      notBefore: T0,
      notAfter: T0 + 24 * H,
      now: T0 + 13 * H,
      rand: 0.5,
      want: T0 + 13 * H,
    },
    {
      name: 'expired → now',
      notBefore: T0,
      notAfter: T0 + 24 * H,
      now: T0 + 25 * H,
      rand: 0.5,
      want: T0 + 25 * H,
    },
    { name: 'zero-length validity → now', notBefore: T0, notAfter: T0, now: T0, rand: 0.5, want: T0 },
    { name: 'inverted validity → now', notBefore: T0 + H, notAfter: T0, now: T0, rand: 0.5, want: T0 },
    {
      name: 'issued in the future (clock behind) → half-life',
      notBefore: T0 + H,
      notAfter: T0 + 3 * H,
      now: T0,
      rand: 0.5,
      want: T0 + 2 * H,
    },
    {
      name: '1-minute cert → 30s',
      notBefore: T0,
      notAfter: T0 + 60_000,
      now: T0 + 1_000,
      rand: 0.5,
      want: T0 + 30_000,
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      assert.equal(renewalTime(c.notBefore, c.notAfter, c.now, fixed(c.rand)), c.want);
    });
  }

  it('always lands inside [now, notAfter − 10%] whatever the random draw', () => {
    for (let i = 0; i <= 100; i++) {
      const at = renewalTime(T0, T0 + 24 * H, T0, fixed(i / 101));
      assert.ok(at >= T0 + 0.45 * 24 * H && at <= T0 + 0.55 * 24 * H, `draw ${i}: ${at - T0}`);
    }
  });
});

describe('retryDelay', () => {
  const cases = [
    { failures: 1, rand: 1, want: 1_000 },
    { failures: 2, rand: 1, want: 2_000 },
    { failures: 4, rand: 1, want: 8_000 },
    { failures: 5, rand: 1, want: 10_000 },
    { failures: 50, rand: 1, want: 10_000 },
    { failures: 1, rand: 0, want: 800 },
    { failures: 0, rand: 1, want: 1_000 },
  ];
  for (const c of cases) {
    it(`${c.failures} failures, rand ${c.rand} → ${c.want} ms`, () => {
      assert.equal(retryDelay(c.failures, 1_000, 10_000, fixed(c.rand)), c.want);
    });
  }
});
