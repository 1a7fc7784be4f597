import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { makeTempDir, removeTempDir } from '../../env/process.js';
import { component, makeResourcesDir, type Sidecar, startSidecar } from '../harness.js';
import { assertDaprError, call } from './http-call.js';

/** Every State API route through a real outriggerd, over state.in-memory and state.sqlite. */

let sidecar: Sidecar;
let resources = '';
let sqliteDir = '';

before(async () => {
  sqliteDir = await makeTempDir('state-sqlite');
  resources = await makeResourcesDir([
    component('mem', 'state.in-memory'),
    component('lite', 'state.sqlite', { connectionString: `${sqliteDir}/state.db` }),
    component('shared', 'state.sqlite', { connectionString: `${sqliteDir}/shared.db`, keyPrefix: 'none' }),
    component('byname', 'state.sqlite', { connectionString: `${sqliteDir}/byname.db`, keyPrefix: 'name' }),
  ]);
  sidecar = await startSidecar({
    appId: 'stateapp',
    resourcesPaths: [resources],
    args: ['--max-body-size', '2Ki'],
  });
});

after(async () => {
  await sidecar?.stop();
  await removeTempDir(resources);
  await removeTempDir(sqliteDir);
});

const get = (path: string, headers?: Record<string, string>) =>
  call(sidecar.url, 'GET', path, undefined, headers);
const post = (path: string, body: unknown, headers?: Record<string, string>) =>
  call(sidecar.url, 'POST', path, body, headers);

for (const store of ['mem', 'lite']) {
  describe(`state API on ${store}`, () => {
    it('saves any JSON value and gets it back with an ETag header; a missing key is 204', async () => {
      const saved = await post(`/v1.0/state/${store}`, [
        { key: 'obj', value: { name: 'Ada', n: 1 } },
        { key: 'str', value: 'hello' },
        { key: 'num', value: 42 },
      ]);
      assert.equal(saved.status, 204, saved.text);
      const obj = await get(`/v1.0/state/${store}/obj`);
      assert.equal(obj.status, 200);
      assert.equal(obj.headers.get('content-type'), 'application/json');
      assert.ok(obj.headers.get('etag'), 'ETag header');
      assert.deepEqual(obj.json(), { name: 'Ada', n: 1 });
      // A JSON string value is stored as its JSON text, as daprd does over HTTP.
      assert.equal((await get(`/v1.0/state/${store}/str`)).text, '"hello"');
      assert.equal((await get(`/v1.0/state/${store}/num`)).text, '42');
      const missing = await get(`/v1.0/state/${store}/nope`);
      assert.equal(missing.status, 204);
      assert.equal(missing.text, '');
    });

    it('saves with PUT too, and accepts consistency and metadata query params', async () => {
      assert.equal(
        (
          await call(sidecar.url, 'PUT', `/v1.0/state/${store}`, [
            { key: 'put', value: 1, options: { consistency: 'strong' } },
          ])
        ).status,
        204,
      );
      assert.equal((await get(`/v1.0/state/${store}/put?consistency=strong&metadata.foo=bar`)).text, '1');
    });

    it('enforces ETags: match saves, mismatch is 409, malformed is 400, delete with If-Match', async () => {
      await post(`/v1.0/state/${store}`, [{ key: 'e', value: 'v1' }]);
      const etag = (await get(`/v1.0/state/${store}/e`)).headers.get('etag') ?? '';
      assert.notEqual(etag, '');
      const stale = store === 'mem' ? String(Number(etag) + 1000) : '00000000-0000-4000-8000-000000000000';
      assertDaprError(
        await post(`/v1.0/state/${store}`, [{ key: 'e', value: 'v2', etag: stale }]),
        409,
        'ERR_STATE_SAVE',
        /failed saving state in state store/,
      );
      assertDaprError(
        await post(`/v1.0/state/${store}`, [{ key: 'e', value: 'v2', etag: 'not-an-etag!' }]),
        400,
        'ERR_STATE_SAVE',
      );
      assert.equal(
        (
          await post(`/v1.0/state/${store}`, [
            { key: 'e', value: 'v2', etag, options: { concurrency: 'first-write' } },
          ])
        ).status,
        204,
      );
      const etag2 = (await get(`/v1.0/state/${store}/e`)).headers.get('etag') ?? '';
      assertDaprError(
        await call(sidecar.url, 'DELETE', `/v1.0/state/${store}/e`, undefined, { 'If-Match': etag }),
        409,
        'ERR_STATE_DELETE',
        /failed deleting state with key e/,
      );
      assertDaprError(
        await call(sidecar.url, 'DELETE', `/v1.0/state/${store}/e`, undefined, {
          'If-Match': 'not-an-etag!',
        }),
        400,
        'ERR_STATE_DELETE',
      );
      assert.equal(
        (
          await call(
            sidecar.url,
            'DELETE',
            `/v1.0/state/${store}/e?concurrency=first-write&consistency=strong`,
            undefined,
            { 'If-Match': etag2 },
          )
        ).status,
        204,
      );
      assert.equal((await get(`/v1.0/state/${store}/e`)).status, 204);
      // Deleting a missing key without an ETag succeeds.
      assert.equal((await call(sidecar.url, 'DELETE', `/v1.0/state/${store}/never`)).status, 204);
    });

    it('applies metadata.ttlInSeconds and reports ttlExpireTime as a metadata header', async () => {
      assert.equal(
        (await post(`/v1.0/state/${store}?metadata.ttlInSeconds=300`, [{ key: 'ttl', value: 1 }])).status,
        204,
      );
      const got = await get(`/v1.0/state/${store}/ttl`);
      assert.equal(got.status, 200);
      assert.match(got.headers.get('metadata.ttlexpiretime') ?? '', /^\d{4}-\d\d-\d\dT/);
      assert.equal(
        (await post(`/v1.0/state/${store}`, [{ key: 'ttl2', value: 1, metadata: { ttlInSeconds: '300' } }]))
          .status,
        204,
      );
      assert.match(
        (await get(`/v1.0/state/${store}/ttl2`)).headers.get('metadata.ttlexpiretime') ?? '',
        /^\d{4}-/,
      );
    });

    it('bulk gets in order, missing keys without data', async () => {
      await post(`/v1.0/state/${store}`, [
        { key: 'b1', value: { x: 1 } },
        { key: 'b2', value: 'two' },
      ]);
      const res = await post(`/v1.0/state/${store}/bulk`, {
        keys: ['b1', 'b2', 'b-missing'],
        parallelism: 2,
      });
      assert.equal(res.status, 200, res.text);
      const items = res.json<{ key: string; data?: unknown; etag?: string }[]>();
      assert.deepEqual(
        items.map((i) => [i.key, i.data]),
        [
          ['b1', { x: 1 }],
          ['b2', 'two'],
          ['b-missing', undefined],
        ],
      );
      assert.ok(items[0]?.etag);
      assert.equal(items[2]?.etag, undefined);
      assert.deepEqual((await post(`/v1.0/state/${store}/bulk`, { keys: [] })).json(), []);
    });

    it('runs transactions atomically', async () => {
      await post(`/v1.0/state/${store}`, [{ key: 't-del', value: 1 }]);
      const ok = await post(`/v1.0/state/${store}/transaction`, {
        operations: [
          { operation: 'upsert', request: { key: 't1', value: { a: 1 } } },
          { operation: 'upsert', request: { key: 't2', value: 'b' } },
          { operation: 'delete', request: { key: 't-del' } },
        ],
        metadata: null,
      });
      assert.equal(ok.status, 204, ok.text);
      assert.deepEqual((await get(`/v1.0/state/${store}/t1`)).json(), { a: 1 });
      assert.equal((await get(`/v1.0/state/${store}/t-del`)).status, 204);
      // A stale ETag fails the whole transaction (daprd: 500 ERR_STATE_TRANSACTION) and nothing is applied.
      const stale = store === 'mem' ? '999999' : '00000000-0000-4000-8000-000000000000';
      const failed = await post(`/v1.0/state/${store}/transaction`, {
        operations: [
          { operation: 'upsert', request: { key: 't3', value: 3 } },
          { operation: 'upsert', request: { key: 't1', value: 'changed', etag: stale } },
        ],
      });
      assertDaprError(failed, 500, 'ERR_STATE_TRANSACTION', /error while executing state transaction/);
      assert.equal((await get(`/v1.0/state/${store}/t3`)).status, 204);
      assertDaprError(
        await post(`/v1.0/state/${store}/transaction`, {
          operations: [{ operation: 'merge', request: { key: 'x' } }],
        }),
        400,
        'ERR_NOT_SUPPORTED_STATE_OPERATION',
        /operation type merge not supported/,
      );
    });

    it("queries (alpha1) this app's JSON values", async () => {
      await post(`/v1.0/state/${store}`, [
        { key: 'q1', value: { city: 'Lyon', rank: 2 } },
        { key: 'q2', value: { city: 'Lyon', rank: 1 } },
        { key: 'q3', value: { city: 'Oslo', rank: 3 } },
      ]);
      const res = await post(`/v1.0-alpha1/state/${store}/query`, {
        filter: { EQ: { city: 'Lyon' } },
        sort: [{ key: 'rank' }],
      });
      assert.equal(res.status, 200, res.text);
      const body = res.json<{ results: { key: string; data: { rank: number } }[] }>();
      assert.deepEqual(
        body.results.map((r) => [r.key, r.data.rank]),
        [
          ['q2', 1],
          ['q1', 2],
        ],
      );
      assert.equal(
        (await post(`/v1.0-alpha1/state/${store}/query`, { filter: { EQ: { city: 'Nowhere' } } })).status,
        204,
      );
      assertDaprError(
        await post(`/v1.0-alpha1/state/${store}/query`, '{"filter":{"LIKE":{"a":1}}}'),
        500,
        'ERR_STATE_QUERY',
        /failed to parse JSON query body/,
      );
    });
  });
}

describe('state API bad input', () => {
  it('malformed JSON is 400 ERR_MALFORMED_REQUEST on save, bulk and transaction', async () => {
    assertDaprError(await post('/v1.0/state/mem', '[{"key":'), 400, 'ERR_MALFORMED_REQUEST');
    assertDaprError(await post('/v1.0/state/mem', '{"key":"a","value":1}'), 400, 'ERR_MALFORMED_REQUEST');
    assertDaprError(
      await post('/v1.0/state/mem/bulk', '{"keys":'),
      400,
      'ERR_MALFORMED_REQUEST',
      /^failed deserializing HTTP body/,
    );
    assertDaprError(
      await post('/v1.0/state/mem/transaction', 'nope'),
      400,
      'ERR_MALFORMED_REQUEST',
      /^failed deserializing HTTP body/,
    );
    assertDaprError(
      await post('/v1.0/state/mem', [{ value: 1 }]),
      400,
      'ERR_MALFORMED_REQUEST',
      /"key" is a required field/,
    );
  });

  it('an unknown store is 400 ERR_STATE_STORE_NOT_FOUND on every route', async () => {
    assertDaprError(
      await get('/v1.0/state/ghost/k'),
      400,
      'ERR_STATE_STORE_NOT_FOUND',
      /state store ghost is not found/,
    );
    assertDaprError(
      await post('/v1.0/state/ghost', [{ key: 'k', value: 1 }]),
      400,
      'ERR_STATE_STORE_NOT_FOUND',
    );
    assertDaprError(
      await call(sidecar.url, 'DELETE', '/v1.0/state/ghost/k'),
      400,
      'ERR_STATE_STORE_NOT_FOUND',
    );
    assertDaprError(await post('/v1.0/state/ghost/bulk', { keys: ['k'] }), 400, 'ERR_STATE_STORE_NOT_FOUND');
    assertDaprError(
      await post('/v1.0/state/ghost/transaction', { operations: [] }),
      400,
      'ERR_STATE_STORE_NOT_FOUND',
    );
    assertDaprError(await post('/v1.0-alpha1/state/ghost/query', {}), 400, 'ERR_STATE_STORE_NOT_FOUND');
  });

  it('keys containing || are 400 ERR_MALFORMED_REQUEST', async () => {
    assertDaprError(
      await post('/v1.0/state/mem', [{ key: 'a||b', value: 1 }]),
      400,
      'ERR_MALFORMED_REQUEST',
      /can't contain '\|\|'/,
    );
    assertDaprError(await get('/v1.0/state/mem/a||b'), 400, 'ERR_MALFORMED_REQUEST');
    assertDaprError(await call(sidecar.url, 'DELETE', '/v1.0/state/mem/a||b'), 400, 'ERR_MALFORMED_REQUEST');
    assertDaprError(
      await post('/v1.0/state/mem/bulk', { keys: ['ok', 'a||b'] }),
      400,
      'ERR_MALFORMED_REQUEST',
    );
    assertDaprError(
      await post('/v1.0/state/mem/transaction', {
        operations: [{ operation: 'upsert', request: { key: 'a||b', value: 1 } }],
      }),
      400,
      'ERR_MALFORMED_REQUEST',
    );
  });

  it("a body above --max-body-size is refused with daprd's read error, and the sidecar keeps serving", async () => {
    const big = [{ key: 'big', value: 'x'.repeat(4096) }];
    assertDaprError(await post('/v1.0/state/mem', big), 400, 'ERR_MALFORMED_REQUEST', /stream too large/);
    assertDaprError(
      await post('/v1.0/state/mem/bulk', { keys: ['k'.repeat(4096)] }),
      400,
      'ERR_MALFORMED_REQUEST',
      /stream too large/,
    );
    assert.equal((await post('/v1.0/state/mem', [{ key: 'small', value: 'x'.repeat(100) }])).status, 204);
  });

  it('strips a trailing slash and answers unknown routes 404', async () => {
    assert.equal((await get('/v1.0/state/mem/small/')).status, 200);
    const unknown = await get('/v1.0/state');
    assert.equal(unknown.status, 404);
  });
});

describe('key prefix strategies', () => {
  it('none and name share keys across app ids; the app key comes back from queries', async () => {
    const other = await startSidecar({ appId: 'otherapp', resourcesPaths: [resources] });
    try {
      assert.equal((await post('/v1.0/state/shared', [{ key: 'plain', value: 1 }])).status, 204);
      assert.equal((await call(other.url, 'GET', '/v1.0/state/shared/plain')).text, '1');
      assert.equal((await post('/v1.0/state/byname', [{ key: 'k', value: { v: 2 } }])).status, 204);
      assert.deepEqual((await call(other.url, 'GET', '/v1.0/state/byname/k')).json(), { v: 2 });
      const q = await call(other.url, 'POST', '/v1.0-alpha1/state/byname/query', {});
      assert.deepEqual(
        q.json<{ results: { key: string }[] }>().results.map((r) => r.key),
        ['k'],
      );
    } finally {
      await other.stop();
    }
  });

  it('appid prefixes are invisible to another app on a shared SQLite file', async () => {
    const other = await startSidecar({ appId: 'otherapp2', resourcesPaths: [resources] });
    try {
      assert.equal((await post('/v1.0/state/lite', [{ key: 'mine', value: 'stateapp' }])).status, 204);
      assert.equal((await call(other.url, 'GET', '/v1.0/state/lite/mine')).status, 204);
      assert.equal(
        (await call(other.url, 'POST', '/v1.0/state/lite', [{ key: 'mine', value: 'other' }])).status,
        204,
      );
      assert.equal((await get('/v1.0/state/lite/mine')).text, '"stateapp"');
      assert.equal((await call(other.url, 'GET', '/v1.0/state/lite/mine')).text, '"other"');
    } finally {
      await other.stop();
    }
  });
});
