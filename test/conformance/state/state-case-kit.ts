import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import type { BulkGetItem, GetRequest, StateStore } from '../../../sidecar/state/state-store.js';
import { ETagError } from '../../../sidecar/state/state-store.js';

/** Types and assertions shared by the state conformance case files. */

/** What a test file's factory returns: an initialised store and how to tear it down. */
export interface StateStoreHandle {
  readonly store: StateStore;
  /** Closes the store (if the suite has not) and drops whatever the factory created. */
  cleanup(): Promise<void>;
  /** Another store instance on the same backend, for cross-instance concurrency. */
  peer?(): Promise<StateStore>;
  /** Open server-side connections belonging to `store` (to prove `close` releases them). */
  connectionCount?(): Promise<number>;
}

/** Creates a fresh handle; called once per suite section. */
export type StateStoreFactory = () => Promise<StateStoreHandle>;

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Bytes of a JSON value, as the universal API stores it. */
export function jsonBytes(v: unknown): Uint8Array {
  return enc.encode(JSON.stringify(v));
}

/** Parses stored bytes as JSON (stores may normalise JSON text, e.g. PostgreSQL's JSONB). */
export function parseBytes(b: Uint8Array | undefined): unknown {
  assert.ok(b, 'expected data');
  return JSON.parse(dec.decode(b));
}

/** Asserts that a promise rejects with an `ETagError` of the given kind. */
export async function rejectsETag(p: Promise<unknown>, kind: 'mismatch' | 'invalid'): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof ETagError, `expected ETagError, got ${String(err)}`);
    assert.equal(err.kind, kind);
    return true;
  });
}

/** Polls until `fn` is true; fails after `ms`. Used for TTL expiry ("eventually gone"). */
export async function eventually(fn: () => Promise<boolean>, what: string, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await fn()) return;
    await sleep(200);
  }
  assert.fail(`${what} did not happen within ${ms / 1000}s`);
}

/** Native bulk get when the store has one, else parallel gets (what the universal API does). */
export async function bulkGet(store: StateStore, keys: readonly string[]): Promise<BulkGetItem[]> {
  const reqs: GetRequest[] = keys.map((key) => ({ key, metadata: {} }));
  if (store.bulkGet) return store.bulkGet(reqs);
  return Promise.all(reqs.map(async (r) => ({ key: r.key, ...((await store.get(r)) ?? {}) })));
}

/** Makes a key unique to this run and test. */
export type KeyFn = (label: string) => string;
/** Writes a JSON value (or raw bytes) under a key. */
export type SetFn = (
  k: string,
  v: unknown,
  extra?: Partial<Parameters<StateStore['set']>[0]>,
) => Promise<void>;
/** Reads a key. */
export type GetFn = (k: string) => ReturnType<StateStore['get']>;
