import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { component, type Sidecar, writeResources } from '../harness.js';
import { startAppSidecar } from '../invoke/invoke-fixture.js';

/** The secrets `startSdkCaller`'s secret store holds. */
export const SDK_SECRETS = { apiKey: 'k-123', dbPassword: 'pw-1' } as const;

/**
 * The sidecar of the app that drives an SDK in the compatibility tests: app id `shop`, a SQLite
 * state store `statestore`, a local-file secret store `secretstore` with {@link SDK_SECRETS}, and
 * `DAPR_API_TOKEN` required. Its files go in `home`, which also holds the name-resolution registry.
 */
export async function startSdkCaller(home: string, token: string): Promise<Sidecar> {
  const secretsFile = join(home, 'secrets.json');
  await writeFile(secretsFile, JSON.stringify(SDK_SECRETS));
  const resources = await writeResources(home, [
    component('statestore', 'state.sqlite', { connectionString: join(home, 'state.db') }),
    component('secretstore', 'secretstores.local.file', { secretsFile }),
  ]);
  return startAppSidecar(home, {
    appId: 'shop',
    resourcesPaths: [resources],
    env: { DAPR_API_TOKEN: token },
  });
}
