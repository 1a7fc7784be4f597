import type { ComponentResource } from '../spec/component.js';
import { formatProblem, ResourceError } from '../spec/problems.js';
import { type LoadedComponents, type LoaderOptions, loadComponents, selectComponents } from './loader.js';

/**
 * Hot reload of components (daprd's `HotReload` feature, pkg/runtime/hotreload): compares the
 * components now on disk with the loaded ones and closes removed ones, re-creates changed ones
 * (close, then init the new definition) and loads new ones. A component that fails to load is
 * logged and left out; the others keep serving.
 */

/** What one reconcile did, by component name. */
export interface ReloadReport {
  readonly added: readonly string[];
  readonly updated: readonly string[];
  readonly removed: readonly string[];
  readonly failed: readonly string[];
}

function fingerprint(c: ComponentResource): string {
  const { source: _source, ...rest } = c;
  return JSON.stringify(rest);
}

/** Brings `current` in line with `resources`; never throws for a bad component, only logs it. */
export async function reconcileComponents(
  current: LoadedComponents,
  resources: readonly ComponentResource[],
  opts: LoaderOptions,
): Promise<ReloadReport> {
  const log = opts.logger;
  const desired = selectComponents(resources, opts);
  const names = new Set<string>();
  for (const c of desired) {
    if (names.has(c.name)) {
      log.error(`Hot reload skipped: duplicate component name "${c.name}" (${c.source})`);
      return { added: [], updated: [], removed: [], failed: [c.name] };
    }
    names.add(c.name);
  }
  const loadedByName = new Map(current.all.map((c) => [c.name, c.resource]));
  const removed = [...loadedByName.keys()].filter((n) => !names.has(n));
  const changed = desired.filter((c) => {
    const before = loadedByName.get(c.name);
    return before !== undefined && fingerprint(before) !== fingerprint(c);
  });
  const added = desired.filter((c) => !loadedByName.has(c.name));
  for (const name of [...removed, ...changed.map((c) => c.name)]) await current.remove(name);

  // Secret stores first so that new components can resolve secretKeyRefs through them.
  const toLoad = [...changed, ...added].sort(
    (a, b) => Number(!a.type.startsWith('secretstores.')) - Number(!b.type.startsWith('secretstores.')),
  );
  const failed: string[] = [];
  for (const c of toLoad) {
    try {
      const loaded = await loadComponents([c], { ...opts, existingSecretStores: current.secretStores });
      current.merge(loaded);
    } catch (err) {
      failed.push(c.name);
      const detail =
        err instanceof ResourceError ? err.problems.map(formatProblem).join('; ') : (err as Error).message;
      log.error(`Hot reload: component ${c.name} (${c.type}) could not be loaded: ${detail}`);
    }
  }
  const ok = (c: ComponentResource): boolean => !failed.includes(c.name);
  const report = {
    added: added.filter(ok).map((c) => c.name),
    updated: changed.filter(ok).map((c) => c.name),
    removed,
    failed,
  };
  if (report.added.length + report.updated.length + report.removed.length + failed.length > 0) {
    log.info(
      `Hot reload: added [${report.added.join(', ')}], updated [${report.updated.join(', ')}], removed [${removed.join(', ')}], failed [${failed.join(', ')}]`,
    );
  }
  return report;
}
