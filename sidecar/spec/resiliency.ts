import type { Obj, ProblemSink } from './problems.js';

/**
 * A `Resiliency` resource, passed through: the resiliency module compiles `spec` into policies
 * and reports its own problems. Here only the shape (`spec.policies`, `spec.targets`) is checked.
 */
export interface ResiliencyResource {
  readonly kind: 'Resiliency';
  readonly name: string;
  readonly scopes: readonly string[];
  readonly spec: Obj;
  readonly source: string;
}

/** Reads a Resiliency document. */
export function readResiliency(doc: Obj, name: string, sink: ProblemSink): ResiliencyResource | undefined {
  const spec = sink.obj(doc, 'spec', 'spec');
  if (spec === undefined) {
    sink.add('spec', 'is required');
    return undefined;
  }
  if (sink.obj(spec, 'policies', 'spec.policies') === undefined) sink.add('spec.policies', 'is required');
  if (sink.obj(spec, 'targets', 'spec.targets') === undefined) sink.add('spec.targets', 'is required');
  return { kind: 'Resiliency', name, scopes: sink.strings(doc, 'scopes', 'scopes'), spec, source: sink.file };
}
