/**
 * Wires service invocation into the runtime: access control, the name resolver chosen by
 * Configuration `spec.nameResolution` (default: the local registry self-hosted, `kubernetes` in
 * Kubernetes mode), the mTLS identity, the internal gRPC server on `--dapr-internal-grpc-port`,
 * self-registration, the compiled Resiliency resources and the caller-side invoker.
 */
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { AccessControlList } from '../acl/access-control.js';
import { InternalClient } from '../api/internal/internal-client.js';
import { InternalServer } from '../api/internal/internal-server.js';
import { createMtlsIdentity } from '../api/internal/mtls-identity.js';
import type { LoadedSecretStore } from '../api/universal/context.js';
import type { AppChannel } from '../channel/app-channel.js';
import type { Logger } from '../components/component.js';
import { validateMetadata } from '../components/metadata-schema.js';
import { isSelfRegistering, type NameResolver } from '../components/nameresolution/name-resolver.js';
import type { ComponentRegistry } from '../components/registry.js';
import type { Tracer } from '../observability/tracing/tracer.js';
import { compileResiliency, type ResiliencyProvider, resiliencyDocument } from '../resiliency/index.js';
import type { WorkloadIdentity } from '../security/workload-identity.js';
import type { ConfigurationResource } from '../spec/configuration.js';
import type { HttpEndpointResource } from '../spec/http-endpoint.js';
import type { ResiliencyResource } from '../spec/resiliency.js';
import { resolveHttpEndpoints } from './http-endpoints.js';
import { resiliencyLoadedChannel } from './invoke-events.js';
import { ServiceInvoker } from './invoker.js';

/** What `startInvocation` needs. */
export interface InvocationInputs {
  readonly appId: string;
  readonly namespace: string;
  readonly mode: 'standalone' | 'kubernetes';
  readonly internalPort: number;
  /** The internal API's bind address; undefined: all interfaces. */
  readonly internalListenAddress?: string;
  readonly enableMtls: boolean;
  readonly sentryAddress: string | undefined;
  readonly trustAnchorsFile: string | undefined;
  readonly controlPlaneTrustDomain: string;
  readonly controlPlaneNamespace: string;
  readonly appProtocol: string;
  readonly maxBodyBytes: number;
  readonly config: ConfigurationResource;
  readonly resiliencies: readonly ResiliencyResource[];
  readonly httpEndpoints: readonly HttpEndpointResource[];
  /** Loaded secret stores, for the HTTPEndpoints' secretKeyRefs. */
  readonly secretStores: ReadonlyMap<string, LoadedSecretStore>;
  readonly registry: ComponentRegistry;
  readonly appChannel: () => AppChannel | undefined;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly logger: Logger;
  readonly signal?: AbortSignal;
  readonly tracer?: Tracer;
}

/** The running invocation subsystem. */
export interface Invocation {
  readonly invoker: ServiceInvoker;
  readonly resiliency: ResiliencyProvider;
  readonly server: InternalServer;
  readonly identity: WorkloadIdentity | undefined;
  /** Unregisters, stops the server (in-flight calls get `graceMs`), closes channels. */
  close(graceMs: number): Promise<void>;
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Flattens `nameResolution.configuration` into string metadata (nested values as JSON). */
function flatten(cfg: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!isObj(cfg)) return out;
  for (const [k, v] of Object.entries(cfg)) {
    if (Array.isArray(v)) out[k] = v.map(String).join(',');
    else out[k] = typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v);
  }
  return out;
}

async function createResolver(i: InvocationInputs): Promise<NameResolver> {
  const nr = isObj(i.config.spec.nameResolution) ? i.config.spec.nameResolution : {};
  const component =
    typeof nr.component === 'string' && nr.component !== ''
      ? nr.component
      : i.mode === 'kubernetes'
        ? 'kubernetes'
        : 'outrigger-local';
  const version = typeof nr.version === 'string' ? nr.version : '';
  const type = `nameresolution.${component}`;
  const found = i.registry.lookup(type, version);
  if (!found.ok) throw new Error(`Configuration spec.nameResolution: ${found.rule}`);
  const raw = flatten(nr.configuration);
  if (found.registration.schema.registryDir !== undefined && raw.registryDir === undefined) {
    const home = i.env.OUTRIGGER_HOME;
    raw.registryDir = join(
      home !== undefined && home !== '' ? resolve(home) : join(homedir(), '.outrigger'),
      'nameresolution',
    );
  }
  const resolver = found.registration.create() as NameResolver;
  await resolver.init({
    name: component,
    type,
    version: found.version,
    metadata: validateMetadata(found.registration.schema, raw),
    appId: i.appId,
    namespace: i.namespace,
    logger: i.logger.child({ scope: 'dapr.contrib.nameresolution' }),
    dataDir: '',
  });
  i.logger.info(`Initialized name resolution to ${component}`);
  return resolver;
}

/** Starts the invocation subsystem (throws on bad configuration; nothing is left running then). */
export async function startInvocation(i: InvocationInputs): Promise<Invocation> {
  const log = i.logger.child({ scope: 'dapr.runtime.direct_messaging' });
  const httpProtocol = i.appProtocol === 'http' || i.appProtocol === 'https' || i.appProtocol === 'h2c';
  const acl = AccessControlList.compile(i.config.spec.accessControl, httpProtocol);
  const resiliency = compileResiliency(
    i.resiliencies.map((r) => resiliencyDocument(r, i.namespace)),
    { appId: i.appId, logger: i.logger.child({ scope: 'dapr.resiliency' }), skipInvalid: true },
  );
  for (const r of resiliency.loaded) {
    log.info(`Loaded resiliency configuration ${r.name}`);
    if (resiliencyLoadedChannel.hasSubscribers)
      resiliencyLoadedChannel.publish({ name: r.name, namespace: r.namespace });
  }
  const httpEndpoints = await resolveHttpEndpoints(i.httpEndpoints, {
    appId: i.appId,
    secretStores: i.secretStores,
    logger: log,
  });
  const resolver = await createResolver(i);
  let identity: WorkloadIdentity | undefined;
  let server: InternalServer | undefined;
  try {
    if (i.enableMtls || i.mode === 'kubernetes') {
      const ac = isObj(i.config.spec.accessControl) ? i.config.spec.accessControl : {};
      identity = await createMtlsIdentity(
        {
          appId: i.appId,
          namespace: i.namespace,
          mode: i.mode,
          sentryAddress: i.sentryAddress,
          trustAnchorsFile: i.trustAnchorsFile,
          controlPlaneTrustDomain: i.controlPlaneTrustDomain,
          controlPlaneNamespace: i.controlPlaneNamespace,
          trustDomain:
            typeof ac.trustDomain === 'string' && ac.trustDomain !== '' ? ac.trustDomain : 'public',
          env: i.env,
          logger: i.logger,
        },
        i.signal,
      );
    }
    server = new InternalServer({
      appId: i.appId,
      appChannel: i.appChannel,
      httpProtocol,
      ...(acl === undefined ? {} : { acl }),
      ...(identity === undefined ? {} : { identity }),
      ...(i.tracer === undefined ? {} : { tracer: i.tracer }),
      logger: log,
    });
    const port = await server.listen(i.internalPort, i.internalListenAddress);
    log.info(
      `Internal gRPC server is running on port ${port}${identity === undefined ? ' (plaintext)' : ' (mTLS)'}`,
    );
    if (isSelfRegistering(resolver)) {
      const self = {
        appId: i.appId,
        namespace: i.namespace,
        host: registeredHost(i.internalListenAddress),
        port,
        pid: process.pid,
      };
      try {
        await resolver.register(self);
      } catch (err) {
        // Others cannot find this sidecar by name, but it still serves its app and calls out.
        log.warn(`could not register with name resolution: ${(err as Error).message}`);
      }
    }
  } catch (err) {
    await server?.close(0);
    identity?.close();
    await resolver.close();
    throw err;
  }
  const client = new InternalClient(identity === undefined ? {} : { identity });
  const invoker = new ServiceInvoker({
    appId: i.appId,
    namespace: i.namespace,
    internalPort: server.port,
    resolver,
    client,
    resiliency,
    appChannel: i.appChannel,
    httpEndpoints,
    maxBodyBytes: i.maxBodyBytes,
    logger: log,
  });
  const srv = server;
  return {
    invoker,
    resiliency,
    server: srv,
    identity,
    async close(graceMs) {
      if (isSelfRegistering(resolver)) await resolver.unregister();
      await srv.close(graceMs);
      client.close();
      identity?.close();
      await resolver.close();
    },
  };
}

/**
 * The address other sidecars on this machine dial: loopback when the internal API listens on every
 * interface (or on loopback), the listen address itself when it is bound to one other address.
 */
function registeredHost(listenAddress: string | undefined): string {
  if (listenAddress === undefined || listenAddress === '0.0.0.0' || listenAddress === '::')
    return '127.0.0.1';
  return listenAddress;
}
