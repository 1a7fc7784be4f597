import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseTraceparent, type SpanContext } from '../../../sidecar/observability/tracing/trace-context.js';

/** The regex the parser replaced: the reference for what is valid. */
function reference(value: string | undefined): SpanContext | undefined {
  if (value === undefined) return undefined;
  const m = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/.exec(value.trim());
  if (m === null) return undefined;
  const [, version, traceId, spanId, flags, rest] = m as unknown as [
    string,
    string,
    string,
    string,
    string,
    string?,
  ];
  if (version === 'ff' || (version === '00' && rest !== undefined)) return undefined;
  if (traceId === '0'.repeat(32) || spanId === '0'.repeat(16)) return undefined;
  return { traceId, spanId, sampled: (Number.parseInt(flags, 16) & 1) === 1 };
}

describe('parseTraceparent', () => {
  const valid = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

  it('accepts what the W3C rules accept and nothing else', () => {
    const cases = [
      valid,
      ` ${valid}\t`,
      `\n${valid}\n`,
      valid.replace(/-01$/, '-00'),
      valid.replace(/-01$/, '-0f'),
      valid.replace(/-01$/, '-fe'),
      valid.replace(/^00/, 'ff'),
      valid.replace(/^00/, '01'),
      `${valid.replace(/^00/, '01')}-extra`,
      `${valid.replace(/^00/, '01')}-`,
      `${valid.replace(/^00/, '01')}-a\nb`,
      `${valid.replace(/^00/, '01')}-a\u2028b`,
      `${valid.replace(/^00/, '01')}x`,
      `${valid}-extra`,
      valid.toUpperCase(),
      valid.replace('0af7', '0aG7'),
      `00-${'0'.repeat(32)}-b7ad6b7169203331-01`,
      `00-0af7651916cd43dd8448eb211c80319c-${'0'.repeat(16)}-01`,
      valid.slice(0, 54),
      valid.replace(/-/g, '_'),
      '',
      undefined,
    ];
    for (const c of cases) assert.deepEqual(parseTraceparent(c), reference(c), JSON.stringify(c));
  });

  it('agrees with the reference on random single-character changes', () => {
    const alphabet = '0123456789abcdefABCDEF-_ \n\u2028g';
    let seed = 7;
    const rand = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    for (let i = 0; i < 5000; i++) {
      const base = rand(2) === 0 ? valid : `01${valid.slice(2)}-x`;
      const at = rand(base.length + 1);
      const ch = alphabet[rand(alphabet.length)] as string;
      const mode = rand(3);
      const c =
        mode === 0
          ? base.slice(0, at) + ch + base.slice(at + 1)
          : mode === 1
            ? base.slice(0, at) + ch + base.slice(at)
            : base.slice(0, at) + base.slice(at + 1);
      assert.deepEqual(parseTraceparent(c), reference(c), JSON.stringify(c));
    }
  });
});
