import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { component, writeResources } from '../harness.js';

/** Where the secrets suites' resources and Configuration were written. */
export interface SecretsFixture {
  readonly resources: string;
  readonly config: string;
}

/**
 * The secrets both Secrets API suites read: a secrets file behind two local.file stores (`files`,
 * nested keys joined with ':'; `multi`, multi-valued), plus `extra` components, and a
 * Configuration whose secret scopes deny `hidden` in `files`, plus `extraScopes`.
 */
export async function writeSecretsFixture(
  dir: string,
  extra: { components?: readonly object[]; scopes?: readonly object[] } = {},
): Promise<SecretsFixture> {
  const file = join(dir, 'secrets.json');
  await writeFile(
    file,
    JSON.stringify({ db: { user: 'admin', password: 's3cret' }, apiKey: 'k-123', hidden: 'no' }),
  );
  const resources = await writeResources(dir, [
    component('files', 'secretstores.local.file', { secretsFile: file, nestedSeparator: ':' }),
    component('multi', 'secretstores.local.file', { secretsFile: file, multiValued: 'true' }),
    ...(extra.components ?? []),
  ]);
  const config = await writeResources(
    dir,
    [
      {
        apiVersion: 'dapr.io/v1alpha1',
        kind: 'Configuration',
        metadata: { name: 'secretscopes' },
        spec: {
          secrets: {
            scopes: [
              { storeName: 'files', defaultAccess: 'allow', deniedSecrets: ['hidden'] },
              ...(extra.scopes ?? []),
            ],
          },
        },
      },
    ],
    'config.yaml',
  );
  return { resources, config };
}
