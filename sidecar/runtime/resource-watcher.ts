import { type FSWatcher, watch } from 'node:fs';
import type { Logger } from '../components/component.js';

/**
 * Watches the `--resources-path` folders and calls `onChange` once per burst of file events
 * (debounced), never twice at the same time. Used by hot reload.
 */
export class ResourceWatcher {
  readonly #paths: readonly string[];
  readonly #onChange: () => Promise<void>;
  readonly #log: Logger;
  readonly #debounceMs: number;
  readonly #watchers: FSWatcher[] = [];
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> = Promise.resolve();
  #closed = false;

  constructor(paths: readonly string[], onChange: () => Promise<void>, log: Logger, debounceMs = 250) {
    this.#paths = paths;
    this.#onChange = onChange;
    this.#log = log;
    this.#debounceMs = debounceMs;
  }

  /** Starts watching; a folder that cannot be watched is logged and skipped. */
  start(): void {
    for (const path of this.#paths) {
      try {
        const w = watch(path, { persistent: false }, () => this.#schedule());
        w.on('error', (err) => this.#log.warn(`Watching ${path} failed: ${err.message}`));
        this.#watchers.push(w);
      } catch (err) {
        this.#log.warn(`Cannot watch ${path} for hot reload: ${(err as Error).message}`);
      }
    }
  }

  #schedule(): void {
    if (this.#closed) return;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#running = this.#running.then(async () => {
        if (this.#closed) return;
        try {
          await this.#onChange();
        } catch (err) {
          this.#log.error(`Hot reload failed: ${(err as Error).message}`);
        }
      });
    }, this.#debounceMs);
  }

  /** Stops watching and waits for a reload in progress. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    for (const w of this.#watchers) w.close();
    await this.#running;
  }
}
