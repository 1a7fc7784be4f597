import type { ComponentRegistration } from '../component.js';
import { KUBERNETES_RESOLVER_SCHEMA, KubernetesResolver } from './kubernetes/kubernetes-resolver.js';
import { LOCAL_REGISTRY_SCHEMA, LocalRegistryResolver } from './local/local-registry-resolver.js';
import type { NameResolver } from './name-resolver.js';
import { STATIC_RESOLVER_SCHEMA, StaticResolver } from './static/static-resolver.js';

/**
 * Name resolvers, selected by Configuration `spec.nameResolution.component` (type
 * `nameresolution.<component>`). `mdns` (Dapr's self-hosted default) maps to the local file
 * registry, which serves the same purpose on one machine without multicast.
 */
export const NAMERESOLUTION_REGISTRATIONS: readonly ComponentRegistration<NameResolver>[] = [
  {
    kind: 'nameresolution',
    type: 'nameresolution.outrigger-local',
    versions: ['v1'],
    schema: LOCAL_REGISTRY_SCHEMA,
    create: () => new LocalRegistryResolver(),
  },
  {
    kind: 'nameresolution',
    type: 'nameresolution.mdns',
    versions: ['v1'],
    schema: LOCAL_REGISTRY_SCHEMA,
    create: () => new LocalRegistryResolver(),
  },
  {
    kind: 'nameresolution',
    type: 'nameresolution.kubernetes',
    versions: ['v1'],
    schema: KUBERNETES_RESOLVER_SCHEMA,
    create: () => new KubernetesResolver(),
  },
  {
    kind: 'nameresolution',
    type: 'nameresolution.outrigger-static',
    versions: ['v1'],
    schema: STATIC_RESOLVER_SCHEMA,
    create: () => new StaticResolver(),
  },
];
