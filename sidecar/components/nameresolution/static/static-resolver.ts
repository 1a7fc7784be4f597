/**
 * A fixed table of app id → addresses, for tests and for pinning a target without discovery.
 * Configuration: each key is an app id (or `<app-id>.<namespace>`), each value a comma-separated
 * list of `host:port` internal gRPC addresses.
 */

import type { ComponentInit } from '../../component.js';
import type { MetadataSchema } from '../../metadata-schema.js';
import type { NameResolver, ResolveRequest } from '../name-resolver.js';

/** No fixed fields: every key is an app id. */
export const STATIC_RESOLVER_SCHEMA: MetadataSchema = {};

/** Static table resolver. */
export class StaticResolver implements NameResolver {
  readonly #table = new Map<string, string[]>();

  async init(init: ComponentInit): Promise<void> {
    for (const [k, v] of Object.entries(init.metadata)) {
      this.#table.set(
        k,
        String(v)
          .split(',')
          .map((a) => a.trim())
          .filter((a) => a !== ''),
      );
    }
  }

  async resolve(req: ResolveRequest): Promise<readonly string[]> {
    return this.#table.get(`${req.appId}.${req.namespace}`) ?? this.#table.get(req.appId) ?? [];
  }

  async close(): Promise<void> {}
}
