import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CommunicationProtocolEnum, DaprClient, LogLevel } from '@dapr/dapr';
import { makeTempDir, removeTempDir } from '../../env/process.js';
import { component, type Sidecar, startSidecar, writeResources } from '../harness.js';

/**
 * The official `@dapr/dapr` DaprClient, unchanged, over HTTP and over gRPC (its ConnectRPC
 * transport), against outriggerd: state with ETags, bulk, transactions and query; secrets;
 * metadata. The sidecar requires an API token, which the SDK sends from its options.
 */

const TOKEN = 'sdk-token';
let dir = '';
let sidecar: Sidecar;

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
});

after(async () => {
  await sidecar?.stop();
  await removeTempDir(dir);
});

/** The error a state call reported: returned in its result (HTTP) or thrown (gRPC). */
async function failureOf(call: Promise<{ error?: Error | undefined } | undefined>): Promise<Error> {
  let result: { error?: Error | undefined } | undefined;
  try {
    result = await call;
  } catch (err) {
    assert.ok(err instanceof Error);
    return err;
  }
  assert.ok(result?.error instanceof Error, 'the call should have failed');
  return result.error;
}

for (const protocol of [CommunicationProtocolEnum.HTTP, CommunicationProtocolEnum.GRPC]) {
  const grpc = protocol === CommunicationProtocolEnum.GRPC;
  let client: DaprClient;
  /** Keys of this protocol's run, so the two runs share one store without meeting. */
  const k = (key: string): string => `${grpc ? 'g' : 'h'}-${key}`;

  describe(`@dapr/dapr DaprClient over ${grpc ? 'gRPC' : 'HTTP'}`, () => {
    before(async () => {
      client = new DaprClient({
        daprHost: '127.0.0.1',
        daprPort: String(grpc ? sidecar.grpcPort : sidecar.httpPort),
        communicationProtocol: protocol,
        daprApiToken: TOKEN,
        logger: { level: LogLevel.Error },
      });
      await client.start();
    });

    after(async () => {
      await client?.stop();
    });

    it('saves, gets and deletes state, honouring ETags', async () => {
      const saved = await client.state.save('statestore', [
        { key: k('order-1'), value: { item: 'book', qty: 2 } },
        { key: k('greeting'), value: 'hello' },
      ]);
      assert.equal(saved.error, undefined);
      assert.deepEqual(await client.state.get('statestore', k('order-1')), { item: 'book', qty: 2 });
      assert.equal(await client.state.get('statestore', k('greeting')), 'hello');

      const [pair] = await client.state.getBulk('statestore', [k('order-1')]);
      assert.ok(pair?.etag, 'getBulk returns an etag');
      const updated = await client.state.save('statestore', [
        { key: k('order-1'), value: { item: 'book', qty: 3 }, etag: pair.etag },
      ]);
      assert.equal(updated.error, undefined);
      // The old ETag is now stale: the sidecar answers 409 (HTTP) or Aborted (gRPC). The SDK
      // returns the error over HTTP and throws it over gRPC.
      const stale = await failureOf(
        client.state.save('statestore', [
          { key: k('order-1'), value: { item: 'book', qty: 4 }, etag: pair.etag },
        ]),
      );
      assert.match(stale.message, grpc ? /possible etag mismatch/ : /409/);
      const staleDelete = await failureOf(
        client.state.delete('statestore', k('order-1'), { etag: pair.etag }),
      );
      assert.match(staleDelete.message, grpc ? /possible etag mismatch/ : /409/);
      assert.deepEqual(await client.state.get('statestore', k('order-1')), { item: 'book', qty: 3 });

      const [fresh] = await client.state.getBulk('statestore', [k('order-1')]);
      const deleted = await client.state.delete('statestore', k('order-1'), { etag: fresh?.etag });
      assert.equal(deleted.error, undefined);
      assert.equal(await client.state.get('statestore', k('order-1')), '');
    });

    it('gets in bulk, missing keys included', async () => {
      await client.state.save('statestore', [
        { key: k('b1'), value: 1 },
        { key: k('b2'), value: { two: 2 } },
      ]);
      const items = await client.state.getBulk('statestore', [k('b1'), k('b2'), k('b-missing')]);
      assert.deepEqual(
        items.map((i) => [i.key, (i as { data?: unknown }).data]),
        [
          [k('b1'), 1],
          [k('b2'), { two: 2 }],
          [k('b-missing'), grpc ? '' : undefined], // the SDK's gRPC client decodes no data as ''
        ],
      );
    });

    it('runs a transaction', async () => {
      await client.state.save('statestore', [{ key: k('tx-old'), value: 'old' }]);
      await client.state.transaction('statestore', [
        // The SDK's gRPC client sends a transaction's values as they are: it takes strings only.
        { operation: 'upsert', request: { key: k('tx-new'), value: grpc ? '{"ok":true}' : { ok: true } } },
        { operation: 'delete', request: { key: k('tx-old') } },
      ]);
      assert.deepEqual(await client.state.get('statestore', k('tx-new')), { ok: true });
      assert.equal(await client.state.get('statestore', k('tx-old')), '');
    });

    it('queries state (alpha1)', async () => {
      await client.state.save('statestore', [
        { key: k('p1'), value: { city: k('Rome'), n: 1 } },
        { key: k('p2'), value: { city: k('Rome'), n: 2 } },
        { key: k('p3'), value: { city: k('Nice'), n: 3 } },
      ]);
      const res = await client.state.query('statestore', {
        filter: { EQ: { city: k('Rome') } },
        sort: [{ key: 'n', order: 'DESC' }],
        page: { limit: 10 },
      });
      assert.deepEqual(
        res.results.map((r) => r.key),
        [k('p2'), k('p1')],
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
}
