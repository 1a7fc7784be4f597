/**
 * Configuration `spec.api.allowed` / `spec.api.denied`: which Dapr APIs the sidecar serves, as
 * daprd decides it (pkg/api/http/endpoints, pkg/api/grpc/endpoints.go).
 *
 * - No rule for a protocol: every API of it is served. With an allowlist only the listed ones
 *   are; the denylist wins over the allowlist. Health checks are always served.
 * - A rule applies to the protocol it names, `http` or `grpc` (case-insensitive). A rule that names
 *   none applies to neither, as in daprd; a warning says so.
 * - HTTP rules name a route group and an HTTP API version (`state`, `v1.0`); they also match, like
 *   daprd's legacy rule, any route whose `<version>/<route>` starts with `<version>/<name>`, and the
 *   group's short version (`v1`, `v1alpha1`). A route that is not served is not there at all: 404.
 * - gRPC rules name an API and a gRPC version (`state`, `v1`) that stand for a fixed set of
 *   `dapr.proto.runtime.v1.Dapr` methods; a method left out answers daprd's error for it: HTTP 501
 *   as a gRPC status (code Unimplemented, its status text as the message). Proxied calls to apps
 *   are not affected.
 */
import type { ApiRule } from '../../spec/configuration.js';

const DAPR = '/dapr.proto.runtime.v1.Dapr/';

/** daprd's gRPC API groups: `<name>.<version>` → the methods they stand for. */
const GRPC_GROUPS: Readonly<Record<string, readonly string[]>> = {
  'invoke.v1': ['InvokeService'],
  'state.v1': [
    'GetState',
    'GetBulkState',
    'SaveState',
    'DeleteState',
    'DeleteBulkState',
    'ExecuteStateTransaction',
  ],
  'state.v1alpha1': ['QueryStateAlpha1'],
  'publish.v1': ['PublishEvent', 'BulkPublishEvent'],
  'publish.v1alpha1': ['BulkPublishEventAlpha1'],
  'bindings.v1': ['InvokeBinding'],
  'secrets.v1': ['GetSecret', 'GetBulkSecret'],
  'actors.v1': [
    'RegisterActorTimer',
    'UnregisterActorTimer',
    'RegisterActorReminder',
    'GetActorReminder',
    'UnregisterActorReminder',
    'UnregisterActorRemindersByType',
    'ListActorReminders',
    'GetActorState',
    'ExecuteActorStateTransaction',
    'InvokeActor',
  ],
  'actors.v1alpha1': ['SubscribeActorEventsAlpha1'],
  'metadata.v1': ['GetMetadata', 'SetMetadata'],
  'configuration.v1alpha1': [
    'GetConfigurationAlpha1',
    'SubscribeConfigurationAlpha1',
    'UnsubscribeConfigurationAlpha1',
  ],
  'configuration.v1': ['GetConfiguration', 'SubscribeConfiguration', 'UnsubscribeConfiguration'],
  'lock.v1alpha1': ['TryLockAlpha1'],
  'unlock.v1alpha1': ['UnlockAlpha1'],
  'subtlecrypto.v1alpha1': [
    'SubtleGetKeyAlpha1',
    'SubtleEncryptAlpha1',
    'SubtleDecryptAlpha1',
    'SubtleSignAlpha1',
    'SubtleVerifyAlpha1',
    'SubtleWrapKeyAlpha1',
    'SubtleUnwrapKeyAlpha1',
  ],
  'crypto.v1alpha1': ['EncryptAlpha1', 'DecryptAlpha1'],
  'workflows.v1alpha1': [
    'StartWorkflowAlpha1',
    'GetWorkflowAlpha1',
    'TerminateWorkflowAlpha1',
    'RaiseEventWorkflowAlpha1',
    'PurgeWorkflowAlpha1',
    'PauseWorkflowAlpha1',
    'ResumeWorkflowAlpha1',
  ],
  'workflows.v1beta1': [
    'StartWorkflowBeta1',
    'GetWorkflowBeta1',
    'TerminateWorkflowBeta1',
    'RaiseEventWorkflowBeta1',
    'PurgeWorkflowBeta1',
    'PauseWorkflowBeta1',
    'ResumeWorkflowBeta1',
  ],
  'jobs.v1alpha1': [
    'ScheduleJobAlpha1',
    'DeleteJobAlpha1',
    'GetJobAlpha1',
    'DeleteJobsByPrefixAlpha1',
    'ListJobsAlpha1',
  ],
  'jobs.v1': ['ScheduleJob', 'DeleteJob', 'GetJob', 'DeleteJobsByPrefix', 'ListJobs'],
  'shutdown.v1': ['Shutdown'],
  'subscribe.v1alpha1': ['SubscribeTopicEventsAlpha1'],
  'conversation.v1alpha1': ['ConverseAlpha1'],
  'conversation.v1alpha2': ['ConverseAlpha2'],
};

/** `v1.0` → `v1`, `v1.0-alpha1` → `v1alpha1`: daprd's endpoint group versions. */
function groupVersion(httpVersion: string): string {
  const m = /^v(\d+)\.0(?:-(\w+))?$/.exec(httpVersion);
  return m === null ? httpVersion : `v${m[1]}${m[2] ?? ''}`;
}

/** The rules of one list for one protocol, as `<version>/<name>` keys. */
function httpKeys(rules: readonly ApiRule[]): ReadonlySet<string> {
  return new Set(rules.filter((r) => r.protocol === 'http').map((r) => `${r.version}/${r.name}`));
}

function grpcMethods(rules: readonly ApiRule[]): ReadonlySet<string> {
  const out = new Set<string>();
  for (const r of rules) {
    if (r.protocol !== 'grpc') continue;
    for (const m of GRPC_GROUPS[`${r.name}.${r.version}`] ?? []) out.add(`${DAPR}${m}`);
  }
  return out;
}

/** Whether an HTTP route (its template, `/v1.0/state/:storeName`) is in a rule set. */
function routeMatches(path: string, keys: ReadonlySet<string>): boolean {
  const bare = path.replace(/^\//, '');
  const slash = bare.indexOf('/');
  const version = bare.slice(0, slash);
  const route = bare.slice(slash + 1);
  const group = route.split('/', 1)[0] ?? '';
  if (keys.has(`${groupVersion(version)}/${group}`)) return true;
  for (const k of keys) if (bare.startsWith(k)) return true;
  return false;
}

/** The API allowlist and denylist of a Configuration. */
export class ApiAllowlist {
  readonly #httpAllowed: ReadonlySet<string>;
  readonly #httpDenied: ReadonlySet<string>;
  readonly #grpcAllowed: ReadonlySet<string>;
  readonly #grpcDenied: ReadonlySet<string>;

  constructor(allowed: readonly ApiRule[], denied: readonly ApiRule[]) {
    this.#httpAllowed = httpKeys(allowed);
    this.#httpDenied = httpKeys(denied);
    this.#grpcAllowed = grpcMethods(allowed);
    this.#grpcDenied = grpcMethods(denied);
  }

  /** Whether the HTTP API serves the route with this template (health checks always). */
  servesHttpRoute(path: string): boolean {
    if (/^\/v1\.0\/healthz(\/|$)/.test(path)) return true;
    if (this.#httpDenied.size > 0 && routeMatches(path, this.#httpDenied)) return false;
    return this.#httpAllowed.size === 0 || routeMatches(path, this.#httpAllowed);
  }

  /** Whether the gRPC API serves this full method name (anything outside the Dapr runtime service is). */
  servesGrpcMethod(fullMethod: string): boolean {
    if (!fullMethod.startsWith('/dapr.proto.runtime.')) return true;
    if (this.#grpcDenied.has(fullMethod)) return false;
    return this.#grpcAllowed.size === 0 || this.#grpcAllowed.has(fullMethod);
  }
}

/** Warnings for rules that apply to no protocol. */
export function apiRuleWarnings(allowed: readonly ApiRule[], denied: readonly ApiRule[]): string[] {
  const out: string[] = [];
  const check = (rules: readonly ApiRule[], list: string): void =>
    rules.forEach((r, i) => {
      if (r.protocol === '')
        out.push(
          `spec.api.${list}[${i}] (${r.name} ${r.version}) names no protocol (http or grpc), so it applies to neither, as in daprd`,
        );
    });
  check(allowed, 'allowed');
  check(denied, 'denied');
  return out;
}
