import { openStore } from './state-fixtures.js';
import { runStateConformance } from './state-suite.js';

/** `state.in-memory` against the state conformance suite. */
runStateConformance('state.in-memory', async () => {
  const store = await openStore('state.in-memory', { actorStateStore: 'true' });
  return { store, cleanup: () => store.close() };
}, ['ETAG', 'TRANSACTIONAL', 'TTL', 'QUERY_API', 'ACTOR']);
