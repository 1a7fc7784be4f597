import { readdir, readFile, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { stringify } from 'yaml';
import type { ComponentResource } from '../spec/component.js';
import { type ConfigurationResource, defaultConfiguration } from '../spec/configuration.js';
import type { HttpEndpointResource } from '../spec/http-endpoint.js';
import { ResourceError, type ResourceProblem } from '../spec/problems.js';
import type { ResiliencyResource } from '../spec/resiliency.js';
import { parseResourceFile, type Resource } from '../spec/resources.js';
import type { SubscriptionResource } from '../spec/subscription.js';
import type { RuntimeMode } from './options.js';

/** Resources read from `--resources-path` folders, grouped by kind, in file order. */
export interface ResourceSet {
  readonly components: readonly ComponentResource[];
  readonly subscriptions: readonly SubscriptionResource[];
  readonly resiliencies: readonly ResiliencyResource[];
  readonly httpEndpoints: readonly HttpEndpointResource[];
}

async function filesOf(path: string, problems: ResourceProblem[]): Promise<string[]> {
  let info: Awaited<ReturnType<typeof stat>>;
  try {
    info = await stat(path);
  } catch (err) {
    problems.push({
      file: path,
      resource: '(resources path)',
      field: '--resources-path',
      rule: `cannot be read: ${(err as Error).message}`,
    });
    return [];
  }
  if (info.isFile()) return [path];
  // Non-recursive, like daprd's standalone loader; sorted for a stable load order.
  const entries = await readdir(path, { withFileTypes: true });
  return entries
    .filter((e) => e.isFile() && ['.yaml', '.yml'].includes(extname(e.name).toLowerCase()))
    .map((e) => join(path, e.name))
    .sort();
}

async function readAll(
  paths: readonly string[],
  problems: ResourceProblem[],
  transform: (text: string) => string = (text) => text,
): Promise<Resource[]> {
  const out: Resource[] = [];
  for (const dir of paths) {
    for (const file of await filesOf(dir, problems)) {
      const parsed = parseResourceFile(file, transform(await readFile(file, 'utf8')));
      out.push(...parsed.resources);
      problems.push(...parsed.problems);
    }
  }
  return out;
}

/** Reads every resources path; throws `ResourceError` with every problem found. */
export async function readResources(paths: readonly string[]): Promise<ResourceSet> {
  const problems: ResourceProblem[] = [];
  const all = await readAll(paths, problems);
  if (problems.length > 0) throw new ResourceError(problems);
  return {
    components: all.filter((r): r is ComponentResource => r.kind === 'Component'),
    subscriptions: all.filter((r): r is SubscriptionResource => r.kind === 'Subscription'),
    resiliencies: all.filter((r): r is ResiliencyResource => r.kind === 'Resiliency'),
    httpEndpoints: all.filter((r): r is HttpEndpointResource => r.kind === 'HTTPEndpoint'),
  };
}

/**
 * Reads the Configuration named by `--config` (file paths in standalone mode). Several files are
 * applied in order onto one Configuration, as daprd decodes each onto the same struct: a mapping
 * merges key by key, a list or a scalar given later replaces the earlier one. None → daprd's
 * defaults. In Kubernetes mode `--config` names a Configuration resource served by the operator;
 * until that stream is wired, a name that is not a file yields the defaults under that name
 * (`source` says so) instead of failing the start.
 */
export async function readConfiguration(
  paths: readonly string[],
  mode: RuntimeMode = 'standalone',
  env: Readonly<Record<string, string | undefined>> = process.env,
): Promise<ConfigurationResource> {
  if (paths.length === 0) return defaultConfiguration();
  const first = paths[0] ?? '';
  if (mode === 'kubernetes' && !(await isFile(first))) {
    return { ...defaultConfiguration(), name: first, source: KUBERNETES_CONFIG_SOURCE };
  }
  const problems: ResourceProblem[] = [];
  const read: ConfigurationResource[] = [];
  for (const path of paths) {
    const config = (await readAll([path], problems, (text) => expandEnv(text, env))).find(
      (r): r is ConfigurationResource => r.kind === 'Configuration',
    );
    if (config !== undefined) read.push(config);
    else if (problems.length === 0)
      problems.push({
        file: path,
        resource: '(config)',
        field: '--config',
        rule: 'contains no dapr.io/v1alpha1 Configuration',
      });
  }
  if (problems.length > 0) throw new ResourceError(problems);
  if (read.length === 1) return read[0] as ConfigurationResource;
  const docs = read.map((c) => ({
    apiVersion: 'dapr.io/v1alpha1',
    kind: 'Configuration',
    metadata: { name: c.name },
    spec: c.spec,
  }));
  const merged = docs.reduce<Record<string, unknown>>((acc, d) => mergeDecoded(acc, d), {});
  const parsed = parseResourceFile(paths.join(', '), stringify(merged));
  if (parsed.problems.length > 0) throw new ResourceError(parsed.problems);
  return parsed.resources[0] as ConfigurationResource;
}

/**
 * Go's `os.ExpandEnv`, which daprd runs over a Configuration file before parsing it: `${NAME}` and
 * `$NAME` become the variable's value (empty when unset), as do the shell's one-character names
 * (`$1`, `$$`, ...); a `$` before anything else stays, and a malformed `${` or `${}` is dropped.
 */
export function expandEnv(text: string, env: Readonly<Record<string, string | undefined>>): string {
  let out = '';
  let i = 0;
  for (let j = 0; j < text.length; j++) {
    if (text[j] !== '$' || j + 1 >= text.length) continue;
    out += text.slice(i, j);
    const [name, width] = shellName(text.slice(j + 1));
    if (name === '' && width === 0) out += '$';
    else if (name !== '') out += env[name] ?? '';
    j += width;
    i = j + 1;
  }
  return out + text.slice(i);
}

const SHELL_SPECIAL = /^[*#$@!?\-0-9]$/;

/** The variable name after a `$`, and how many characters it took (Go's getShellName). */
function shellName(s: string): [string, number] {
  if (s[0] === '{') {
    if (s.length > 2 && SHELL_SPECIAL.test(s[1] ?? '') && s[2] === '}') return [s.slice(1, 2), 3];
    const close = s.indexOf('}', 1);
    if (close === 1) return ['', 2];
    if (close < 0) return ['', 1];
    return [s.slice(1, close), close + 1];
  }
  if (SHELL_SPECIAL.test(s[0] ?? '')) return [s.slice(0, 1), 1];
  const m = /^[A-Za-z0-9_]*/.exec(s);
  const name = m?.[0] ?? '';
  return [name, name.length];
}

/** `next` decoded onto `base` as Go's JSON decoder does onto an existing value. */
function mergeDecoded(base: Record<string, unknown>, next: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(next)) {
    const prev = out[k];
    out[k] = isPlainObject(prev) && isPlainObject(v) ? mergeDecoded(prev, v) : v;
  }
  return out;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** `source` of a Configuration named in Kubernetes mode whose operator stream is not wired yet. */
export const KUBERNETES_CONFIG_SOURCE = '(kubernetes: not read from the operator yet; defaults used)';

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}
