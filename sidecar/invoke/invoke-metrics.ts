/**
 * Prometheus metrics for service invocation and resiliency, with daprd's names and labels
 * (pkg/diagnostics/service_monitoring.go, resiliency_monitoring.go). The Prometheus names carry
 * daprd's `runtime_` prefix (`runtime/service_invocation/req_sent_total` →
 * `dapr_runtime_service_invocation_req_sent_total`). Fed only from diagnostics channels.
 */
import type diagnosticsChannel from 'node:diagnostics_channel';
import type { Registry } from 'prom-client';
import { familyMakers } from '../observability/metric-families.js';
import { type ResiliencyPolicyEvent, resiliencyChannels } from '../resiliency/events.js';
import {
  type AclDecisionEvent,
  type InvokeReceivedEvent,
  type InvokeResponseEvent,
  type InvokeResponseSentEvent,
  type InvokeSentEvent,
  invokeChannels,
  type ResiliencyLoadedEvent,
  resiliencyLoadedChannel,
} from './invoke-events.js';

/** Registers the families on `registry` and subscribes; returns the unsubscribe function. */
export function registerInvocationMetrics(
  registry: Registry,
  appId: string,
  bucketsMs: readonly number[],
): () => void {
  const { counter, gauge, histogram } = familyMakers(registry);
  const reqSent = counter(
    'dapr_runtime_service_invocation_req_sent_total',
    'The number of requests sent via service invocation.',
    ['app_id', 'dst_app_id', 'type'],
  );
  const reqRecv = counter(
    'dapr_runtime_service_invocation_req_recv_total',
    'The number of requests received via service invocation.',
    ['app_id', 'src_app_id'],
  );
  const resSent = counter(
    'dapr_runtime_service_invocation_res_sent_total',
    'The number of responses sent via service invocation.',
    ['app_id', 'src_app_id', 'status'],
  );
  const resRecv = counter(
    'dapr_runtime_service_invocation_res_recv_total',
    'The number of responses received via service invocation.',
    ['app_id', 'dst_app_id', 'status', 'type'],
  );
  const resRecvLatency = histogram(
    'dapr_runtime_service_invocation_res_recv_latency_ms',
    'The latency of service invocation response.',
    ['app_id', 'dst_app_id', 'status'],
    bucketsMs,
  );
  const policyLabels = [
    'app_id',
    'name',
    'namespace',
    'policy',
    'flow_direction',
    'target',
    'status',
  ] as const;
  const resLoaded = gauge('dapr_resiliency_loaded', 'Number of resiliency policies loaded.', [
    'app_id',
    'name',
    'namespace',
  ]);
  const resCount = counter(
    'dapr_resiliency_count',
    'Number of times a resiliency policy has been applied to a building block.',
    policyLabels,
  );
  const resActivations = counter(
    'dapr_resiliency_activations_total',
    'Number of times a resiliency policy has been activated in a building block after a failure or after a state change.',
    policyLabels,
  );
  const cbState = gauge(
    'dapr_resiliency_cb_state',
    'A resiliency policy circuit breaker state.',
    policyLabels,
  );
  // Access control (daprd runtime/acl/*): labelled with the caller's SPIFFE identity.
  const aclLabels = ['app_id', 'trustDomain', 'namespace'] as const;
  const acl = {
    appAllowed: counter(
      'dapr_runtime_acl_app_policy_action_allowed_total',
      'The number of requests allowed by the app specific action specified in the access control policy.',
      aclLabels,
    ),
    appBlocked: counter(
      'dapr_runtime_acl_app_policy_action_blocked_total',
      'The number of requests blocked by the app specific action specified in the access control policy.',
      aclLabels,
    ),
    globalAllowed: counter(
      'dapr_runtime_acl_global_policy_action_allowed_total',
      'The number of requests allowed by the global action specified in the access control policy.',
      aclLabels,
    ),
    globalBlocked: counter(
      'dapr_runtime_acl_global_policy_action_blocked_total',
      'The number of requests blocked by the global action specified in the access control policy.',
      aclLabels,
    ),
  };
  const type = (streaming: boolean): string => (streaming ? 'streaming' : 'unary');
  const offs: (() => void)[] = [];
  const on = <T>(ch: diagnosticsChannel.Channel, fn: (e: T) => void): void => {
    const l = (m: unknown): void => fn(m as T);
    ch.subscribe(l);
    offs.push(() => ch.unsubscribe(l));
  };
  on(invokeChannels.requestSent, (e: InvokeSentEvent) =>
    reqSent.inc({ app_id: appId, dst_app_id: e.destinationAppId, type: type(e.streaming) }),
  );
  on(invokeChannels.responseReceived, (e: InvokeResponseEvent) => {
    resRecv.inc({ app_id: appId, dst_app_id: e.destinationAppId, status: e.status, type: type(e.streaming) });
    resRecvLatency.observe({ app_id: appId, dst_app_id: e.destinationAppId, status: e.status }, e.latencyMs);
  });
  on(invokeChannels.requestReceived, (e: InvokeReceivedEvent) =>
    reqRecv.inc({ app_id: appId, src_app_id: e.sourceAppId }),
  );
  on(invokeChannels.responseSent, (e: InvokeResponseSentEvent) =>
    resSent.inc({ app_id: appId, src_app_id: e.sourceAppId, status: e.status }),
  );
  on(invokeChannels.aclDecision, (e: AclDecisionEvent) => {
    const labels = { app_id: e.appId, trustDomain: e.trustDomain, namespace: e.namespace };
    if (e.policy === 'app') (e.allowed ? acl.appAllowed : acl.appBlocked).inc(labels);
    else (e.allowed ? acl.globalAllowed : acl.globalBlocked).inc(labels);
  });
  on(resiliencyLoadedChannel, (e: ResiliencyLoadedEvent) =>
    resLoaded.set({ app_id: appId, name: e.name, namespace: e.namespace }, 1),
  );
  const labels = (e: ResiliencyPolicyEvent) => ({
    app_id: appId,
    name: e.resiliencyName,
    namespace: e.namespace,
    policy: e.policy,
    flow_direction: e.direction,
    target: e.target,
    status: e.status,
  });
  on(resiliencyChannels.executed, (e: ResiliencyPolicyEvent) => resCount.inc(labels(e)));
  on(resiliencyChannels.activated, (e: ResiliencyPolicyEvent) => {
    resActivations.inc(labels(e));
    if (e.policy === 'circuitbreaker') {
      for (const s of ['closed', 'half-open', 'open'] as const)
        cbState.set({ ...labels(e), status: s }, s === e.status ? 1 : 0);
    }
  });
  return () => {
    for (const off of offs.splice(0)) off();
  };
}
