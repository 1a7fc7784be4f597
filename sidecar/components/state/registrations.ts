import type { StateStore } from '../../state/state-store.js';
import type { ComponentRegistration } from '../component.js';
import { MEMORY_SCHEMA, MemoryStateStore } from './memory/memory-store.js';
import { POSTGRESQL_SCHEMA, PostgresqlStateStore } from './postgresql/postgresql-store.js';
import { REDIS_SCHEMA, RedisStateStore } from './redis/redis-store.js';
import { SQLITE_SCHEMA, SqliteStateStore } from './sqlite/sqlite-store.js';

/** Every built-in state store; the runtime concatenates this into its one registry list. */
export const STATE_REGISTRATIONS: readonly ComponentRegistration<StateStore>[] = [
  {
    kind: 'state',
    type: 'state.in-memory',
    versions: ['v1'],
    schema: MEMORY_SCHEMA,
    create: () => new MemoryStateStore(),
  },
  {
    kind: 'state',
    type: 'state.sqlite',
    versions: ['v1'],
    schema: SQLITE_SCHEMA,
    create: () => new SqliteStateStore(),
  },
  {
    kind: 'state',
    type: 'state.redis',
    versions: ['v1'],
    schema: REDIS_SCHEMA,
    create: () => new RedisStateStore(),
  },
  // v2 is contrib's current layout; v1 tables are accepted and upgraded in place (see postgresql-schema.ts).
  {
    kind: 'state',
    type: 'state.postgresql',
    versions: ['v1', 'v2'],
    schema: POSTGRESQL_SCHEMA,
    create: () => new PostgresqlStateStore(),
  },
];
