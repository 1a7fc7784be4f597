import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AppsV1Api, CoreV1Api } from '@kubernetes/client-node';
import { type ControlPlane, startControlPlane } from '../env/control-plane.js';
import { eventually } from './support/wait.js';

describe('kube-controller-manager and kube-scheduler on the real control plane', () => {
  let cp: ControlPlane;
  const namespace = 'default';

  before(async () => {
    cp = await startControlPlane({ controllerManager: true, scheduler: true, log: (m) => console.log(m) });
  });
  after(async () => {
    await cp?.stop();
  });

  it('turns a Deployment into a ReplicaSet and Pods that the scheduler evaluates', async () => {
    const apps = cp.kubeConfig.makeApiClient(AppsV1Api);
    const core = cp.kubeConfig.makeApiClient(CoreV1Api);
    const labels = { app: 'echo' };
    const deployment = await apps.createNamespacedDeployment({
      namespace,
      body: {
        metadata: { name: 'echo' },
        spec: {
          replicas: 2,
          selector: { matchLabels: labels },
          template: {
            metadata: { labels },
            spec: { containers: [{ name: 'echo', image: 'registry.example/echo:1' }] },
          },
        },
      },
    });

    const replicaSet = await eventually('a ReplicaSet owned by the Deployment', async () => {
      const list = await apps.listNamespacedReplicaSet({ namespace, labelSelector: 'app=echo' });
      return list.items.find((rs) =>
        rs.metadata?.ownerReferences?.some((o) => o.uid === deployment.metadata?.uid),
      );
    });
    assert.equal(replicaSet.spec?.replicas, 2);

    const pods = await eventually('two Pods owned by the ReplicaSet', async () => {
      const list = await core.listNamespacedPod({ namespace, labelSelector: 'app=echo' });
      const owned = list.items.filter((p) =>
        p.metadata?.ownerReferences?.some((o) => o.uid === replicaSet.metadata?.uid),
      );
      return owned.length === 2 ? owned : undefined;
    });
    for (const p of pods) {
      // ServiceAccount admission is on because the controller-manager creates `default`.
      assert.equal(p.spec?.serviceAccountName, 'default');
      assert.ok(p.spec?.volumes?.some((v) => v.name.startsWith('kube-api-access-')));
    }

    // No node exists, so the scheduler marks the pods Unschedulable: proof it ran and saw them.
    await eventually('the scheduler to report the pods unschedulable', async () => {
      const list = await core.listNamespacedPod({ namespace, labelSelector: 'app=echo' });
      const all = list.items.every((p) =>
        p.status?.conditions?.some(
          (c) => c.type === 'PodScheduled' && c.status === 'False' && c.reason === 'Unschedulable',
        ),
      );
      return all && list.items.length === 2 ? true : undefined;
    });

    const status = await eventually('the Deployment status to count its replicas', async () => {
      const d = await apps.readNamespacedDeployment({ name: 'echo', namespace });
      return d.status?.replicas === 2 ? d.status : undefined;
    });
    assert.equal(status.readyReplicas ?? 0, 0);
  });
});
