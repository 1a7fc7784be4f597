import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { saveState } from '../../../sidecar/api/universal/state.js';
import { parseStateQuery, queryState } from '../../../sidecar/api/universal/state-query.js';
import { isDaprError } from '../../../sidecar/errors/dapr-error.js';
import { makeContext, memoryStore, text, utf8 } from './api-fixture.js';

describe('state query validation', () => {
  it('parses filters, sort and page, stripping a leading value.', () => {
    const q = parseStateQuery({
      filter: { AND: [{ EQ: { 'value.city': 'Paris' } }, { IN: { state: ['A', 'B'] } }] },
      sort: [{ key: 'value.name' }, { key: 'age', order: 'DESC' }],
      page: { limit: 2, token: '4' },
    });
    assert.deepEqual(q, {
      filter: { AND: [{ EQ: { city: 'Paris' } }, { IN: { state: ['A', 'B'] } }] },
      sort: [
        { key: 'name', order: 'ASC' },
        { key: 'age', order: 'DESC' },
      ],
      page: { limit: 2, token: '4' },
    });
    assert.deepEqual(parseStateQuery({ filter: {} }), {});
  });

  for (const [name, bad] of [
    ['unknown operator', { filter: { LIKE: { a: 1 } } }],
    ['two operators', { filter: { EQ: { a: 1 }, NEQ: { b: 2 } } }],
    ['IN without array', { filter: { IN: { a: 1 } } }],
    ['empty AND', { filter: { AND: [] } }],
    ['bad sort order', { sort: [{ key: 'a', order: 'UP' }] }],
    ['negative limit', { page: { limit: -1 } }],
    ['not an object', [1, 2]],
  ] as const) {
    it(`refuses ${name}`, () => {
      assert.throws(() => parseStateQuery(bad));
    });
  }

  it('runs on the in-memory store, only over this app keys, and maps parse errors to 500 ERR_STATE_QUERY', async () => {
    const store = await memoryStore();
    const ctx = await makeContext({ stateStores: [{ name: 's', store }] });
    const other = await makeContext({ appId: 'other', stateStores: [{ name: 's', store }] });
    await saveState(ctx, {
      storeName: 's',
      items: [
        { key: 'p1', value: utf8('{"city":"Paris","n":1}'), metadata: {} },
        { key: 'p2', value: utf8('{"city":"Oslo","n":2}'), metadata: {} },
      ],
    });
    await saveState(other, {
      storeName: 's',
      items: [{ key: 'p3', value: utf8('{"city":"Paris","n":3}'), metadata: {} }],
    });
    const res = await queryState(ctx, {
      storeName: 's',
      query: '{"filter":{"EQ":{"city":"Paris"}}}',
      metadata: {},
    });
    assert.deepEqual(
      res.results.map((r) => [r.key, text(r.data)]),
      [['p1', '{"city":"Paris","n":1}']],
    );
    await assert.rejects(
      queryState(ctx, { storeName: 's', query: '{not json', metadata: {} }),
      (err: unknown) => isDaprError(err) && err.code === 'ERR_STATE_QUERY' && err.httpStatus === 500,
    );
  });
});
