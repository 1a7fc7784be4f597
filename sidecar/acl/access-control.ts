/**
 * Service invocation access control (Configuration `spec.accessControl`), enforced by the callee
 * sidecar with Dapr's semantics (dapr/dapr pkg/acl/acl.go and pkg/config/trie.go):
 * - no accessControl section → everything allowed;
 * - global `defaultAction` (missing: deny when policies exist, allow otherwise), `trustDomain`
 *   default `public`;
 * - a policy applies when the caller's SPIFFE ID has its app id, namespace AND trust domain;
 *   without a SPIFFE ID (mTLS off) only the global default action applies — daprd does not fall
 *   back to the caller app id sent in metadata, and neither do we;
 * - operations are path patterns matched segment by segment: `/*` matches one segment (or the
 *   rest, at the end), `/**` everything below, `*` inside a segment is a glob; HTTP operations
 *   are compared lower-case;
 * - a matching operation's verb map decides (`*` as a verb matches all); a call without a verb
 *   takes the app policy's default action.
 */
import type { SpiffeId } from '../pki/spiffe-id.js';

/** Why a call was allowed or denied (for logs and metrics). */
export interface AclDecision {
  readonly allowed: boolean;
  /** `global` or `app` (daprd's ActionPolicyGlobal/App). */
  readonly policy: 'global' | 'app';
  /** daprd's message for a denial. */
  readonly message: string;
}

/** A problem in an accessControl section (daprd refuses to start on these). */
export class AccessControlSpecError extends Error {
  /** Stable code. */
  readonly code = 'ERR_ACCESS_CONTROL_SPEC';
  constructor(message: string) {
    super(message);
    this.name = 'AccessControlSpecError';
  }
}

interface Operation {
  readonly verbActions: ReadonlyMap<string, string>;
  readonly action: string;
}

interface TrieNode {
  readonly segment: string;
  data: Operation | undefined;
  readonly children: TrieNode[];
}

interface AppPolicy {
  readonly appId: string;
  readonly defaultAction: string;
  readonly trustDomain: string;
  readonly namespace: string;
  readonly root: TrieNode;
}

type Raw = Record<string, unknown>;

function isObj(v: unknown): v is Raw {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function s(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

/** `*` in a pattern matches any run of characters (daprd's isMatch). */
function globMatch(target: string, pattern: string): boolean {
  if (!pattern.includes('*')) return target === pattern;
  const re = new RegExp(
    `^${pattern
      .split('*')
      .map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
    's',
  );
  return re.test(target);
}

function findChild(node: TrieNode, segment: string, isEnd: boolean): TrieNode | undefined {
  for (const c of node.children) {
    if (c.segment === segment) return c;
    if (c.segment === '/*') {
      if (isEnd) return c;
      continue;
    }
    if (c.segment === '/**') return c;
    if (globMatch(segment, c.segment)) return c;
  }
  return undefined;
}

function put(root: TrieNode, operation: string, data: Operation): void {
  const parts = operation.split('/');
  let node = root;
  for (let i = 1; i < parts.length; i++) {
    const segment = `/${parts[i] ?? ''}`;
    let child = node.children.find((c) => c.segment === segment);
    if (child === undefined) {
      child = { segment, data: i === parts.length - 1 ? data : undefined, children: [] };
      node.children.push(child);
    } else if (i === parts.length - 1 && child.data === undefined) child.data = data;
    node = child;
  }
}

function search(root: TrieNode, operation: string): Operation | undefined {
  const parts = operation.split('/');
  let node: TrieNode | undefined = root;
  for (let i = 1; i < parts.length; i++) {
    const isEnd = i === parts.length - 1;
    node = findChild(node, `/${parts[i] ?? ''}`, isEnd);
    if (node === undefined) return undefined;
    if (node.data !== undefined) {
      if (!isEnd && node.segment.endsWith('/*') && !node.segment.endsWith('/**')) continue;
      return node.data;
    }
    if (isEnd) {
      const wild = findChild(node, '/*', true);
      if (wild?.data !== undefined) return wild.data;
    }
  }
  return undefined;
}

/** Path normalisation close to daprd's purell flags: no duplicate or trailing slashes, no dot segments. */
export function normalizeOperation(operation: string): string {
  const q = operation.search(/[?#]/);
  const path = q < 0 ? operation : operation.slice(0, q);
  const out: string[] = [];
  for (const seg of path.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') out.pop();
    else out.push(seg);
  }
  return out.join('/');
}

/** A compiled access control list. */
export class AccessControlList {
  readonly defaultAction: string;
  readonly trustDomain: string;
  readonly #policies = new Map<string, AppPolicy>();

  private constructor(defaultAction: string, trustDomain: string) {
    this.defaultAction = defaultAction;
    this.trustDomain = trustDomain;
  }

  /**
   * Compiles `spec.accessControl` as written (raw YAML object); undefined when the section is
   * absent or empty (no ACL). `httpProtocol`: the app speaks HTTP (operations compare lower-case).
   */
  static compile(raw: unknown, httpProtocol: boolean): AccessControlList | undefined {
    if (!isObj(raw)) return undefined;
    const policies = Array.isArray(raw.policies) ? raw.policies : [];
    const td = s(raw.trustDomain);
    const da = s(raw.defaultAction);
    if (td === '' && da === '' && policies.length === 0) return undefined;
    const acl = new AccessControlList(
      da !== '' ? da : policies.length > 0 ? 'deny' : 'allow',
      td === '' ? 'public' : td,
    );
    const missingTd: string[] = [];
    const missingNs: string[] = [];
    let missingApp = false;
    for (const p of policies) {
      if (!isObj(p)) continue;
      const appId = s(p.appId);
      const trustDomain = s(p.trustDomain);
      const namespace = s(p.namespace);
      if (appId === '') missingApp = true;
      if (trustDomain === '') missingTd.push(appId);
      if (namespace === '') missingNs.push(appId);
      if (appId === '' || trustDomain === '' || namespace === '') continue;
      const root: TrieNode = { segment: '/', data: undefined, children: [] };
      for (const o of Array.isArray(p.operations) ? p.operations : []) {
        if (!isObj(o)) continue;
        let name = s(o.name);
        if (!name.startsWith('/')) name = `/${name}`;
        if (httpProtocol) name = name.toLowerCase();
        const action = s(o.action);
        const verbs = new Map<string, string>();
        for (const v of Array.isArray(o.httpVerb) ? o.httpVerb : []) verbs.set(s(v), action);
        put(root, name, { verbActions: verbs, action });
      }
      acl.#policies.set(`${appId}||${namespace}`, {
        appId,
        defaultAction: s(p.defaultAction),
        trustDomain,
        namespace,
        root,
      });
    }
    if (missingTd.length > 0 || missingNs.length > 0 || missingApp)
      throw new AccessControlSpecError(
        `invalid access control spec. missing trustdomain for apps: [${missingTd.join(' ')}], missing namespace for apps: [${missingNs.join(' ')}], missing app name on at least one of the app policies: ${missingApp}`,
      );
    return acl;
  }

  /** Decides a call to `operation` (the invoked method) with `verb` (`NONE` for non-HTTP callers). */
  check(caller: SpiffeId | undefined, operation: string, verb: string, httpProtocol: boolean): AclDecision {
    const op = normalizeOperation(operation);
    const decide = (action: string, policy: 'global' | 'app'): AclDecision => {
      const allowed = action.toLowerCase() === 'allow';
      return {
        allowed,
        policy,
        message: allowed
          ? ''
          : `access control policy has denied access to appid: ${caller?.appId ?? ''} operation: ${op} verb: ${verb}`,
      };
    };
    if (caller === undefined || caller.appId === '') return decide(this.defaultAction, 'global');
    const p = this.#policies.get(`${caller.appId}||${caller.namespace}`);
    if (p === undefined || p.trustDomain !== caller.trustDomain || p.namespace !== caller.namespace)
      return decide(this.defaultAction, 'global');
    let action = this.defaultAction;
    let policy: 'global' | 'app' = 'global';
    if (p.defaultAction !== '') {
      action = p.defaultAction;
      policy = 'app';
    }
    let input = `/${op}`;
    if (httpProtocol) input = input.toLowerCase();
    const found = search(p.root, input);
    if (found !== undefined) {
      if (httpProtocol) {
        if (verb !== 'NONE') {
          const v = found.verbActions.get(verb) ?? found.verbActions.get('*');
          if (v !== undefined) action = v;
        } else action = p.defaultAction;
      } else action = found.action;
    }
    return decide(action, policy);
  }
}
