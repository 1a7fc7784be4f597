import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { abortReason, systemClock } from '../../../sidecar/resiliency/clock.js';

describe('the system clock', () => {
  it('sleep rejects with the signal reason when aborted, and never resolves afterwards', async () => {
    const ac = new AbortController();
    const sleeping = systemClock.sleep(3_600_000, ac.signal);
    const reason = new Error('stop');
    ac.abort(reason);
    await assert.rejects(sleeping, (e: unknown) => e === reason);
  });

  it('sleep rejects at once on an already aborted signal', async () => {
    await assert.rejects(systemClock.sleep(3_600_000, AbortSignal.abort()), { name: 'AbortError' });
  });

  it('sleep(0) resolves', async () => {
    await systemClock.sleep(0);
  });

  it('abortReason falls back to an AbortError', () => {
    const ac = new AbortController();
    ac.abort();
    assert.equal((abortReason(ac.signal) as Error).name, 'AbortError');
  });
});
