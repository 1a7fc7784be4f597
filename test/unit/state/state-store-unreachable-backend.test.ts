import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { it } from 'node:test';
import { openStore } from '../../conformance/state/state-fixtures.js';

/** A port that was free a moment ago, so connecting to it is refused. */
async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const addr = srv.address();
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  assert.ok(addr && typeof addr === 'object');
  return addr.port;
}

it('state.redis init fails fast, naming the component, address and socket error', async () => {
  const port = await closedPort();
  await assert.rejects(
    openStore('state.redis', { redisHost: `127.0.0.1:${port}` }, { name: 'cache' }),
    (err: Error) => {
      assert.match(
        err.message,
        new RegExp(`^state\\.redis cache: cannot connect to 127\\.0\\.0\\.1:${port}: .*ECONNREFUSED`),
      );
      return true;
    },
  );
});

it('state.postgresql init fails fast, naming the component and socket error', async () => {
  const port = await closedPort();
  await assert.rejects(
    openStore(
      'state.postgresql',
      { connectionString: `postgres://u:p@127.0.0.1:${port}/db` },
      { name: 'orders' },
    ),
    (err: Error) => {
      assert.match(err.message, /^state\.postgresql orders: cannot initialise: .*ECONNREFUSED/);
      return true;
    },
  );
});
