/**
 * The standalone default name resolver: no configuration, no server. Each sidecar writes one file
 * `<dir>/<namespace>/<app-id>/<pid>-<port>.json` ({appId, namespace, host, port, pid}) with an
 * atomic rename, and removes it on close; entries whose process is gone are ignored (and pruned).
 * It plays the role of daprd's default mDNS resolver for processes on one machine, whether they
 * were started by `outrigger run` or directly. The directory is `$OUTRIGGER_HOME/nameresolution`
 * (default `~/.outrigger/nameresolution`), passed by the runtime as metadata `registryDir`.
 */
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { processAlive } from '../../../runtime/process-alive.js';
import type { ComponentInit } from '../../component.js';
import type { MetadataSchema } from '../../metadata-schema.js';
import type { NameResolver, ResolveRequest, SelfInstance, SelfRegistering } from '../name-resolver.js';

/** Metadata schema. */
export const LOCAL_REGISTRY_SCHEMA: MetadataSchema = {
  registryDir: {
    type: 'string',
    required: true,
    description: 'Folder shared by the sidecars of this machine',
  },
};

const SAFE = /^[A-Za-z0-9._-]+$/;

/** File-registry resolver for one machine. */
export class LocalRegistryResolver implements NameResolver, SelfRegistering {
  #dir = '';
  #own: string | undefined;

  async init(init: ComponentInit): Promise<void> {
    this.#dir = String(init.metadata.registryDir);
    try {
      await mkdir(this.#dir, { recursive: true });
    } catch (err) {
      // Unwritable home: resolution finds nothing and registration reports its own error.
      init.logger.warn(`name resolution folder ${this.#dir} is not usable: ${(err as Error).message}`);
    }
  }

  async register(self: SelfInstance): Promise<void> {
    if (!SAFE.test(self.appId) || !SAFE.test(self.namespace))
      throw new Error(`app id ${self.appId} or namespace ${self.namespace} cannot be registered`);
    const folder = join(this.#dir, self.namespace, self.appId);
    await mkdir(folder, { recursive: true });
    const file = join(folder, `${self.pid}-${self.port}.json`);
    const tmp = `${file}.${process.pid}.tmp`;
    await writeFile(tmp, JSON.stringify(self));
    await rename(tmp, file);
    this.#own = file;
  }

  async unregister(): Promise<void> {
    if (this.#own !== undefined) await rm(this.#own, { force: true });
    this.#own = undefined;
  }

  async resolve(req: ResolveRequest): Promise<readonly string[]> {
    if (!SAFE.test(req.appId) || !SAFE.test(req.namespace)) return [];
    const folder = join(this.#dir, req.namespace, req.appId);
    let names: string[];
    try {
      names = (await readdir(folder)).filter((n) => n.endsWith('.json')).sort();
    } catch {
      return [];
    }
    const out: string[] = [];
    for (const name of names) {
      try {
        const e = JSON.parse(await readFile(join(folder, name), 'utf8')) as Partial<SelfInstance>;
        if (typeof e.pid !== 'number' || typeof e.port !== 'number' || typeof e.host !== 'string') continue;
        if (!processAlive(e.pid)) {
          await rm(join(folder, name), { force: true });
          continue;
        }
        out.push(`${e.host}:${e.port}`);
      } catch {
        // Half-written or removed meanwhile: skip.
      }
    }
    return out;
  }

  async close(): Promise<void> {
    await this.unregister();
  }
}
