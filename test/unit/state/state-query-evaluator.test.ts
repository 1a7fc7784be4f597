import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { QueryCandidate } from '../../../sidecar/components/state/shared/query-evaluator.js';
import {
  compareJson,
  jsonEqual,
  matchesFilter,
  QueryError,
  runQuery,
  valueAtPath,
} from '../../../sidecar/components/state/shared/query-evaluator.js';

const doc = { name: 'ada', age: 36, flags: { admin: true }, tags: ['a', 'b'], nothing: null };

describe('state query evaluator', () => {
  it('reads dotted paths and treats missing segments as missing', () => {
    assert.equal(valueAtPath(doc, 'flags.admin'), true);
    assert.equal(valueAtPath(doc, 'flags.missing'), undefined);
    assert.equal(valueAtPath(doc, 'name.length'), undefined, 'no walking into strings');
    assert.equal(valueAtPath(doc, 'nothing'), null);
    assert.throws(() => valueAtPath(doc, 'a..b'), QueryError);
  });

  it('compares JSON by value, deeply', () => {
    assert.ok(jsonEqual({ a: [1, { b: 2 }] }, { a: [1, { b: 2 }] }));
    assert.ok(!jsonEqual({ a: 1 }, { a: 1, b: 2 }));
    assert.ok(!jsonEqual([1], { 0: 1 }));
    assert.ok(!jsonEqual(1, '1'));
  });

  it('matches EQ/NEQ/IN on any JSON type and orders only like types', () => {
    assert.ok(matchesFilter({ EQ: { tags: ['a', 'b'] } }, doc));
    assert.ok(matchesFilter({ EQ: { nothing: null } }, doc));
    assert.ok(matchesFilter({ NEQ: { age: '36' } }, doc), 'a string is not the number');
    assert.ok(!matchesFilter({ NEQ: { missing: 1 } }, doc), 'a missing field matches nothing, not even NEQ');
    assert.ok(matchesFilter({ IN: { name: ['bob', 'ada'] } }, doc));
    assert.ok(!matchesFilter({ IN: { name: [] } }, doc));
    assert.ok(matchesFilter({ GT: { age: 35.5 } }, doc));
    assert.ok(!matchesFilter({ GT: { age: '1' } }, doc), 'number against string is never ordered');
    assert.ok(matchesFilter({ LTE: { name: 'ada' } }, doc));
    assert.ok(matchesFilter({ AND: [] }, doc));
    assert.ok(!matchesFilter({ OR: [] }, doc));
    assert.throws(() => matchesFilter({ EQ: { a: 1, b: 2 } }, doc), QueryError);
  });

  it('orders types like PostgreSQL JSONB and strings by code point', () => {
    const sorted = [{}, [], true, 2, 'b', null, 1, 'a'].sort(compareJson);
    assert.deepEqual(sorted, [null, 'a', 'b', 1, 2, true, [], {}]);
    assert.ok(compareJson('Z', 'a') < 0, 'upper case before lower case (byte order)');
    assert.ok(compareJson('\u{1F600}', '\uFFFD') > 0, 'astral characters after the BMP');
  });

  it('sorts missing fields last in both directions and pages with offset tokens', () => {
    const items: QueryCandidate<string>[] = [
      { key: 'k1', doc: { n: 2 }, item: 'k1' },
      { key: 'k2', doc: {}, item: 'k2' },
      { key: 'k3', doc: { n: 1 }, item: 'k3' },
      { key: 'k4', doc: { n: 2 }, item: 'k4' },
    ];
    assert.deepEqual(runQuery({ sort: [{ key: 'n', order: 'ASC' }] }, items).items, ['k3', 'k1', 'k4', 'k2']);
    assert.deepEqual(runQuery({ sort: [{ key: 'n', order: 'DESC' }] }, items).items, [
      'k1',
      'k4',
      'k3',
      'k2',
    ]);
    const first = runQuery({ sort: [{ key: 'n', order: 'ASC' }], page: { limit: 3 } }, items);
    assert.deepEqual(first, { items: ['k3', 'k1', 'k4'], token: '3' });
    const second = runQuery({ sort: [{ key: 'n', order: 'ASC' }], page: { limit: 3, token: '3' } }, items);
    assert.deepEqual(second, { items: ['k2'] });
    assert.throws(() => runQuery({ page: { limit: 1, token: 'abc' } }, items), QueryError);
  });
});
