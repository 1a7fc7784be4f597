import { type ComponentCallEvent, type ComponentOperation, channels } from '../../observability/events.js';

/**
 * Times one building-block operation on a component, resiliency included, and publishes it for
 * daprd's `dapr_component_{state,secret}_{count,latencies}`. An API call is one operation, however
 * many store calls it makes (a bulk save is one `set`, as in daprd).
 */
export async function componentCall<T>(
  kind: ComponentCallEvent['kind'],
  component: string,
  operation: ComponentOperation,
  fn: () => Promise<T>,
): Promise<T> {
  if (!channels.componentCall.hasSubscribers) return fn();
  const started = performance.now();
  let success = false;
  try {
    const out = await fn();
    success = true;
    return out;
  } finally {
    const event: ComponentCallEvent = {
      kind,
      component,
      operation,
      success,
      durationMs: performance.now() - started,
    };
    channels.componentCall.publish(event);
  }
}
