/**
 * The caller's cache of name-resolution results. A list is reused for `ttlMs`; after that the
 * next call still gets it at once while one resolution refreshes it in the background, so no
 * call waits on the resolver (a directory read, a DNS query) once an app has been resolved.
 * Concurrent resolutions of one app are shared. A refresh that fails or finds nothing drops the
 * entry, and the next call waits for the resolver and sees its answer or its error.
 */
import type { NameResolver } from '../components/nameresolution/name-resolver.js';

/** Options of `AddressCache`. */
export interface AddressCacheOptions {
  readonly resolver: NameResolver;
  /** The caller's internal gRPC port, passed to the resolver. */
  readonly port: number;
  /** How long a list is served without a refresh (ms). */
  readonly ttlMs: number;
  /** Milliseconds now (tests pass their own). */
  readonly now?: () => number;
}

interface Entry {
  readonly addresses: readonly string[];
  readonly until: number;
}

/** Resolved addresses per `appId.namespace`. */
export class AddressCache {
  readonly #o: AddressCacheOptions;
  readonly #now: () => number;
  readonly #entries = new Map<string, Entry>();
  readonly #inFlight = new Map<string, Promise<readonly string[]>>();

  constructor(options: AddressCacheOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
  }

  /**
   * The app's addresses, possibly empty. `fresh` skips the cached list (an instance in it was
   * unreachable) and waits for the resolver.
   */
  addresses(
    appId: string,
    namespace: string,
    fresh: boolean,
  ): Promise<readonly string[]> | readonly string[] {
    const key = `${appId}.${namespace}`;
    const hit = this.#entries.get(key);
    if (fresh || hit === undefined) return this.#resolve(key, appId, namespace);
    if (hit.until <= this.#now()) this.#resolve(key, appId, namespace).catch(() => undefined);
    return hit.addresses;
  }

  /** One resolution per key at a time; its answer replaces the entry. */
  #resolve(key: string, appId: string, namespace: string): Promise<readonly string[]> {
    const running = this.#inFlight.get(key);
    if (running !== undefined) return running;
    const p = this.#o.resolver
      .resolve({ appId, namespace, port: this.#o.port })
      .then(
        (addresses) => {
          if (addresses.length > 0) this.#entries.set(key, { addresses, until: this.#now() + this.#o.ttlMs });
          else this.#entries.delete(key);
          return addresses;
        },
        (err: unknown) => {
          this.#entries.delete(key);
          throw err;
        },
      )
      .finally(() => this.#inFlight.delete(key));
    this.#inFlight.set(key, p);
    return p;
  }
}
