import type { ComponentInfo, LoadedSecretStore, LoadedStateStore } from '../api/universal/context.js';
import type { SecretStore } from '../secrets/secret-store.js';
import type { ComponentResource } from '../spec/component.js';
import type { StateStore } from '../state/state-store.js';
import type { Component, ComponentRegistration, Logger } from './component.js';

/** One component that loaded. */
export interface LoadedComponent {
  readonly name: string;
  readonly type: string;
  readonly version: string;
  readonly kind: ComponentRegistration['kind'];
  readonly component: Component;
  readonly capabilities: readonly string[];
  /** The resource it was loaded from (hot reload compares against it). */
  readonly resource: ComponentResource;
}

/** What the loader hands back: typed maps for the API, plus lifecycle. */
export interface LoadedComponents {
  readonly stateStores: Map<string, LoadedStateStore>;
  readonly secretStores: Map<string, LoadedSecretStore>;
  /** In load order. */
  readonly all: readonly LoadedComponent[];
  /** Component infos for `/v1.0/metadata`. */
  infos(): ComponentInfo[];
  /** Closes every component in reverse load order; errors are logged, not thrown. */
  closeAll(): Promise<void>;
  /** Closes one component and forgets it (hot reload). */
  remove(name: string): Promise<void>;
  /** Takes over the components of another set (hot reload adds what it loaded). */
  merge(other: LoadedComponents): void;
}

/** The mutable set behind `LoadedComponents` (the loader fills it; hot reload edits it). */
export class LoadedSet implements LoadedComponents {
  readonly stateStores = new Map<string, LoadedStateStore>();
  readonly secretStores = new Map<string, LoadedSecretStore>();
  readonly all: LoadedComponent[] = [];
  readonly #log: Logger;

  constructor(log: Logger) {
    this.#log = log;
  }

  /** Adds a loaded component; state stores carry their key-prefix settings. */
  add(entry: LoadedComponent, state: Pick<LoadedStateStore, 'keyPrefix' | 'actorStateStore'>): void {
    const base = { name: entry.name, type: entry.type, version: entry.version };
    if (entry.kind === 'state') {
      this.stateStores.set(entry.name, { ...base, store: entry.component as StateStore, ...state });
    } else if (entry.kind === 'secretstores') {
      this.secretStores.set(entry.name, { ...base, store: entry.component as SecretStore });
    }
    this.all.push(entry);
  }

  async remove(name: string): Promise<void> {
    const index = this.all.findIndex((c) => c.name === name);
    const entry = this.all[index];
    if (entry === undefined) return;
    this.all.splice(index, 1);
    this.stateStores.delete(name);
    this.secretStores.delete(name);
    try {
      await entry.component.close();
      this.#log.info(`Component closed: ${entry.name} (${entry.type})`);
    } catch (err) {
      this.#log.warn(`Error closing component ${entry.name} (${entry.type}): ${(err as Error).message}`);
    }
  }

  merge(other: LoadedComponents): void {
    for (const c of other.all) this.all.push(c);
    for (const [k, v] of other.stateStores) this.stateStores.set(k, v);
    for (const [k, v] of other.secretStores) this.secretStores.set(k, v);
  }

  infos(): ComponentInfo[] {
    return this.all.map((c) => ({
      name: c.name,
      type: c.type,
      version: c.version,
      capabilities: c.capabilities,
    }));
  }

  async closeAll(): Promise<void> {
    for (const c of [...this.all].reverse()) {
      try {
        await c.component.close();
        this.#log.debug(`Component closed: ${c.name} (${c.type})`);
      } catch (err) {
        this.#log.warn(`Error closing component ${c.name} (${c.type}): ${(err as Error).message}`);
      }
    }
    this.all.length = 0;
    this.stateStores.clear();
    this.secretStores.clear();
  }
}
