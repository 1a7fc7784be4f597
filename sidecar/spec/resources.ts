import { parseAllDocuments } from 'yaml';
import type { ComponentResource } from './component.js';
import { readComponent } from './component.js';
import { type ConfigurationResource, readConfiguration } from './configuration.js';
import { type HttpEndpointResource, readHttpEndpoint } from './http-endpoint.js';
import { isObj, ProblemSink, type ResourceProblem } from './problems.js';
import { type ResiliencyResource, readResiliency } from './resiliency.js';
import { readSubscription, type SubscriptionResource } from './subscription.js';

/** Any resource Outrigger reads. */
export type Resource =
  | ComponentResource
  | ConfigurationResource
  | ResiliencyResource
  | SubscriptionResource
  | HttpEndpointResource;

/** The result of reading one file: resources and every problem found. */
export interface ParsedFile {
  readonly resources: readonly Resource[];
  readonly problems: readonly ResourceProblem[];
}

const API_VERSIONS: Readonly<Record<string, readonly string[]>> = {
  Component: ['dapr.io/v1alpha1'],
  Configuration: ['dapr.io/v1alpha1'],
  Resiliency: ['dapr.io/v1alpha1'],
  Subscription: ['dapr.io/v2alpha1', 'dapr.io/v1alpha1'],
  HTTPEndpoint: ['dapr.io/v1alpha1'],
};

/**
 * Parses the (multi-document) YAML text of one file. Documents whose apiVersion is not `dapr.io/*`
 * or whose kind Outrigger does not read are skipped, like daprd skips non-Dapr YAML in the folder.
 */
export function parseResourceFile(file: string, text: string): ParsedFile {
  const resources: Resource[] = [];
  const problems: ResourceProblem[] = [];
  const docs = parseAllDocuments(text);
  docs.forEach((doc, index) => {
    const label = `document ${index + 1}`;
    if (doc.errors.length > 0) {
      problems.push({
        file,
        resource: label,
        field: '(yaml)',
        rule: doc.errors.map((e) => e.message).join('; '),
      });
      return;
    }
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) return;
    if (!isObj(value)) {
      problems.push({ file, resource: label, field: '(document)', rule: 'must be a mapping' });
      return;
    }
    const apiVersion = typeof value.apiVersion === 'string' ? value.apiVersion : '';
    const kind = typeof value.kind === 'string' ? value.kind : '';
    if (!apiVersion.startsWith('dapr.io/')) return;
    const versions = API_VERSIONS[kind];
    if (versions === undefined) return;
    const meta = isObj(value.metadata) ? value.metadata : {};
    const name = typeof meta.name === 'string' ? meta.name : '';
    const sink = new ProblemSink(file, name === '' ? `${kind} (${label})` : `${kind}/${name}`);
    if (name === '') sink.add('metadata.name', 'is required');
    if (!versions.includes(apiVersion))
      sink.add('apiVersion', `must be ${versions.join(' or ')} for ${kind}, got "${apiVersion}"`);
    let resource: Resource | undefined;
    switch (kind) {
      case 'Component':
        resource = readComponent(value, name, sink);
        break;
      case 'Configuration':
        resource = readConfiguration(value, name, sink);
        break;
      case 'Resiliency':
        resource = readResiliency(value, name, sink);
        break;
      case 'Subscription':
        resource = readSubscription(value, name, apiVersion, sink);
        break;
      case 'HTTPEndpoint':
        resource = readHttpEndpoint(value, name, sink);
        break;
    }
    problems.push(...sink.problems);
    if (resource !== undefined && sink.problems.length === 0) resources.push(resource);
  });
  return { resources, problems };
}
