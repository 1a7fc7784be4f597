import type { Logger } from '../../components/component.js';
import type { ServiceInvoker } from '../../invoke/invoker.js';
import type { ResiliencyProvider } from '../../resiliency/provider.js';
import type { SecretStore } from '../../secrets/secret-store.js';
import type { StateStore } from '../../state/state-store.js';

/**
 * The seam between the runtime (which loads components and owns lifecycles) and the API layer
 * (which implements each operation once). The runtime builds one ApiContext; the universal API
 * reads it; the HTTP and gRPC adapters only decode, call the universal API and encode.
 */

/** How state keys are prefixed (component metadata `keyPrefix`). */
export type KeyPrefixStrategy =
  | { readonly kind: 'appid' }
  | { readonly kind: 'name' }
  | { readonly kind: 'namespace' }
  | { readonly kind: 'none' }
  | { readonly kind: 'custom'; readonly prefix: string };

/** A loaded state store with what the API needs to know about it. */
export interface LoadedStateStore {
  readonly name: string;
  readonly type: string;
  readonly version: string;
  readonly store: StateStore;
  readonly keyPrefix: KeyPrefixStrategy;
  /** Component metadata `actorStateStore: "true"`. */
  readonly actorStateStore: boolean;
}

/** A loaded secret store. */
export interface LoadedSecretStore {
  readonly name: string;
  readonly type: string;
  readonly version: string;
  readonly store: SecretStore;
}

/** Configuration `spec.secrets.scopes[]` entry. */
export interface SecretScope {
  readonly storeName: string;
  readonly defaultAccess: 'allow' | 'deny';
  readonly allowedSecrets: readonly string[];
  readonly deniedSecrets: readonly string[];
}

/** One loaded component as `/v1.0/metadata` lists it. */
export interface ComponentInfo {
  readonly name: string;
  readonly type: string;
  readonly version: string;
  readonly capabilities: readonly string[];
}

/** Health targets the runtime reports (daprd's healthz semantics). */
export interface HealthState {
  /** Components loaded and API servers up: `/v1.0/healthz/outbound` → 204. */
  outboundReady(): boolean;
  /** Every target ready (incl. app channel when `--app-port` is set): `/v1.0/healthz` → 204. */
  ready(): boolean;
  /** Names of targets not ready yet, for the error message. */
  notReadyTargets(): readonly string[];
}

/** App connection facts for `/v1.0/metadata` `appConnectionProperties`. */
export interface AppConnectionInfo {
  readonly port?: number;
  readonly protocol: string;
  readonly channelAddress: string;
  readonly maxConcurrency?: number;
  readonly health?: {
    readonly healthCheckPath: string;
    readonly healthProbeInterval: string;
    readonly healthProbeTimeout: string;
    readonly healthThreshold: number;
  };
}

/** One subscription as `/v1.0/metadata` lists it. */
export interface SubscriptionInfo {
  readonly pubsubname: string;
  readonly topic: string;
  readonly metadata?: Readonly<Record<string, string>>;
  readonly rules?: readonly { readonly match?: string; readonly path: string }[];
  readonly deadLetterTopic?: string;
  readonly type: 'DECLARATIVE' | 'PROGRAMMATIC' | 'STREAMING' | 'UNKNOWN';
}

/** Everything the universal API reads. Built by the runtime; maps may change on hot reload. */
export interface ApiContext {
  readonly appId: string;
  readonly namespace: string;
  readonly runtimeVersion: string;
  readonly enabledFeatures: readonly string[];
  readonly logger: Logger;
  readonly stateStores: ReadonlyMap<string, LoadedStateStore>;
  readonly secretStores: ReadonlyMap<string, LoadedSecretStore>;
  readonly secretScopes: ReadonlyMap<string, SecretScope>;
  readonly health: HealthState;
  readonly appConnection: AppConnectionInfo;
  /** All loaded components, every kind. */
  components(): readonly ComponentInfo[];
  /** Mutable `extended` attributes (PUT /v1.0/metadata/{key}). */
  readonly extendedMetadata: Map<string, string>;
  /** Starts a graceful shutdown (POST /v1.0/shutdown). */
  requestShutdown(reason: string): void;
  /** Active subscriptions for `/v1.0/metadata` (optional until pub/sub exists). */
  readonly subscriptions?: () => readonly SubscriptionInfo[];
  /** Names of loaded HTTPEndpoint resources (optional). */
  readonly httpEndpoints?: () => readonly string[];
  /** Service invocation (absent until the runtime has started it). */
  readonly invoker?: () => ServiceInvoker | undefined;
  /** Compiled Resiliency resources: component calls go through `forComponentOutbound`. */
  readonly resiliency?: ResiliencyProvider;
}
