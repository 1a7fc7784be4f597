import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type {
  NameResolver,
  ResolveRequest,
} from '../../../sidecar/components/nameresolution/name-resolver.js';
import { AddressCache } from '../../../sidecar/invoke/address-cache.js';

/** A resolver whose answers the test releases one by one, counting what was asked. */
class ScriptedResolver implements NameResolver {
  readonly asked: ResolveRequest[] = [];
  readonly #pending: { resolve: (a: readonly string[]) => void; reject: (e: Error) => void }[] = [];

  async init(): Promise<void> {}
  async close(): Promise<void> {}

  resolve(req: ResolveRequest): Promise<readonly string[]> {
    this.asked.push(req);
    return new Promise((resolve, reject) => this.#pending.push({ resolve, reject }));
  }

  /** Answers the oldest open resolution. */
  answer(addresses: readonly string[]): void {
    const p = this.#pending.shift();
    assert.ok(p, 'no resolution is open');
    p.resolve(addresses);
  }

  fail(message: string): void {
    const p = this.#pending.shift();
    assert.ok(p, 'no resolution is open');
    p.reject(new Error(message));
  }
}

function setup(): { cache: AddressCache; resolver: ScriptedResolver; clock: { now: number } } {
  const resolver = new ScriptedResolver();
  const clock = { now: 1_000 };
  const cache = new AddressCache({ resolver, port: 50002, ttlMs: 2_000, now: () => clock.now });
  return { cache, resolver, clock };
}

const settle = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('AddressCache', () => {
  test('a first call waits for the resolver; later calls within the TTL do not ask it again', async () => {
    const { cache, resolver } = setup();
    const first = cache.addresses('b', 'default', false);
    assert.ok(first instanceof Promise);
    resolver.answer(['10.0.0.1:50002']);
    assert.deepEqual(await first, ['10.0.0.1:50002']);
    assert.deepEqual(resolver.asked, [{ appId: 'b', namespace: 'default', port: 50002 }]);
    assert.deepEqual(cache.addresses('b', 'default', false), ['10.0.0.1:50002']);
    assert.equal(resolver.asked.length, 1);
  });

  test('concurrent misses of one app share one resolution; other apps resolve on their own', async () => {
    const { cache, resolver } = setup();
    const calls = [1, 2, 3].map(() => cache.addresses('b', 'default', false));
    const other = cache.addresses('b', 'prod', false);
    assert.equal(resolver.asked.length, 2);
    resolver.answer(['10.0.0.1:50002']);
    resolver.answer(['10.0.9.9:50002']);
    for (const c of calls) assert.deepEqual(await c, ['10.0.0.1:50002']);
    assert.deepEqual(await other, ['10.0.9.9:50002']);
  });

  test('an expired list is served at once while one background refresh replaces it', async () => {
    const { cache, resolver, clock } = setup();
    const first = cache.addresses('b', 'default', false);
    resolver.answer(['10.0.0.1:50002']);
    await first;
    clock.now += 2_000;
    assert.deepEqual(cache.addresses('b', 'default', false), ['10.0.0.1:50002']);
    assert.deepEqual(cache.addresses('b', 'default', false), ['10.0.0.1:50002']);
    assert.equal(resolver.asked.length, 2, 'one refresh for both stale reads');
    resolver.answer(['10.0.0.2:50002']);
    await settle();
    assert.deepEqual(cache.addresses('b', 'default', false), ['10.0.0.2:50002']);
    assert.equal(resolver.asked.length, 2);
  });

  test('a failed refresh drops the list: the next call waits and sees the resolver error', async () => {
    const { cache, resolver, clock } = setup();
    const first = cache.addresses('b', 'default', false);
    resolver.answer(['10.0.0.1:50002']);
    await first;
    clock.now += 5_000;
    cache.addresses('b', 'default', false);
    resolver.fail('dns down');
    await settle();
    const next = cache.addresses('b', 'default', false);
    assert.ok(next instanceof Promise);
    resolver.fail('dns still down');
    await assert.rejects(next, /dns still down/);
  });

  test('an empty answer is not cached', async () => {
    const { cache, resolver } = setup();
    const first = cache.addresses('b', 'default', false);
    resolver.answer([]);
    assert.deepEqual(await first, []);
    const second = cache.addresses('b', 'default', false);
    assert.ok(second instanceof Promise, 'asks again');
    resolver.answer(['10.0.0.1:50002']);
    assert.deepEqual(await second, ['10.0.0.1:50002']);
  });

  test('fresh skips a valid list and waits for the resolver (after an unreachable instance)', async () => {
    const { cache, resolver } = setup();
    const first = cache.addresses('b', 'default', false);
    resolver.answer(['10.0.0.1:50002', '10.0.0.2:50002']);
    await first;
    const fresh = cache.addresses('b', 'default', true);
    assert.ok(fresh instanceof Promise);
    resolver.answer(['10.0.0.2:50002']);
    assert.deepEqual(await fresh, ['10.0.0.2:50002']);
    assert.deepEqual(cache.addresses('b', 'default', false), ['10.0.0.2:50002']);
  });
});
