/**
 * Bridge from the runtime's resource reader (sidecar/spec) to `compileResiliency`, which takes
 * Resiliency documents as written in YAML.
 */
import type { ResiliencyResource } from '../spec/resiliency.js';

/** Rebuilds the `dapr.io/v1alpha1` document of a Resiliency resource read by sidecar/spec. */
export function resiliencyDocument(resource: ResiliencyResource, namespace = ''): unknown {
  return {
    apiVersion: 'dapr.io/v1alpha1',
    kind: 'Resiliency',
    metadata: namespace === '' ? { name: resource.name } : { name: resource.name, namespace },
    scopes: [...resource.scopes],
    spec: resource.spec,
  };
}
