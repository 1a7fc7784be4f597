/**
 * Resiliency events on `node:diagnostics_channel`. The metrics module subscribes and maintains
 * Dapr's `dapr_resiliency_count` (executed), `dapr_resiliency_activations_total` (activated) and
 * `dapr_resiliency_cb_state`; this module never imports prom-client.
 */
import diagnosticsChannel from 'node:diagnostics_channel';

/** Name of the channel for policy activations (a timeout fired, a retry happened, a breaker changed state). */
export const RESILIENCY_ACTIVATED_CHANNEL = 'outrigger:resiliency:activated';
/** Name of the channel for policy executions (a call went through a target's policy). */
export const RESILIENCY_EXECUTED_CHANNEL = 'outrigger:resiliency:executed';

/** The channels, by role. */
export const resiliencyChannels = {
  /** Payload: ResiliencyPolicyEvent. One per timeout fired (once per call), per retry, per breaker state change. */
  activated: diagnosticsChannel.channel(RESILIENCY_ACTIVATED_CHANNEL),
  /** Payload: ResiliencyPolicyEvent. One per policy kind present, each time a target's policy executes a call. */
  executed: diagnosticsChannel.channel(RESILIENCY_EXECUTED_CHANNEL),
} as const;

/** Dapr's `policy` label values. */
export type PolicyKind = 'timeout' | 'retry' | 'circuitbreaker';

/** Dapr's `flow_direction` label values. */
export type FlowDirection = 'inbound' | 'outbound';

/** Circuit breaker states, spelled as gobreaker and Dapr's `status` label spell them. */
export type BreakerState = 'closed' | 'half-open' | 'open';

/** Labels a policy carries so its events can be attributed (Dapr's metric labels). */
export interface PolicyTelemetry {
  /** `metadata.name` of the Resiliency resource the policy came from ('' for built-ins). */
  readonly resiliencyName: string;
  readonly namespace: string;
  /** Dapr's target label: `app_<id>`, `actor_<type>`, `<ComponentType>_<name>`. */
  readonly target: string;
  readonly direction: FlowDirection;
}

/** Payload of both channels. */
export interface ResiliencyPolicyEvent extends PolicyTelemetry {
  readonly policy: PolicyKind;
  /** The policy's name in the resource (e.g. `DefaultRetryPolicy`, `fastRetries`). */
  readonly name: string;
  /** The breaker state for `circuitbreaker` events (the new state for activations); '' otherwise. */
  readonly status: BreakerState | '';
}

/** Telemetry of policies built outside a provider. */
export const NO_TELEMETRY: PolicyTelemetry = Object.freeze({
  resiliencyName: '',
  namespace: '',
  target: '',
  direction: 'outbound',
});

/** Publishes an activation if anyone listens. */
export function publishActivated(
  telemetry: PolicyTelemetry,
  policy: PolicyKind,
  name: string,
  status: BreakerState | '' = '',
): void {
  if (resiliencyChannels.activated.hasSubscribers) {
    resiliencyChannels.activated.publish({
      ...telemetry,
      policy,
      name,
      status,
    } satisfies ResiliencyPolicyEvent);
  }
}

/** Publishes an execution if anyone listens. */
export function publishExecuted(
  telemetry: PolicyTelemetry,
  policy: PolicyKind,
  name: string,
  status: BreakerState | '' = '',
): void {
  if (resiliencyChannels.executed.hasSubscribers) {
    resiliencyChannels.executed.publish({
      ...telemetry,
      policy,
      name,
      status,
    } satisfies ResiliencyPolicyEvent);
  }
}
