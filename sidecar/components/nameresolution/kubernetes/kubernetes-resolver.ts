/**
 * Kubernetes name resolution (components-contrib nameresolution/kubernetes): the operator's
 * headless Service `<app-id>-dapr` in the app's namespace, i.e.
 * `<app-id>-dapr.<namespace>.svc.<clusterDomain>:<port>` (clusterDomain default `cluster.local`,
 * port = our own internal gRPC port, as every sidecar uses the same one). `template` overrides the
 * host with `{{.ID}}`, `{{.Namespace}}`, `{{.Port}}` placeholders like Dapr's.
 */

import type { ComponentInit } from '../../component.js';
import type { MetadataSchema } from '../../metadata-schema.js';
import type { NameResolver, ResolveRequest } from '../name-resolver.js';

/** Metadata schema. */
export const KUBERNETES_RESOLVER_SCHEMA: MetadataSchema = {
  clusterDomain: { type: 'string', default: 'cluster.local' },
  template: {
    type: 'string',
    description: 'Address template, e.g. {{.ID}}-{{.Namespace}}.internal:{{.Port}}',
  },
};

/** DNS-based resolver. */
export class KubernetesResolver implements NameResolver {
  #clusterDomain = 'cluster.local';
  #template: string | undefined;

  async init(init: ComponentInit): Promise<void> {
    const cd = init.metadata.clusterDomain;
    if (typeof cd === 'string' && cd !== '') this.#clusterDomain = cd;
    const t = init.metadata.template;
    if (typeof t === 'string' && t !== '') this.#template = t;
  }

  async resolve(req: ResolveRequest): Promise<readonly string[]> {
    if (this.#template !== undefined)
      return [
        this.#template
          .replaceAll('{{.ID}}', req.appId)
          .replaceAll('{{.Namespace}}', req.namespace)
          .replaceAll('{{.Port}}', String(req.port)),
      ];
    return [`${req.appId}-dapr.${req.namespace}.svc.${this.#clusterDomain}:${req.port}`];
  }

  async close(): Promise<void> {}
}
