import type { ApiContext, SubscriptionInfo } from './context.js';

/**
 * The metadata API (daprd's pkg/api/universal/metadata.go and pkg/api/http/metadata.go). The
 * result has daprd's JSON shape; empty lists are left out as daprd's `omitempty` does.
 */

/** The extended-metadata key daprd always fills with its version. */
export const DAPR_RUNTIME_VERSION_KEY = 'daprRuntimeVersion';

/** One registered component. */
export interface MetadataComponent {
  readonly name: string;
  readonly type: string;
  readonly version: string;
  readonly capabilities?: readonly string[];
}

/** `appConnectionProperties`. */
export interface MetadataAppConnection {
  readonly port?: number;
  readonly protocol?: string;
  readonly channelAddress?: string;
  readonly maxConcurrency?: number;
  readonly health?: {
    readonly healthCheckPath?: string;
    readonly healthProbeInterval?: string;
    readonly healthProbeTimeout?: string;
    readonly healthThreshold?: number;
  };
}

/** GET /v1.0/metadata. */
export interface MetadataResult {
  readonly id: string;
  readonly runtimeVersion: string;
  readonly enabledFeatures?: readonly string[];
  readonly actors?: readonly { readonly type: string; readonly count: number }[];
  readonly components?: readonly MetadataComponent[];
  readonly extended: Readonly<Record<string, string>>;
  readonly subscriptions?: readonly SubscriptionInfo[];
  readonly httpEndpoints?: readonly { readonly name: string }[];
  readonly appConnectionProperties: MetadataAppConnection;
  readonly actorRuntime: { readonly runtimeStatus: string; readonly hostReady: boolean };
}

/** PUT /v1.0/metadata/{key}. */
export interface SetMetadataRequest {
  readonly key: string;
  readonly value: string;
}

function nonEmpty<K extends string, T>(
  key: K,
  list: readonly T[] | undefined,
): Partial<Record<K, readonly T[]>> {
  return list === undefined || list.length === 0 ? {} : ({ [key]: list } as Record<K, readonly T[]>);
}

/** Describes this sidecar: identity, components with capabilities, subscriptions, extended attributes. */
export function getMetadata(ctx: ApiContext): MetadataResult {
  const components: MetadataComponent[] = ctx.components().map((c) => ({
    name: c.name,
    type: c.type,
    version: c.version,
    ...(c.capabilities.length === 0 ? {} : { capabilities: [...c.capabilities] }),
  }));
  const extended: Record<string, string> = Object.fromEntries(ctx.extendedMetadata);
  extended[DAPR_RUNTIME_VERSION_KEY] = ctx.runtimeVersion;
  const app = ctx.appConnection;
  const appConnectionProperties: MetadataAppConnection = {
    ...(app.port === undefined || app.port === 0 ? {} : { port: app.port }),
    ...(app.protocol === '' ? {} : { protocol: app.protocol }),
    ...(app.channelAddress === '' ? {} : { channelAddress: app.channelAddress }),
    ...(app.maxConcurrency === undefined || app.maxConcurrency <= 0
      ? {}
      : { maxConcurrency: app.maxConcurrency }),
    ...(app.health === undefined ? {} : { health: { ...app.health } }),
  };
  return {
    id: ctx.appId,
    runtimeVersion: ctx.runtimeVersion,
    ...nonEmpty('enabledFeatures', ctx.enabledFeatures),
    ...nonEmpty('components', components),
    extended,
    ...nonEmpty('subscriptions', ctx.subscriptions?.()),
    ...nonEmpty(
      'httpEndpoints',
      ctx.httpEndpoints?.().map((name) => ({ name })),
    ),
    appConnectionProperties,
    // Actors are not hosted yet: daprd reports DISABLED when no actor runtime runs.
    actorRuntime: { runtimeStatus: 'DISABLED', hostReady: false },
  };
}

/** Stores a custom attribute; it shows up under `extended`. */
export function setMetadata(ctx: ApiContext, req: SetMetadataRequest): void {
  ctx.extendedMetadata.set(req.key, req.value);
}
