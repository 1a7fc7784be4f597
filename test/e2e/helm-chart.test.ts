/**
 * The helm chart (helm/outrigger) against a real kube-apiserver: it lints, renders, is accepted by
 * the apiserver, installs with helm, runs sentry with flags sentry parses, and grants sentry the
 * RBAC it needs (proved by running sentry as the chart's ServiceAccount) and nothing broader.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { CoreV1Api } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { bootstrapCaBundle } from '../../operator/sentry/ca-bundle.js';
import { KubernetesCaStore } from '../../operator/sentry/ca-store-kubernetes.js';
import { parseSentryConfig } from '../../operator/sentry/config.js';
import { type ControlPlane, requestServiceAccountToken, startControlPlane } from '../env/control-plane.js';
import {
  freePort,
  ManagedProcess,
  makeTempDir,
  removeTempDir,
  runCommand,
  waitForPort,
} from '../env/process.js';
import { repoRoot } from './support/repo-root.js';

const NAMESPACE = 'dapr-system';
const chartDir = join(repoRoot(), 'helm', 'outrigger');
const SENTRY_MAIN = fileURLToPath(new URL('../../operator/sentry/main.js', import.meta.url));

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
  [key: string]: unknown;
}

interface Container {
  name: string;
  command?: string[];
  args?: string[];
  ports?: Array<{ name: string; containerPort: number }>;
  readinessProbe?: { tcpSocket?: { port: string | number } };
  livenessProbe?: { tcpSocket?: { port: string | number } };
}

/** Splits a multi-document manifest into objects (empty documents dropped). */
function objectsOf(manifest: string): K8sObject[] {
  return parseAllDocuments(manifest)
    .map((d) => d.toJS() as K8sObject | null)
    .filter((o): o is K8sObject => o !== null && typeof o === 'object' && 'kind' in o);
}

function find(objects: readonly K8sObject[], kind: string, name: string): K8sObject {
  const o = objects.find((x) => x.kind === kind && x.metadata.name === name);
  assert.ok(
    o,
    `rendered chart has ${kind}/${name}; got ${objects.map((x) => `${x.kind}/${x.metadata.name}`).join(', ')}`,
  );
  return o;
}

function sentryContainer(objects: readonly K8sObject[]): Container {
  const deployment = find(objects, 'Deployment', 'dapr-sentry') as K8sObject & {
    spec: { template: { spec: { serviceAccountName: string; containers: Container[] } } };
  };
  assert.equal(deployment.spec.template.spec.serviceAccountName, 'dapr-sentry');
  const container = deployment.spec.template.spec.containers.find((c) => c.name === 'dapr-sentry');
  assert.ok(container, 'sentry Deployment has a dapr-sentry container');
  return container;
}

describe('helm chart helm/outrigger on a real kube-apiserver', () => {
  let cp: ControlPlane;
  let dir: string;
  let core: CoreV1Api;
  const processes: ManagedProcess[] = [];

  const template = async (...extra: string[]): Promise<string> =>
    (await cp.helm(['template', 'outrigger', chartDir, '--namespace', NAMESPACE, ...extra])).stdout;

  /** `kubectl auth can-i` as sentry's ServiceAccount. */
  const sentryCan = async (...args: string[]): Promise<boolean> => {
    const res = await runCommand(
      cp.binaries.kubectl,
      [
        `--kubeconfig=${cp.kubeconfigPath}`,
        'auth',
        'can-i',
        `--as=system:serviceaccount:${NAMESPACE}:dapr-sentry`,
        ...args,
      ],
      { allowFailure: true },
    );
    const answer = res.stdout.trim();
    assert.ok(
      answer === 'yes' || answer === 'no',
      `kubectl auth can-i ${args.join(' ')}: ${res.stdout}${res.stderr}`,
    );
    return answer === 'yes';
  };

  /** Runs sentry with the chart's args as the chart's ServiceAccount; resolves once it serves. */
  const runSentryAsChart = async (args: readonly string[], name: string): Promise<ManagedProcess> => {
    const { token } = await requestServiceAccountToken(cp, {
      namespace: NAMESPACE,
      serviceAccount: 'dapr-sentry',
    });
    const kubeconfig = join(dir, `${name}.kubeconfig`);
    await writeFile(
      kubeconfig,
      [
        'apiVersion: v1',
        'kind: Config',
        'clusters:',
        '- name: test',
        '  cluster:',
        `    server: ${cp.server}`,
        `    certificate-authority-data: ${Buffer.from(cp.caPem).toString('base64')}`,
        'users:',
        '- name: dapr-sentry',
        '  user:',
        `    token: ${token}`,
        'contexts:',
        '- name: test',
        '  context: { cluster: test, user: dapr-sentry }',
        'current-context: test',
        '',
      ].join('\n'),
      { mode: 0o600 },
    );
    const port = await freePort();
    // The chart's args first, then what only differs because this is not a pod: the later
    // occurrence of a flag wins.
    const proc = await ManagedProcess.start({
      name,
      command: process.execPath,
      args: [
        SENTRY_MAIN,
        ...args,
        `--kubeconfig=${kubeconfig}`,
        '--listen-address=127.0.0.1',
        `--port=${port}`,
        `--metrics-port=${await freePort()}`,
      ],
      logFile: join(dir, `${name}.log`),
    });
    processes.push(proc);
    await waitForPort('127.0.0.1', port, 30_000, { process: proc });
    return proc;
  };

  before(async () => {
    cp = await startControlPlane({ log: (m: string) => process.stderr.write(`# ${m}\n`) });
    core = cp.kubeConfig.makeApiClient(CoreV1Api);
    dir = await makeTempDir('helm-chart');
    await cp.kubectl(['create', 'namespace', NAMESPACE]);
  });

  after(async () => {
    for (const p of processes) await p.stop();
    await cp?.stop();
    if (dir !== undefined) await removeTempDir(dir);
  });

  it('passes helm lint --strict', async () => {
    const { stdout } = await cp.helm(['lint', chartDir, '--strict']);
    assert.match(stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/);
  });

  it('ships CRDs byte-identical to the ones in crds/', () => {
    const source = join(repoRoot(), 'crds');
    const chartCrds = join(chartDir, 'crds');
    const names = readdirSync(source)
      .filter((f) => f.endsWith('.yaml'))
      .sort();
    assert.deepEqual(
      readdirSync(chartCrds).sort(),
      names,
      'same file names in helm/outrigger/crds and crds/',
    );
    for (const f of names) {
      assert.ok(
        readFileSync(join(chartCrds, f)).equals(readFileSync(join(source, f))),
        `helm/outrigger/crds/${f} differs from crds/${f}: copy it again`,
      );
    }
  });

  it('renders only CRDs and sentry objects, all accepted by kubectl apply --dry-run=server', async () => {
    const rendered = await template('--include-crds');
    const objects = objectsOf(rendered);
    const crds = objects.filter((o) => o.kind === 'CustomResourceDefinition');
    assert.deepEqual(crds.map((o) => o.metadata.name).sort(), [
      'components.dapr.io',
      'configurations.dapr.io',
      'httpendpoints.dapr.io',
      'resiliencies.dapr.io',
      'subscriptions.dapr.io',
    ]);
    const rest = objects.filter((o) => o.kind !== 'CustomResourceDefinition');
    assert.deepEqual(rest.map((o) => `${o.kind}/${o.metadata.name}`).sort(), [
      'ClusterRole/dapr-sentry',
      'ClusterRoleBinding/dapr-sentry',
      'Deployment/dapr-sentry',
      'Role/dapr-sentry',
      'RoleBinding/dapr-sentry',
      'Service/dapr-sentry',
      'ServiceAccount/dapr-sentry',
    ]);
    // CRDs for real first, so that anything typed by them in the output could be checked too.
    await cp.kubectl(['apply', '--server-side', '-f', '-'], {
      input: crds.map((o) => JSON.stringify(o)).join('\n'),
    });
    await cp.kubectl(['wait', '--for=condition=Established', '--timeout=60s', 'crd', '--all']);
    const { stdout } = await cp.kubectl(['apply', '--dry-run=server', '-f', '-'], { input: rendered });
    for (const o of objects) {
      const name = o.metadata.name.replace(/\./g, '\\.');
      const line = new RegExp(
        `^${o.kind.toLowerCase()}(\\.[a-z0-9.]+)?/${name} (created|configured|unchanged) \\(server dry run\\)$`,
        'm',
      );
      assert.match(stdout, line, `${o.kind}/${o.metadata.name} accepted: ${stdout}`);
    }
  });

  it('runs sentry with flags sentry itself parses, on the ports the Service and probes use', async () => {
    const objects = objectsOf(await template());
    const c = sentryContainer(objects);
    assert.deepEqual(c.command, ['node', 'dist/operator/sentry/main.js']);
    const args = c.args ?? [];
    const config = parseSentryConfig(args, {});
    assert.equal(config.mode, 'kubernetes');
    assert.equal(config.trustDomain, 'cluster.local');
    assert.equal(config.namespace, NAMESPACE);
    assert.equal(config.workloadTtlMs, 24 * 3_600_000);
    assert.equal(config.skewMs, 15 * 60_000);
    assert.deepEqual(config.positionals, []);
    const grpcPort = c.ports?.find((p) => p.name === 'grpc')?.containerPort;
    assert.equal(grpcPort, config.port);
    assert.equal(c.ports?.find((p) => p.name === 'metrics')?.containerPort, config.metricsPort);
    assert.equal(c.readinessProbe?.tcpSocket?.port, 'grpc');
    assert.equal(c.livenessProbe?.tcpSocket?.port, 'grpc');
    const service = find(objects, 'Service', 'dapr-sentry') as K8sObject & {
      spec: { ports: Array<{ name: string; port: number; targetPort: string }> };
    };
    assert.deepEqual(
      service.spec.ports.find((p) => p.name === 'grpc'),
      { name: 'grpc', protocol: 'TCP', port: 443, targetPort: 'grpc' },
    );
  });

  it('passes trust domain, certificate TTL, clock skew and image values through', async () => {
    const objects = objectsOf(
      await template(
        '--set-string=global.trustDomain=example.org',
        '--set-string=sentry.workloadCertTTL=1h',
        '--set-string=sentry.allowedClockSkew=2m',
        '--set-string=image.repository=registry.example/outrigger',
        '--set-string=image.tag=dev',
        '--set-string=image.pullPolicy=Never',
      ),
    );
    const c = sentryContainer(objects) as Container & { image: string; imagePullPolicy: string };
    const config = parseSentryConfig(c.args ?? [], {});
    assert.equal(config.trustDomain, 'example.org');
    assert.equal(config.workloadTtlMs, 3_600_000);
    assert.equal(config.skewMs, 120_000);
    assert.equal(c.image, 'registry.example/outrigger:dev');
    assert.equal(c.imagePullPolicy, 'Never');
    const defaults = sentryContainer(objectsOf(await template())) as Container & { image: string };
    assert.equal(defaults.image, 'outrigger:0.1.0', 'tag defaults to appVersion');
  });

  it('installs with helm and says in NOTES that only CRDs and sentry exist today', async () => {
    const { stdout } = await cp.helm(['install', 'outrigger', chartDir, '--namespace', NAMESPACE]);
    assert.match(stdout, /STATUS: deployed/);
    assert.match(stdout, /the dapr\.io CRDs/);
    assert.match(stdout, /sentry, the certificate authority/);
    assert.match(stdout, /Not installed yet: the operator and the sidecar injector/);
    const { stdout: list } = await cp.helm(['list', '--namespace', NAMESPACE, '-o', 'json']);
    const releases = JSON.parse(list) as Array<{ name: string; status: string }>;
    assert.deepEqual(
      releases.map((r) => [r.name, r.status]),
      [['outrigger', 'deployed']],
    );
  });

  it("grants sentry's ServiceAccount what sentry calls and nothing broader", async () => {
    const yes = [
      ['create', 'tokenreviews.authentication.k8s.io'],
      ['get', 'pods', '-n', 'team-a'],
      ['get', 'configurations.dapr.io', '-n', 'team-a'],
      ['create', 'secrets', '-n', NAMESPACE],
      ['create', 'configmaps', '-n', NAMESPACE],
      ['get', 'secrets/dapr-trust-bundle', '-n', NAMESPACE],
      ['update', 'secrets/dapr-trust-bundle', '-n', NAMESPACE],
      ['get', 'configmaps/dapr-trust-bundle', '-n', NAMESPACE],
      ['update', 'configmaps/dapr-trust-bundle', '-n', NAMESPACE],
    ];
    const no = [
      ['list', 'pods', '-n', 'team-a'],
      ['get', 'secrets', '-n', 'team-a'],
      ['get', 'secrets/other', '-n', NAMESPACE],
      ['delete', 'secrets/dapr-trust-bundle', '-n', NAMESPACE],
      ['create', 'secrets', '-n', 'team-a'],
      ['update', 'configurations.dapr.io', '-n', 'team-a'],
      ['get', 'components.dapr.io', '-n', 'team-a'],
    ];
    for (const a of yes) assert.equal(await sentryCan(...a), true, `sentry may ${a.join(' ')}`);
    for (const a of no) assert.equal(await sentryCan(...a), false, `sentry may not ${a.join(' ')}`);
  });

  it("bootstraps the CA as the chart's ServiceAccount with the chart's flags", async () => {
    const args = sentryContainer(objectsOf(await template())).args ?? [];
    const sentry = await runSentryAsChart(args, 'sentry-bootstrap');
    const secret = await core.readNamespacedSecret({ name: 'dapr-trust-bundle', namespace: NAMESPACE });
    const cm = await core.readNamespacedConfigMap({ name: 'dapr-trust-bundle', namespace: NAMESPACE });
    const caCrt = Buffer.from(secret.data?.['ca.crt'] ?? '', 'base64').toString('utf8');
    assert.match(caCrt, /BEGIN CERTIFICATE/);
    assert.equal(cm.data?.['ca.crt'], caCrt);
    await sentry.stop();
    // Remove what sentry made so the bring-your-own test below starts from an empty namespace.
    await cp.kubectl(['delete', 'secret,configmap', 'dapr-trust-bundle', '-n', NAMESPACE]);
  });

  it('renders no trust-bundle Secret by default and refuses an incomplete bring-your-own set', async () => {
    assert.equal(objectsOf(await template()).filter((o) => o.kind === 'Secret').length, 0);
    await assert.rejects(
      template('--set-string=sentry.tls.root.certPEM=x'),
      /give all of root\.certPEM, issuer\.certPEM and issuer\.keyPEM/,
    );
  });

  it('with bring-your-own PEMs creates dapr-trust-bundle, which sentry loads and publishes', async () => {
    const pem = bootstrapCaBundle({
      trustDomain: 'cluster.local',
      namespace: NAMESPACE,
      validityMs: 24 * 3_600_000,
      skewMs: 60_000,
      now: new Date(),
    }).pem;
    const files = {
      root: join(dir, 'root.crt'),
      issuer: join(dir, 'issuer.crt'),
      key: join(dir, 'issuer.key'),
    };
    await writeFile(files.root, pem.caCrt);
    await writeFile(files.issuer, pem.issuerCrt);
    await writeFile(files.key, pem.issuerKey);
    const byo = [
      `--set-file=sentry.tls.root.certPEM=${files.root}`,
      `--set-file=sentry.tls.issuer.certPEM=${files.issuer}`,
      `--set-file=sentry.tls.issuer.keyPEM=${files.key}`,
    ];
    const rendered = await template(...byo);
    const secret = find(objectsOf(rendered), 'Secret', 'dapr-trust-bundle') as K8sObject & {
      data: Record<string, string>;
    };
    const decoded = Object.fromEntries(
      Object.entries(secret.data).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]),
    );
    assert.deepEqual(decoded, {
      'ca.crt': pem.caCrt,
      'issuer.crt': pem.issuerCrt,
      'issuer.key': pem.issuerKey,
    });
    await cp.kubectl(['apply', '--dry-run=server', '-f', '-'], { input: rendered });

    const { stdout } = await cp.helm(['upgrade', 'outrigger', chartDir, '--namespace', NAMESPACE, ...byo]);
    assert.match(stdout, /It uses the root and issuer you gave/);
    const loaded = await new KubernetesCaStore(cp.kubeConfig, NAMESPACE).load();
    assert.deepEqual(loaded, pem);

    // Sentry, with the chart's RBAC, takes the given root instead of generating one.
    const args = sentryContainer(objectsOf(await template(...byo))).args ?? [];
    const sentry = await runSentryAsChart(args, 'sentry-byo');
    const cm = await core.readNamespacedConfigMap({ name: 'dapr-trust-bundle', namespace: NAMESPACE });
    assert.equal(cm.data?.['ca.crt'], pem.caCrt);
    await sentry.stop();
  });
});
