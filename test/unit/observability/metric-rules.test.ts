import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { invokeChannels } from '../../../sidecar/invoke/invoke-events.js';
import { type ApiRequestEvent, channels } from '../../../sidecar/observability/events.js';
import { SidecarMetrics } from '../../../sidecar/observability/metrics.js';
import type { ConfigurationResource } from '../../../sidecar/spec/configuration.js';
import { parseResourceFile } from '../../../sidecar/spec/resources.js';

function configuration(metrics: string): { config?: ConfigurationResource; problems: string[] } {
  const { resources, problems } = parseResourceFile(
    'config.yaml',
    `apiVersion: dapr.io/v1alpha1
kind: Configuration
metadata:
  name: rules
spec:
  metrics:
${metrics}`,
  );
  const config = resources.find((r) => r.kind === 'Configuration') as ConfigurationResource | undefined;
  return {
    ...(config === undefined ? {} : { config }),
    problems: problems.map((p) => `${p.field}: ${p.rule}`),
  };
}

describe('spec.metrics.rules', () => {
  it('records a label value an expression matches as its replacement, in the named metric only', async () => {
    const { config, problems } = configuration(`    rules:
      - name: dapr_runtime_service_invocation_req_sent_total
        labels:
          - name: dst_app_id
            regex:
              "orders": "^orders-[0-9a-f]+$"
      - name: dapr_http_server_request_count
        labels:
          - name: path
            regex:
              "/v1.0/invoke/orders/method/items/": "^/v1.0/invoke/orders/method/items/"
      - name: dapr_no_such_metric
        labels: []`);
    assert.deepEqual(problems, []);
    const metrics = new SidecarMetrics({ appId: 'checkout', rules: config?.metric.rules ?? [] });
    try {
      assert.deepEqual(metrics.unknownRuleMetrics, ['dapr_no_such_metric']);
      for (const id of ['orders-1a', 'orders-2b', 'payments'])
        invokeChannels.requestSent.publish({ destinationAppId: id, streaming: false });
      for (const item of ['1', '2']) {
        const event: ApiRequestEvent = {
          protocol: 'http',
          method: 'GET',
          route: '/v1.0/invoke/*',
          path: `/v1.0/invoke/orders/method/items/${item}`,
          status: 200,
          durationMs: 1,
          appId: 'checkout',
          requestBytes: 0,
          responseBytes: 0,
        };
        channels.apiRequest.publish(event);
      }
      const text = await metrics.registry.metrics();
      assert.match(
        text,
        /dapr_runtime_service_invocation_req_sent_total\{app_id="checkout",dst_app_id="orders",type="unary"\} 2\n/,
      );
      assert.match(text, /dst_app_id="payments",type="unary"\} 1\n/);
      assert.match(
        text,
        /dapr_http_server_request_count\{app_id="checkout",method="GET",path="\/v1.0\/invoke\/orders\/method\/items\/",status="200"\} 2\n/,
      );
      // The latency family has no rule: its paths stay as they were.
      assert.match(
        text,
        /dapr_http_server_latency_count\{[^}]*path="\/v1.0\/invoke\/orders\/method\/items\/1"/,
      );
    } finally {
      metrics.close();
    }
  });

  it('refuses an expression that does not compile, and a rule without a name', () => {
    const { problems } = configuration(`    rules:
      - name: dapr_http_server_request_count
        labels:
          - name: path
            regex:
              "x": "([unclosed"
      - labels: []`);
    assert.equal(problems.length, 2, problems.join('\n'));
    assert.match(
      problems[0] ?? '',
      /spec\.metrics\.rules\[0\]\.labels\[0\]\.regex\.x: not a valid regular expression/,
    );
    assert.match(problems[1] ?? '', /spec\.metrics\.rules\[1\]\.name/);
  });
});
