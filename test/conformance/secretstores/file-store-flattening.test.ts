import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { MetadataValidationError } from '../../../sidecar/components/metadata-schema.js';
import { makeTempDir, removeTempDir } from '../../env/process.js';
import { openStore } from './subjects.js';

const TYPE = 'secretstores.local.file';
const NESTED = {
  redisPassword: 'pw',
  connectionStrings: { sql: 'sql-cs', mysql: 'mysql-cs' },
  deep: { a: { b: 'ab' } },
  list: ['zero', 'one'],
  port: 6379,
  enabled: true,
};

let dir = '';
let file = '';

before(async () => {
  dir = await makeTempDir('secrets-flat');
  file = join(dir, 'secrets.json');
  await writeFile(file, JSON.stringify(NESTED));
});

after(async () => {
  await removeTempDir(dir);
});

test('nested objects and arrays flatten with the default ":" separator', async () => {
  const store = await openStore(TYPE, { secretsFile: file });
  assert.deepEqual(await store.getSecret('connectionStrings:sql', {}), { 'connectionStrings:sql': 'sql-cs' });
  assert.deepEqual(await store.getSecret('deep:a:b', {}), { 'deep:a:b': 'ab' });
  assert.deepEqual(await store.getSecret('list:1', {}), { 'list:1': 'one' });
  assert.deepEqual(await store.getSecret('port', {}), { port: '6379' });
  assert.deepEqual(await store.getSecret('enabled', {}), { enabled: 'true' });
  assert.equal(await store.getSecret('connectionStrings', {}), undefined);
  const bulk = await store.bulkGetSecret({});
  assert.deepEqual(Object.keys(bulk).sort(), [
    'connectionStrings:mysql',
    'connectionStrings:sql',
    'deep:a:b',
    'enabled',
    'list:0',
    'list:1',
    'port',
    'redisPassword',
  ]);
  assert.deepEqual(bulk.redisPassword, { redisPassword: 'pw' });
  await store.close();
});

test('a custom nestedSeparator joins the keys', async () => {
  const store = await openStore(TYPE, { secretsFile: file, nestedSeparator: '.' });
  assert.deepEqual(await store.getSecret('deep.a.b', {}), { 'deep.a.b': 'ab' });
  assert.equal(await store.getSecret('deep:a:b', {}), undefined);
  await store.close();
});

test('an empty nestedSeparator falls back to ":"', async () => {
  const store = await openStore(TYPE, { secretsFile: file, nestedSeparator: '' });
  assert.deepEqual(await store.getSecret('deep:a:b', {}), { 'deep:a:b': 'ab' });
  await store.close();
});

test('multiValued makes top-level objects multi-key secrets', async () => {
  const mv = join(dir, 'multi.json');
  await writeFile(
    mv,
    JSON.stringify({
      single: 'one',
      parent: { child1: '12345', child2: { child3: '67890', child4: '00000' } },
    }),
  );
  const store = await openStore(TYPE, { secretsFile: mv, multiValued: 'true' });
  assert.ok(store.features.has('MULTIPLE_KEY_VALUES_PER_SECRET'));
  const expected = { child1: '12345', 'child2:child3': '67890', 'child2:child4': '00000' };
  assert.deepEqual(await store.getSecret('parent', {}), expected);
  assert.deepEqual(await store.getSecret('single', {}), { single: 'one' });
  assert.deepEqual(await store.bulkGetSecret({}), { parent: expected, single: { single: 'one' } });
  assert.equal(await store.getSecret('parent:child1', {}), undefined);
  await store.close();
});

test('a relative secretsFile resolves against the working directory', async () => {
  const sub = join(dir, 'cwd');
  await mkdir(sub, { recursive: true });
  await writeFile(join(sub, 'rel.json'), JSON.stringify({ rel: 'yes' }));
  const previous = process.cwd();
  process.chdir(sub);
  try {
    const store = await openStore(TYPE, { secretsFile: 'rel.json' });
    assert.deepEqual(await store.getSecret('rel', {}), { rel: 'yes' });
    await store.close();
  } finally {
    process.chdir(previous);
  }
});

test('missing secretsFile metadata is rejected by the schema', async () => {
  await assert.rejects(openStore(TYPE, {}), (err: unknown) => {
    assert.ok(err instanceof MetadataValidationError);
    assert.deepEqual(err.problems, [{ field: 'secretsFile', rule: 'is required' }]);
    return true;
  });
});

test('an unreadable or non-object secrets file fails init naming the file', async () => {
  await assert.rejects(openStore(TYPE, { secretsFile: join(dir, 'absent.json') }), /absent\.json/);
  const arr = join(dir, 'array.json');
  await writeFile(arr, '[1,2]');
  await assert.rejects(openStore(TYPE, { secretsFile: arr }), /must hold a JSON object/);
  const bad = join(dir, 'bad.json');
  await writeFile(bad, '{not json');
  await assert.rejects(openStore(TYPE, { secretsFile: bad }), /cannot read secrets file/);
});
