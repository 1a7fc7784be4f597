/**
 * Diagnostics channels for service invocation; the metrics module subscribes (Dapr's
 * `dapr_runtime_service_invocation_*` families). Core invocation code never imports prom-client.
 */
import diagnosticsChannel from 'node:diagnostics_channel';

/** Invocation channels. */
export const invokeChannels = {
  /** Caller side, a request left for another sidecar: InvokeSentEvent. */
  requestSent: diagnosticsChannel.channel('outrigger:invoke:request-sent'),
  /** Caller side, the response (or an error) came back: InvokeResponseEvent. */
  responseReceived: diagnosticsChannel.channel('outrigger:invoke:response-received'),
  /** Callee side, a request arrived from another sidecar: InvokeReceivedEvent. */
  requestReceived: diagnosticsChannel.channel('outrigger:invoke:request-received'),
  /** Callee side, the app's response was sent back: InvokeResponseSentEvent. */
  responseSent: diagnosticsChannel.channel('outrigger:invoke:response-sent'),
  /** Callee side, access control decided: AclDecisionEvent. */
  aclDecision: diagnosticsChannel.channel('outrigger:invoke:acl'),
} as const;

/** Payload of `requestSent`. */
export interface InvokeSentEvent {
  readonly destinationAppId: string;
  readonly streaming: boolean;
}

/** Payload of `responseReceived`; status is the HTTP status, or a gRPC code for transport errors. */
export interface InvokeResponseEvent {
  readonly destinationAppId: string;
  readonly status: string;
  readonly streaming: boolean;
  readonly latencyMs: number;
}

/** Payload of `requestReceived`. */
export interface InvokeReceivedEvent {
  readonly sourceAppId: string;
}

/** Payload of `responseSent`. */
export interface InvokeResponseSentEvent {
  readonly sourceAppId: string;
  readonly status: string;
}

/** Payload of `aclDecision`. */
export interface AclDecisionEvent {
  readonly allowed: boolean;
  readonly policy: 'global' | 'app';
  readonly appId: string;
  readonly trustDomain: string;
  readonly namespace: string;
  readonly operation: string;
  readonly verb: string;
}

/** Payload of `resiliencyLoaded`: one Resiliency resource in effect for this sidecar. */
export interface ResiliencyLoadedEvent {
  readonly name: string;
  readonly namespace: string;
}

/** Published once per Resiliency resource compiled at start (`dapr_resiliency_loaded`). */
export const resiliencyLoadedChannel = diagnosticsChannel.channel('outrigger:resiliency:loaded');
