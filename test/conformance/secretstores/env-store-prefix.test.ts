import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { openStore, RecordingLogger } from './subjects.js';

const TYPE = 'secretstores.local.env';
const PREFIX = `OUTRIGGER_ENVTEST_${process.pid}_`;
const SET = {
  [`${PREFIX}alpha`]: 'a-value',
  [`${PREFIX}beta`]: 'b-value',
  [`OTHER_${process.pid}_gamma`]: 'g-value',
};

before(() => {
  Object.assign(process.env, SET);
});

after(() => {
  for (const name of Object.keys(SET)) delete process.env[name];
});

test('with a prefix, get reads PREFIX+name and answers under the bare name', async () => {
  const store = await openStore(TYPE, { prefix: PREFIX });
  assert.deepEqual(await store.getSecret('alpha', {}), { alpha: 'a-value' });
  assert.deepEqual(await store.bulkGetSecret({}), { alpha: { alpha: 'a-value' }, beta: { beta: 'b-value' } });
  await store.close();
});

test('without a prefix every variable is a secret, read live', async () => {
  const store = await openStore(TYPE, {});
  const name = `OTHER_${process.pid}_gamma`;
  assert.deepEqual(await store.getSecret(name, {}), { [name]: 'g-value' });
  process.env[name] = 'changed';
  assert.deepEqual(await store.getSecret(name, {}), { [name]: 'changed' });
  const bulk = await store.bulkGetSecret({});
  assert.deepEqual(bulk[`${PREFIX}alpha`], { [`${PREFIX}alpha`]: 'a-value' });
  await store.close();
});

test('DAPR_* and APP_API_TOKEN are never served', async () => {
  process.env.DAPR_ENVTEST_SECRET = 'hidden';
  process.env.APP_API_TOKEN = 'hidden-token';
  try {
    const logger = new RecordingLogger();
    const store = await openStore(TYPE, {}, logger);
    assert.deepEqual(await store.getSecret('DAPR_ENVTEST_SECRET', {}), { DAPR_ENVTEST_SECRET: '' });
    assert.deepEqual(await store.getSecret('app_api_token', {}), { app_api_token: '' });
    assert.ok(logger.warnings.length >= 2);
    const bulk = await store.bulkGetSecret({});
    assert.equal(bulk.DAPR_ENVTEST_SECRET, undefined);
    assert.equal(bulk.APP_API_TOKEN, undefined);
    await store.close();
  } finally {
    delete process.env.DAPR_ENVTEST_SECRET;
    delete process.env.APP_API_TOKEN;
  }
});

test('a variable equal to the prefix alone is skipped in bulk', async () => {
  process.env[PREFIX] = 'bare';
  try {
    const store = await openStore(TYPE, { prefix: PREFIX });
    assert.equal(Object.hasOwn(await store.bulkGetSecret({}), ''), false);
    await store.close();
  } finally {
    delete process.env[PREFIX];
  }
});
