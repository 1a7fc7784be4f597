import { isObj, type Obj, type ProblemSink, stringifyValue } from './problems.js';

/** One routing rule: a CEL `match` expression and the app path. */
export interface RouteRule {
  readonly match: string;
  readonly path: string;
}

/** `bulkSubscribe` settings. */
export interface BulkSubscribeSpec {
  readonly enabled: boolean;
  readonly maxMessagesCount?: number;
  readonly maxAwaitDurationMs?: number;
}

/** A declarative subscription, normalised to the v2alpha1 shape (v1alpha1 `route` becomes `routes.default`). */
export interface SubscriptionResource {
  readonly kind: 'Subscription';
  readonly apiVersion: 'dapr.io/v2alpha1' | 'dapr.io/v1alpha1';
  readonly name: string;
  readonly pubsubname: string;
  readonly topic: string;
  readonly routes: { readonly rules: readonly RouteRule[]; readonly default?: string };
  readonly metadata: Readonly<Record<string, string>>;
  readonly deadLetterTopic?: string;
  readonly bulkSubscribe?: BulkSubscribeSpec;
  readonly scopes: readonly string[];
  readonly source: string;
}

/** Reads a Subscription document of either API version. */
export function readSubscription(
  doc: Obj,
  name: string,
  apiVersion: string,
  sink: ProblemSink,
): SubscriptionResource | undefined {
  const spec = sink.obj(doc, 'spec', 'spec');
  if (spec === undefined) {
    sink.add('spec', 'is required');
    return undefined;
  }
  const v1 = apiVersion === 'dapr.io/v1alpha1';
  const pubsubname = sink.str(spec, 'pubsubname', 'spec.pubsubname', true);
  const topic = sink.str(spec, 'topic', 'spec.topic', true);
  const rules: RouteRule[] = [];
  let defaultRoute: string | undefined;
  if (v1) {
    defaultRoute = sink.str(spec, 'route', 'spec.route', true);
  } else {
    const routes = sink.obj(spec, 'routes', 'spec.routes');
    if (routes === undefined) sink.add('spec.routes', 'is required');
    else {
      defaultRoute = sink.str(routes, 'default', 'spec.routes.default');
      sink.arr(routes, 'rules', 'spec.routes.rules').forEach((r, i) => {
        const path = `spec.routes.rules[${i}]`;
        if (!isObj(r)) {
          sink.add(path, 'must be an object with match and path');
          return;
        }
        const match = sink.str(r, 'match', `${path}.match`) ?? '';
        const rulePath = sink.str(r, 'path', `${path}.path`, true);
        if (rulePath !== undefined) rules.push({ match, path: rulePath });
      });
      if (defaultRoute === undefined && rules.length === 0)
        sink.add('spec.routes', 'needs a default route or at least one rule');
    }
  }
  const metadata: Record<string, string> = {};
  const rawMeta = sink.obj(spec, 'metadata', 'spec.metadata') ?? {};
  for (const [k, v] of Object.entries(rawMeta)) metadata[k] = stringifyValue(v);
  const deadLetterTopic = sink.str(spec, 'deadLetterTopic', 'spec.deadLetterTopic');
  const bulk = sink.obj(spec, 'bulkSubscribe', 'spec.bulkSubscribe');
  let bulkSubscribe: BulkSubscribeSpec | undefined;
  if (bulk !== undefined) {
    const count = bulk.maxMessagesCount;
    const wait = bulk.maxAwaitDurationMs;
    if (count !== undefined && typeof count !== 'number')
      sink.add('spec.bulkSubscribe.maxMessagesCount', 'must be a number');
    if (wait !== undefined && typeof wait !== 'number')
      sink.add('spec.bulkSubscribe.maxAwaitDurationMs', 'must be a number');
    bulkSubscribe = {
      enabled: sink.bool(bulk, 'enabled', 'spec.bulkSubscribe.enabled') ?? false,
      ...(typeof count === 'number' ? { maxMessagesCount: count } : {}),
      ...(typeof wait === 'number' ? { maxAwaitDurationMs: wait } : {}),
    };
  }
  if (pubsubname === undefined || topic === undefined) return undefined;
  return {
    kind: 'Subscription',
    apiVersion: v1 ? 'dapr.io/v1alpha1' : 'dapr.io/v2alpha1',
    name,
    pubsubname,
    topic,
    routes: { rules, ...(defaultRoute === undefined ? {} : { default: defaultRoute }) },
    metadata,
    ...(deadLetterTopic === undefined ? {} : { deadLetterTopic }),
    ...(bulkSubscribe === undefined ? {} : { bulkSubscribe }),
    scopes: sink.strings(doc, 'scopes', 'scopes'),
    source: sink.file,
  };
}
