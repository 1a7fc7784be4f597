import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { StateStore } from '../../../sidecar/state/state-store.js';
import { openStore } from './state-fixtures.js';
import { runStateConformance } from './state-suite.js';

/**
 * `state.sqlite` against the state conformance suite. The default connection string (a file in
 * the data dir) is used, and peers open the same file, as sidecars on one machine do.
 */
runStateConformance('state.sqlite', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'outrigger-sqlite-'));
  const metadata = { cleanupInterval: '1s', actorStateStore: 'true' };
  const store = await openStore('state.sqlite', metadata, { dataDir });
  const peers: StateStore[] = [];
  return {
    store,
    peer: async () => {
      const p = await openStore('state.sqlite', {
        ...metadata,
        connectionString: `file:${join(dataDir, 'state.db')}`,
      });
      peers.push(p);
      return p;
    },
    cleanup: async () => {
      await store.close();
      for (const p of peers) await p.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}, ['ETAG', 'TRANSACTIONAL', 'TTL', 'QUERY_API', 'ACTOR']);
