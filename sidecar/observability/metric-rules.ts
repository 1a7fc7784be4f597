/**
 * Configuration `spec.metrics.rules` (dapr docs: "Transform metrics with regular expressions"): for
 * a metric named by a rule, a label value that one of the rule's expressions matches is recorded as
 * that expression's replacement, e.g. `method="orders/a746dhsk293972nz"` as `method="orders/"`.
 * The named families' recording methods are wrapped; the others are left as they are.
 */
import type { Registry } from 'prom-client';
import type { MetricRuleSpec } from '../spec/configuration.js';

type Labels = Record<string, string | number>;
type Recorder = (labels?: unknown, value?: unknown) => unknown;

const RECORDING_METHODS = ['inc', 'dec', 'set', 'observe'] as const;

/** Applies `rules` to the families in `registry`; returns the names no family has. */
export function applyMetricRules(registry: Registry, rules: readonly MetricRuleSpec[]): string[] {
  const unknown: string[] = [];
  for (const rule of rules) {
    const metric = registry.getSingleMetric(rule.name) as unknown as Record<string, unknown> | undefined;
    if (metric === undefined) {
      unknown.push(rule.name);
      continue;
    }
    for (const method of RECORDING_METHODS) {
      const original = metric[method];
      if (typeof original !== 'function') continue;
      const record = (original as Recorder).bind(metric);
      metric[method] = (labels?: unknown, value?: unknown) =>
        typeof labels === 'object' && labels !== null
          ? record(rewrite(labels as Labels, rule), value)
          : record(labels, value);
    }
  }
  return unknown;
}

function rewrite(labels: Labels, rule: MetricRuleSpec): Labels {
  let out: Labels | undefined;
  for (const label of rule.labels) {
    const value = labels[label.name];
    if (typeof value !== 'string') continue;
    const hit = label.regex.find(([, pattern]) => pattern.test(value));
    if (hit === undefined) continue;
    out ??= { ...labels };
    out[label.name] = hit[0];
  }
  return out ?? labels;
}
