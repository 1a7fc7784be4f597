import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ComponentInit, Logger } from '../../../sidecar/components/component.js';
import { validateMetadata } from '../../../sidecar/components/metadata-schema.js';
import { STATE_REGISTRATIONS } from '../../../sidecar/components/state/registrations.js';
import type { StateStore } from '../../../sidecar/state/state-store.js';

/** A logger that drops everything (tests assert on behaviour, not logs). */
export const SILENT_LOGGER: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child() {
    return SILENT_LOGGER;
  },
};

/** A short random id so concurrent test runs against one backend never share keys or tables. */
export function uniqueId(): string {
  return randomBytes(5).toString('hex');
}

/** Data folders made for stores opened without one; removed when the test process exits. */
const madeDataDirs: string[] = [];
process.once('exit', () => {
  for (const dir of madeDataDirs) rmSync(dir, { recursive: true, force: true });
});

/** A fresh data folder per store (an embedded store keeps `state.db` in it). */
function newDataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'outrigger-state-'));
  madeDataDirs.push(dir);
  return dir;
}

/**
 * Creates and initialises a state store through its registration, exactly as the runtime will:
 * look up the type, validate raw metadata against the schema, then `init`.
 */
export async function openStore(
  type: string,
  rawMetadata: Record<string, string>,
  options: { name?: string; dataDir?: string } = {},
): Promise<StateStore> {
  const reg = STATE_REGISTRATIONS.find((r) => r.type === type);
  if (!reg) throw new Error(`no state registration for ${type}`);
  const store = reg.create();
  const init: ComponentInit = {
    name: options.name ?? `conformance-${uniqueId()}`,
    type,
    version: reg.versions[0] ?? 'v1',
    metadata: validateMetadata(reg.schema, rawMetadata),
    appId: 'conformance',
    namespace: 'default',
    logger: SILENT_LOGGER,
    dataDir: options.dataDir ?? newDataDir(),
  };
  await store.init(init);
  return store;
}
