import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  ensureGoSdkProbe,
  errorInfoOf,
  type GoSdkClient,
  type GoStateItem,
  goSdkClient,
} from '../../env/go-sdk-probe.js';
import { makeTempDir, removeTempDir } from '../../env/process.js';
import { component, makeResourcesDir, type Sidecar, startSidecar } from '../harness.js';

/**
 * The official Dapr Go SDK's state calls (github.com/dapr/go-sdk client, unchanged) against the
 * sidecar's gRPC API, on an in-memory and a SQLite store: save with metadata, get, bulk get and
 * save, ETag first-write conflicts as the SDK surfaces them, deletes, transactions and queries.
 * Expected errors are daprd v1.16's (the release go-sdk v1.13 is built against): its gRPC
 * handlers answer store failures with ErrorInfo{reason: ERR_STATE_*, domain: dapr.io}.
 */

let dataDir = '';
let resources = '';
let sidecar: Sidecar;
let sdk: GoSdkClient;

before(async () => {
  const probe = await ensureGoSdkProbe((line) => process.stderr.write(`${line}\n`));
  dataDir = await makeTempDir('go-sdk-state');
  resources = await makeResourcesDir([
    component('mem', 'state.in-memory'),
    component('lite', 'state.sqlite', { connectionString: `${dataDir}/state.db` }),
  ]);
  sidecar = await startSidecar({ appId: 'gostate', resourcesPaths: [resources] });
  sdk = goSdkClient(probe, { grpcPort: sidecar.grpcPort, httpPort: sidecar.httpPort });
});

after(async () => {
  await sidecar?.stop();
  await removeTempDir(resources);
  await removeTempDir(dataDir);
});

const get = (store: string, key: string) => sdk.ok<GoStateItem>({ op: 'getState', store, key });
const bulk = (store: string, keys: string[]) => sdk.ok<GoStateItem[]>({ op: 'getBulkState', store, keys });
/** daprd's message for an ETag that names an older version (components-contrib's ETagMismatch). */
const MISMATCH = 'possible etag mismatch';

for (const store of ['mem', 'lite']) {
  describe(`Go SDK state calls on ${store}`, () => {
    it('saves with metadata and reads the value, its ETag and its TTL back', async () => {
      await sdk.ok({
        op: 'saveState',
        store,
        key: 'order-1',
        value: 'first',
        metadata: { ttlInSeconds: '3600' },
      });
      const item = await get(store, 'order-1');
      assert.equal(item.key, 'order-1');
      assert.equal(item.value, 'first');
      assert.notEqual(item.etag, '');
      const expires = item.metadata?.ttlExpireTime;
      assert.ok(expires !== undefined && Date.parse(expires) > Date.now(), `ttlExpireTime ${expires}`);
    });

    it('stores a contentType application/json value as daprd does (decoded, re-encoded compact)', async () => {
      await sdk.ok({
        op: 'saveState',
        store,
        key: 'doc',
        value: '{ "a": 1,  "b": [true] }',
        metadata: { contentType: 'application/json' },
      });
      assert.equal((await get(store, 'doc')).value, '{"a":1,"b":[true]}');
    });

    it('reads a missing key as an empty item, not an error', async () => {
      const item = await get(store, 'never-saved');
      assert.deepEqual({ value: item.value, etag: item.etag }, { value: '', etag: '' });
    });

    it('saves in bulk and reads in bulk, a missing key as an empty item', async () => {
      await sdk.ok({
        op: 'saveBulkState',
        store,
        items: [
          { key: 'b1', value: 'one' },
          { key: 'b2', value: 'two', metadata: { ttlInSeconds: '600' } },
        ],
      });
      const items = await bulk(store, ['b1', 'b2', 'b-missing']);
      const byKey = new Map(items.map((i) => [i.key, i]));
      assert.deepEqual([...byKey.keys()].sort(), ['b-missing', 'b1', 'b2']);
      assert.equal(byKey.get('b1')?.value, 'one');
      assert.equal(byKey.get('b2')?.value, 'two');
      assert.notEqual(byKey.get('b1')?.etag, '');
      assert.equal(byKey.get('b-missing')?.value, '');
      assert.equal(byKey.get('b-missing')?.etag, '');
      assert.equal(byKey.get('b-missing')?.error ?? '', '');
    });

    it('saves in bulk with the current ETag under first-write and refuses a stale one', async () => {
      await sdk.ok({ op: 'saveState', store, key: 'acct', value: 'v1' });
      const v1 = (await get(store, 'acct')).etag;
      await sdk.ok({
        op: 'saveBulkState',
        store,
        items: [{ key: 'acct', value: 'v2', etag: v1, concurrency: 'first-write' }],
      });
      const v2 = await get(store, 'acct');
      assert.equal(v2.value, 'v2');
      assert.notEqual(v2.etag, v1);
      const err = await sdk.fails({
        op: 'saveBulkState',
        store,
        items: [{ key: 'acct', value: 'v3', etag: v1, concurrency: 'first-write' }],
      });
      assert.equal(err.code, 'Aborted');
      assert.ok(
        err.statusMessage.startsWith(`failed saving state in state store ${store}: ${MISMATCH}`),
        err.statusMessage,
      );
      assert.ok(err.message.startsWith('error saving state: rpc error: code = Aborted desc = '), err.message);
      assert.deepEqual(errorInfoOf(err), { reason: 'ERR_STATE_SAVE', domain: 'dapr.io' });
      assert.equal((await get(store, 'acct')).value, 'v2', 'the refused write changed nothing');
    });

    it('refuses SaveStateWithETag with a stale ETag under first-write', async () => {
      await sdk.ok({ op: 'saveState', store, key: 'single', value: 's1' });
      const s1 = (await get(store, 'single')).etag;
      await sdk.ok({
        op: 'saveState',
        store,
        key: 'single',
        value: 's2',
        etag: s1,
        concurrency: 'first-write',
      });
      const err = await sdk.fails({
        op: 'saveState',
        store,
        key: 'single',
        value: 's3',
        etag: s1,
        concurrency: 'first-write',
      });
      assert.equal(err.code, 'Aborted');
      assert.match(
        err.statusMessage,
        new RegExp(`^failed saving state in state store ${store}: ${MISMATCH}`),
      );
      assert.equal((await get(store, 'single')).value, 's2');
    });

    it('deletes one key, refusing a stale ETag first', async () => {
      await sdk.ok({ op: 'saveState', store, key: 'gone', value: 'x' });
      const e1 = (await get(store, 'gone')).etag;
      await sdk.ok({ op: 'saveState', store, key: 'gone', value: 'y' });
      const err = await sdk.fails({
        op: 'deleteState',
        store,
        key: 'gone',
        etag: e1,
        concurrency: 'first-write',
      });
      assert.equal(err.code, 'Aborted');
      assert.match(err.statusMessage, new RegExp(`^failed deleting state with key gone: ${MISMATCH}`));
      assert.ok(err.message.startsWith('error deleting state: rpc error: code = Aborted'), err.message);
      assert.deepEqual(errorInfoOf(err), { reason: 'ERR_STATE_DELETE', domain: 'dapr.io' });
      assert.equal((await get(store, 'gone')).value, 'y');
      await sdk.ok({ op: 'deleteState', store, key: 'gone' });
      assert.equal((await get(store, 'gone')).value, '');
    });

    it('deletes keys in bulk', async () => {
      await sdk.ok({
        op: 'saveBulkState',
        store,
        items: [
          { key: 'd1', value: '1' },
          { key: 'd2', value: '2' },
          { key: 'd3', value: '3' },
        ],
      });
      await sdk.ok({ op: 'deleteBulkState', store, keys: ['d1', 'd2'] });
      const items = await bulk(store, ['d1', 'd2', 'd3']);
      assert.deepEqual(items.map((i) => [i.key, i.value]).sort(), [
        ['d1', ''],
        ['d2', ''],
        ['d3', '3'],
      ]);
    });

    it('deletes items in bulk with their ETags, refusing a stale one (DeleteBulkStateItems)', async () => {
      await sdk.ok({ op: 'saveState', store, key: 'e1', value: '1' });
      await sdk.ok({ op: 'saveState', store, key: 'e2', value: '2' });
      const [e1, e2] = await bulk(store, ['e1', 'e2']).then((items) =>
        ['e1', 'e2'].map((k) => items.find((i) => i.key === k)?.etag ?? ''),
      );
      await sdk.ok({ op: 'saveState', store, key: 'e2', value: '2b' });
      const err = await sdk.fails({
        op: 'deleteBulkStateItems',
        store,
        items: [{ key: 'e2', etag: e2, concurrency: 'first-write' }],
      });
      assert.equal(err.code, 'Aborted');
      assert.match(
        err.statusMessage,
        new RegExp(`^failed deleting state in state store ${store}: ${MISMATCH}`),
      );
      assert.deepEqual(errorInfoOf(err), { reason: 'ERR_STATE_BULK_DELETE', domain: 'dapr.io' });
      await sdk.ok({
        op: 'deleteBulkStateItems',
        store,
        items: [{ key: 'e1', etag: e1, concurrency: 'first-write' }],
      });
      const left = await bulk(store, ['e1', 'e2']);
      assert.deepEqual(left.map((i) => [i.key, i.value]).sort(), [
        ['e1', ''],
        ['e2', '2b'],
      ]);
    });

    it('executes a transaction of upserts and a delete, and fails a stale-ETag one as a whole', async () => {
      await sdk.ok({ op: 'saveState', store, key: 'tx-old', value: 'old' });
      await sdk.ok({
        op: 'executeStateTransaction',
        store,
        ops: [
          { type: 'upsert', key: 'tx-a', value: 'A' },
          { type: 'upsert', key: 'tx-b', value: 'B' },
          { type: 'delete', key: 'tx-old' },
        ],
      });
      const after1 = await bulk(store, ['tx-a', 'tx-b', 'tx-old']);
      assert.deepEqual(after1.map((i) => [i.key, i.value]).sort(), [
        ['tx-a', 'A'],
        ['tx-b', 'B'],
        ['tx-old', ''],
      ]);
      const staleA = (await get(store, 'tx-a')).etag;
      await sdk.ok({ op: 'saveState', store, key: 'tx-a', value: 'A2' });
      const err = await sdk.fails({
        op: 'executeStateTransaction',
        store,
        ops: [
          { type: 'upsert', key: 'tx-c', value: 'C' },
          { type: 'upsert', key: 'tx-a', value: 'A3', etag: staleA, concurrency: 'first-write' },
        ],
      });
      // daprd's transaction handler reports every store failure as Internal, ETag ones included.
      assert.equal(err.code, 'Internal');
      assert.match(err.statusMessage, new RegExp(`^error while executing state transaction: ${MISMATCH}`));
      assert.ok(err.message.startsWith('error executing state transaction: rpc error: code = Internal'));
      assert.deepEqual(errorInfoOf(err), { reason: 'ERR_STATE_TRANSACTION', domain: 'dapr.io' });
      const after2 = await bulk(store, ['tx-a', 'tx-c']);
      assert.deepEqual(
        after2.map((i) => [i.key, i.value]).sort(),
        [
          ['tx-a', 'A2'],
          ['tx-c', ''],
        ],
        'nothing of the failed transaction was applied',
      );
    });

    it('queries JSON values with QueryStateAlpha1', async () => {
      await sdk.ok({
        op: 'saveBulkState',
        store,
        items: [
          { key: 'city-1', value: '{"city":"Oslo","n":1}', metadata: { contentType: 'application/json' } },
          { key: 'city-2', value: '{"city":"Rome","n":2}', metadata: { contentType: 'application/json' } },
          { key: 'city-3', value: '{"city":"Rome","n":3}', metadata: { contentType: 'application/json' } },
        ],
      });
      const res = await sdk.ok<{ results: GoStateItem[]; token: string }>({
        op: 'queryState',
        store,
        query: JSON.stringify({ filter: { EQ: { city: 'Rome' } }, sort: [{ key: 'n', order: 'DESC' }] }),
      });
      assert.deepEqual(
        res.results.map((r) => [r.key, JSON.parse(r.value)]),
        [
          ['city-3', { city: 'Rome', n: 3 }],
          ['city-2', { city: 'Rome', n: 2 }],
        ],
      );
      assert.ok(res.results.every((r) => r.etag !== ''));
    });
  });
}

describe('Go SDK state calls on a store that does not exist', () => {
  it("carries daprd's DAPR_STATE_NOT_FOUND error", async () => {
    const err = await sdk.fails({ op: 'getState', store: 'nostore', key: 'x' });
    assert.equal(err.code, 'InvalidArgument');
    assert.equal(err.statusMessage, 'state store nostore is not found');
    assert.equal(
      err.message,
      'error getting state: rpc error: code = InvalidArgument desc = state store nostore is not found',
    );
    assert.deepEqual(errorInfoOf(err), {
      reason: 'DAPR_STATE_NOT_FOUND',
      domain: 'dapr.io',
      metadata: { appID: 'gostate' },
    });
  });
});
