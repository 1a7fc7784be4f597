/**
 * The `method` and `path` labels of daprd's HTTP metrics, as Configuration `spec.metrics.http`
 * sets them (dapr docs: operations/observability/metrics/metrics-overview):
 * - `increasedCardinality` (default true): an API path with the ids daprd knows of cut out (state
 *   and secret keys, actor ids, workflow instance ids); false: an empty one. A call to the app
 *   keeps its path either way.
 * - `pathMatching`: the first of the given patterns (Go ServeMux syntax: `{name}` matches one
 *   segment, `{name...}` the rest, a trailing `/` a subtree; the most specific one wins) that
 *   matches names the path; a pattern outside `/v1.0/invoke/` also matches under
 *   `/v1.0/invoke/{app_id}/method`. An unmatched path is empty, or the path itself with
 *   `increasedCardinality`.
 * - `excludeVerbs`: an empty method; otherwise a method outside RFC 9110's is `UNKNOWN`.
 */

/** `spec.metrics.http`. */
export interface HttpMetricsSpec {
  readonly increasedCardinality: boolean;
  readonly pathMatching: readonly string[];
  readonly excludeVerbs: boolean;
}

const KNOWN_METHODS = new Set([
  'GET',
  'POST',
  'PUT',
  'DELETE',
  'PATCH',
  'HEAD',
  'OPTIONS',
  'CONNECT',
  'TRACE',
]);

/** Computes the labels of one HTTP request. */
export class HttpMetricLabels {
  readonly #spec: HttpMetricsSpec;
  readonly #patterns: readonly PathPattern[];

  constructor(spec: HttpMetricsSpec) {
    this.#spec = spec;
    const seen = new Set<string>();
    const patterns: PathPattern[] = [];
    const add = (text: string, label: string): void => {
      if (seen.has(text)) return;
      seen.add(text);
      patterns.push(parsePattern(text, label));
    };
    for (const raw of spec.pathMatching) {
      const p = normalizePath(raw);
      add(p, p);
      if (!p.startsWith('/v1.0/invoke/')) {
        const under = normalizePath(`/v1.0/invoke/{app_id}/method${p}`);
        add(under, under);
      }
    }
    this.#patterns = patterns;
  }

  /** The `method` label. */
  method(method: string): string {
    if (this.#spec.excludeVerbs) return '';
    return KNOWN_METHODS.has(method) ? method : 'UNKNOWN';
  }

  /** The `path` label of a Dapr API request path (no query). */
  apiPath(path: string): string {
    if (this.#patterns.length > 0) return this.#matched(path);
    return this.#spec.increasedCardinality ? apiPathLabel(path) : '';
  }

  /**
   * The `path` label of a call to the app: the pattern it matches, else the path itself, in either
   * cardinality (daprd's low-cardinality mode keeps app paths such as `/dapr/config`).
   */
  appPath(path: string): string {
    return this.#patterns.length > 0 ? this.#matched(path, true) : path;
  }

  #matched(path: string, keepUnmatched = this.#spec.increasedCardinality): string {
    const normalized = normalizePath(path);
    const segments = splitSegments(normalized);
    let best: PathPattern | undefined;
    for (const p of this.#patterns) {
      if (matches(p, segments, normalized.endsWith('/')) && (best === undefined || moreSpecific(p, best)))
        best = p;
    }
    if (best !== undefined) return best.label;
    return keepUnmatched ? normalized : '';
  }
}

/**
 * daprd's low-cardinality rewrite of an API path: `/v1.0/state/<store>/<key>` →
 * `/v1.0/state/<store>` (and secrets alike), `/v1.0/actors/<type>/<id>/<kind>/...` →
 * `/v1.0/actors/<type>/{id}/<kind>`, workflow instance ids and event names replaced; any other
 * path (invoke, publish, metadata...) is kept.
 */
export function apiPathLabel(path: string): string {
  if (path === '') return path;
  if (!rewritten(path)) return path;
  const p = path.startsWith('/') ? path.slice(1) : path;
  const parts = splitN(p, 6);
  if (parts.length < 3) return path;
  if (parts[0] === 'actors') {
    parts[2] = '{id}';
    return parts.join('/');
  }
  switch (parts[1]) {
    case 'state':
    case 'secrets':
      return `/${parts.slice(0, 3).join('/')}`;
    case 'actors':
      if (parts.length < 5) return path;
      parts[3] = '{id}';
      return `/${parts.slice(0, 5).join('/')}`;
    case 'workflows':
      return workflowPathLabel(path, parts);
    default:
      return path;
  }
}

/** Segment names whose paths `apiPathLabel` rewrites (in second place; `actors` also in first). */
const REWRITTEN_SEGMENTS = ['state', 'secrets', 'actors', 'workflows'];

/**
 * Whether `path` has three segments or more and one `apiPathLabel` rewrites, found without
 * splitting it (every invocation's path is labelled, and kept as it is).
 */
function rewritten(path: string): boolean {
  const start = path.charCodeAt(0) === 0x2f ? 1 : 0;
  const first = path.indexOf('/', start);
  if (first < 0) return false;
  const second = path.indexOf('/', first + 1);
  if (second < 0) return false;
  if (first - start === 6 && path.startsWith('actors', start)) return true;
  const length = second - first - 1;
  return REWRITTEN_SEGMENTS.some((name) => name.length === length && path.startsWith(name, first + 1));
}

function workflowPathLabel(path: string, parts: string[]): string {
  if (parts.length < 4) return path;
  if (parts.length === 4) {
    parts[3] = '{instanceId}';
    return `/${parts.join('/')}`;
  }
  if (parts.length === 5 && (parts[4] ?? '').startsWith('start'))
    return `/${parts.slice(0, 4).join('/')}/start`;
  parts[3] = '{instanceId}';
  if (parts.length === 6 && parts[4] === 'raiseEvent') {
    parts[5] = '{eventName}';
    return `/${parts.join('/')}`;
  }
  return `/${parts.slice(0, 5).join('/')}`;
}

/** Go's strings.SplitN(s, "/", n): at most n parts, the last holding the rest. */
function splitN(s: string, n: number): string[] {
  const out: string[] = [];
  let from = 0;
  while (out.length < n - 1) {
    const i = s.indexOf('/', from);
    if (i < 0) break;
    out.push(s.slice(from, i));
    from = i + 1;
  }
  out.push(s.slice(from));
  return out;
}

/** Collapses repeated slashes and makes sure of a leading one. */
function normalizePath(path: string): string {
  const collapsed = path.replace(/\/{2,}/g, '/');
  return collapsed.startsWith('/') ? collapsed : `/${collapsed}`;
}

function splitSegments(normalized: string): string[] {
  const inner = normalized.slice(1);
  if (inner === '') return [];
  const parts = inner.split('/');
  if (parts[parts.length - 1] === '') parts.pop();
  return parts;
}

type Segment =
  | { readonly kind: 'literal'; readonly text: string }
  | { readonly kind: 'one' }
  | { readonly kind: 'rest' };

interface PathPattern {
  readonly label: string;
  readonly segments: readonly Segment[];
  /** A trailing `/` (or `{x...}`): also matches anything below. */
  readonly subtree: boolean;
  /** `{$}` at the end: only the path with the trailing slash itself. */
  readonly exactSlash: boolean;
}

function parsePattern(text: string, label: string): PathPattern {
  const raw = text.slice(1).split('/');
  const trailingSlash = raw.length > 0 && raw[raw.length - 1] === '';
  if (trailingSlash) raw.pop();
  let exactSlash = false;
  let subtree = trailingSlash;
  const segments: Segment[] = [];
  for (const s of raw) {
    if (s === '{$}') {
      exactSlash = true;
      subtree = false;
    } else if (/^\{[^}]*\.\.\.\}$/.test(s)) {
      segments.push({ kind: 'rest' });
      subtree = true;
    } else if (/^\{[^}]*\}$/.test(s)) segments.push({ kind: 'one' });
    else segments.push({ kind: 'literal', text: s });
  }
  return { label, segments, subtree, exactSlash };
}

function matches(p: PathPattern, path: readonly string[], pathHasTrailingSlash: boolean): boolean {
  const fixed = p.segments.filter((s) => s.kind !== 'rest').length;
  if (path.length < fixed) return false;
  for (let i = 0; i < p.segments.length; i++) {
    const s = p.segments[i] as Segment;
    if (s.kind === 'rest') return true;
    const got = path[i] as string;
    if (s.kind === 'literal' && s.text !== got) return false;
  }
  if (p.exactSlash) return path.length === fixed && pathHasTrailingSlash;
  if (path.length === fixed) return !p.subtree || pathHasTrailingSlash || fixed === 0;
  return p.subtree;
}

/** ServeMux's precedence, segment by segment: a literal beats a wildcard, which beats a subtree. */
function moreSpecific(a: PathPattern, b: PathPattern): boolean {
  const rank = (s: Segment | undefined): number =>
    s === undefined ? 0 : s.kind === 'literal' ? 3 : s.kind === 'one' ? 2 : 1;
  const n = Math.max(a.segments.length, b.segments.length);
  for (let i = 0; i < n; i++) {
    const ra = rank(a.segments[i]);
    const rb = rank(b.segments[i]);
    if (ra !== rb) return ra > rb;
  }
  if (a.subtree !== b.subtree) return !a.subtree;
  return false;
}
