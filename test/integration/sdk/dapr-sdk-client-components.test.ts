import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CommunicationProtocolEnum, DaprClient, LogLevel } from '@dapr/dapr';
import { makeTempDir, removeTempDir } from '../../env/process.js';
import { component, type Sidecar, startSidecar, writeResources } from '../harness.js';

/**
 * The official `@dapr/dapr` DaprClient (HTTP), unchanged, against outriggerd: state with ETags,
 * bulk, transactions and query; secrets; metadata. The sidecar requires an API token, which the
 * SDK sends from its options.
 */

const TOKEN = 'sdk-token';
let dir = '';
let sidecar: Sidecar;
let client: DaprClient;

before(async () => {
  dir = await makeTempDir('sdk');
  const secretsFile = join(dir, 'secrets.json');
  await writeFile(secretsFile, JSON.stringify({ dbPassword: 'pw-1', apiKey: 'key-2' }));
  await writeResources(dir, [
    component('statestore', 'state.sqlite', { connectionString: join(dir, 'state.db') }),
    component('secretstore', 'secretstores.local.file', { secretsFile }),
  ]);
  sidecar = await startSidecar({
    appId: 'sdkapp',
    resourcesPaths: [join(dir, 'resources.yaml')],
    env: { DAPR_API_TOKEN: TOKEN },
  });
  client = new DaprClient({
    daprHost: '127.0.0.1',
    daprPort: String(sidecar.httpPort),
    communicationProtocol: CommunicationProtocolEnum.HTTP,
    daprApiToken: TOKEN,
    logger: { level: LogLevel.Error },
  });
  await client.start();
});

after(async () => {
  await client?.stop();
  await sidecar?.stop();
  await removeTempDir(dir);
});

describe('@dapr/dapr DaprClient over HTTP', () => {
  it('saves, gets and deletes state, honouring ETags', async () => {
    const saved = await client.state.save('statestore', [
      { key: 'order-1', value: { item: 'book', qty: 2 } },
      { key: 'greeting', value: 'hello' },
    ]);
    assert.equal(saved.error, undefined);
    assert.deepEqual(await client.state.get('statestore', 'order-1'), { item: 'book', qty: 2 });
    assert.equal(await client.state.get('statestore', 'greeting'), 'hello');

    const [pair] = await client.state.getBulk('statestore', ['order-1']);
    assert.ok(pair?.etag, 'getBulk returns an etag');
    const updated = await client.state.save('statestore', [
      { key: 'order-1', value: { item: 'book', qty: 3 }, etag: pair.etag },
    ]);
    assert.equal(updated.error, undefined);
    // The old ETag is now stale: the sidecar answers 409 and the SDK reports the error.
    const stale = await client.state.save('statestore', [
      { key: 'order-1', value: { item: 'book', qty: 4 }, etag: pair.etag },
    ]);
    assert.ok(stale.error instanceof Error);
    assert.match(stale.error.message, /409/);
    const staleDelete = await client.state.delete('statestore', 'order-1', { etag: pair.etag });
    assert.ok(staleDelete.error instanceof Error);
    assert.deepEqual(await client.state.get('statestore', 'order-1'), { item: 'book', qty: 3 });

    const [fresh] = await client.state.getBulk('statestore', ['order-1']);
    const deleted = await client.state.delete('statestore', 'order-1', { etag: fresh?.etag });
    assert.equal(deleted.error, undefined);
    assert.equal(await client.state.get('statestore', 'order-1'), '');
  });

  it('gets in bulk, missing keys included', async () => {
    await client.state.save('statestore', [
      { key: 'b1', value: 1 },
      { key: 'b2', value: { two: 2 } },
    ]);
    const items = await client.state.getBulk('statestore', ['b1', 'b2', 'b-missing']);
    assert.deepEqual(
      items.map((i) => [i.key, (i as { data?: unknown }).data]),
      [
        ['b1', 1],
        ['b2', { two: 2 }],
        ['b-missing', undefined],
      ],
    );
  });

  it('runs a transaction', async () => {
    await client.state.save('statestore', [{ key: 'tx-old', value: 'old' }]);
    await client.state.transaction('statestore', [
      { operation: 'upsert', request: { key: 'tx-new', value: { ok: true } } },
      { operation: 'delete', request: { key: 'tx-old' } },
    ]);
    assert.deepEqual(await client.state.get('statestore', 'tx-new'), { ok: true });
    assert.equal(await client.state.get('statestore', 'tx-old'), '');
  });

  it('queries state (alpha1)', async () => {
    await client.state.save('statestore', [
      { key: 'p1', value: { city: 'Rome', n: 1 } },
      { key: 'p2', value: { city: 'Rome', n: 2 } },
      { key: 'p3', value: { city: 'Nice', n: 3 } },
    ]);
    const res = await client.state.query('statestore', {
      filter: { EQ: { city: 'Rome' } },
      sort: [{ key: 'n', order: 'DESC' }],
      page: { limit: 10 },
    });
    assert.deepEqual(
      res.results.map((r) => r.key),
      ['p2', 'p1'],
    );
  });

  it('reads secrets one by one and in bulk', async () => {
    assert.deepEqual(await client.secret.get('secretstore', 'dbPassword'), { dbPassword: 'pw-1' });
    assert.deepEqual(await client.secret.getBulk('secretstore'), {
      dbPassword: { dbPassword: 'pw-1' },
      apiKey: { apiKey: 'key-2' },
    });
  });

  it('gets and sets metadata', async () => {
    assert.equal(await client.metadata.set('team', 'platform'), true);
    const md = await client.metadata.get();
    assert.equal(md.id, 'sdkapp');
    assert.equal(md.extended.team, 'platform');
    assert.ok(md.components.some((c) => c.name === 'statestore' && c.type === 'state.sqlite'));
    assert.equal(await client.health.isHealthy(), true);
  });
});
