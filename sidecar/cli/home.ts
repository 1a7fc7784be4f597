/**
 * The CLI's home folder (`~/.outrigger`, or `$OUTRIGGER_HOME`): embedded default components, their
 * data and the registry of running apps. Layout:
 *   components/  default resources passed as `--resources-path` when the user gives none
 *   data/        SQLite files of the embedded defaults
 *   run/         one `<app-id>.json` per running `outrigger run`
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

/** Env var that moves the home folder (tests always set it to a temp dir). */
export const HOME_ENV = 'OUTRIGGER_HOME';

/** Paths inside the home folder. */
export interface OutriggerHome {
  readonly root: string;
  readonly componentsDir: string;
  readonly dataDir: string;
  readonly runDir: string;
}

/** Resolves the home folder from `env` (no I/O). */
export function resolveHome(env: NodeJS.ProcessEnv = process.env): OutriggerHome {
  const override = env[HOME_ENV];
  const root = override !== undefined && override !== '' ? resolve(override) : join(homedir(), '.outrigger');
  return {
    root,
    componentsDir: join(root, 'components'),
    dataDir: join(root, 'data'),
    runDir: join(root, 'run'),
  };
}

/** The default state store: SQLite in the data folder, usable for actors too. */
export function defaultStateStoreYaml(home: OutriggerHome): string {
  const db = join(home.dataDir, 'state.db');
  return [
    '# Written by `outrigger run` on first use: the embedded default state store.',
    'apiVersion: dapr.io/v1alpha1',
    'kind: Component',
    'metadata:',
    '  name: statestore',
    'spec:',
    '  type: state.sqlite',
    '  version: v1',
    '  metadata:',
    '  - name: connectionString',
    `    value: ${JSON.stringify(db)}`,
    '  - name: actorStateStore',
    '    value: "true"',
    '',
  ].join('\n');
}

/**
 * Creates the folders and writes the default components that do not exist yet (never overwrites a
 * file the user may have edited). Returns the components folder.
 */
export async function ensureDefaults(home: OutriggerHome): Promise<string> {
  await mkdir(home.componentsDir, { recursive: true });
  await mkdir(home.dataDir, { recursive: true });
  await mkdir(home.runDir, { recursive: true });
  try {
    await writeFile(join(home.componentsDir, 'statestore.yaml'), defaultStateStoreYaml(home), { flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  return home.componentsDir;
}
