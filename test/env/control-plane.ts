import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import type { ProgressLog } from './go-build.js';
import { ensureKubeBinaries, type KubeBinaries } from './kube-binaries.js';
import { type CertificateKeyPair, createTestCertificateAuthority, generateRsaKeyPair } from './pki.js';
import { freePort } from './process.js';

export {
  requestServiceAccountToken,
  type ServiceAccountToken,
  type ServiceAccountTokenRequest,
} from './service-account-token.js';

/** Options for {@link startControlPlane}. */
export interface ControlPlaneOptions {
  /** Also run kube-controller-manager (Deployments → ReplicaSets → Pods, service accounts, GC). */
  readonly controllerManager?: boolean;
  /** Also run kube-scheduler (binds pods; no node exists unless the test creates one). */
  readonly scheduler?: boolean;
  /** Binaries to use; provisioned with {@link ensureKubeBinaries} when omitted. */
  readonly binaries?: KubeBinaries;
  /** Extra kube-apiserver flags (`--name=value`), appended after the defaults. */
  readonly extraApiServerArgs?: readonly string[];
  /** How long to wait for each component to become healthy; default 90 s. */
  readonly startTimeoutMs?: number;
  /** Progress sink. */
  readonly log?: ProgressLog;
}

/** Result of running kubectl or helm against a control plane. */
export interface CommandResult {
  /** Captured standard output. */
  readonly stdout: string;
  /** Captured standard error. */
  readonly stderr: string;
}

/** Options for {@link ControlPlane.kubectl} and {@link ControlPlane.helm}. */
export interface CommandOptions {
  /** Written to the command's stdin (e.g. manifests for `apply -f -`). */
  readonly input?: string;
  /** Working directory. */
  readonly cwd?: string;
}

/** A running etcd + kube-apiserver (+ optional controller-manager and scheduler) on loopback. */
export interface ControlPlane {
  /** Path of an admin kubeconfig (client cert in `system:masters`). */
  readonly kubeconfigPath: string;
  /** The same admin config loaded into @kubernetes/client-node. */
  readonly kubeConfig: KubeConfig;
  /** `https://127.0.0.1:<port>` of kube-apiserver. */
  readonly server: string;
  /** PEM of the CA that signed the apiserver serving cert and the client certs it trusts. */
  readonly caPem: string;
  /** Admin client certificate PEM (CN=outrigger-admin, O=system:masters). */
  readonly adminCert: string;
  /** Admin client key PEM. */
  readonly adminKey: string;
  /** Issuer of service-account tokens (`iss` claim); equals {@link ControlPlane.server}. */
  readonly serviceAccountIssuer: string;
  /** PEM public key that verifies service-account tokens. */
  readonly serviceAccountPublicKeyPem: string;
  /** Binaries this control plane runs. */
  readonly binaries: KubeBinaries;
  /** Temp directory holding certs, etcd data and one `<component>.log` per process. */
  readonly dir: string;
  /** Issues a client certificate signed by the cluster CA, e.g. for a non-admin user. */
  issueClientCertificate(user: string, groups?: readonly string[]): CertificateKeyPair;
  /** Runs kubectl with the admin kubeconfig; rejects with stderr on a non-zero exit. */
  kubectl(args: readonly string[], options?: CommandOptions): Promise<CommandResult>;
  /** Runs helm with the admin kubeconfig and private helm home dirs; rejects on a non-zero exit. */
  helm(args: readonly string[], options?: CommandOptions): Promise<CommandResult>;
  /** Stops every process by PID (SIGTERM, then SIGKILL) and removes the temp directory. */
  stop(): Promise<void>;
}

/** Thrown when a component does not come up; the message carries the tail of its log. */
export class ControlPlaneStartError extends Error {
  /** Creates the error for `component`. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ControlPlaneStartError';
  }
}

interface Managed {
  readonly name: string;
  readonly child: ChildProcess;
  readonly logPath: string;
  exited: boolean;
}

/** Starts a fresh control plane in a temp directory, following controller-runtime's envtest. */
export async function startControlPlane(options: ControlPlaneOptions = {}): Promise<ControlPlane> {
  const binaries = options.binaries ?? (await ensureKubeBinaries(options.log));
  // Ports are picked free and then handed to the child, so another process can grab one in
  // between; that shows up as "address already in use" and is retried with new ports.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(options, binaries);
    } catch (err) {
      if (
        attempt >= 3 ||
        !(err instanceof ControlPlaneStartError) ||
        !/address already in use/.test(err.message)
      ) {
        throw err;
      }
      options.log?.(`[control-plane] port taken meanwhile, retrying (${err.message.split('\n')[0]})`);
    }
  }
}

async function startOnce(options: ControlPlaneOptions, binaries: KubeBinaries): Promise<ControlPlane> {
  const log = options.log ?? (() => {});
  const timeoutMs = options.startTimeoutMs ?? 90_000;
  const dir = await mkdtemp(join(tmpdir(), 'outrigger-cp-'));
  const processes: Managed[] = [];
  const killAll = (): void => {
    for (const p of processes) if (!p.exited && p.child.pid !== undefined) p.child.kill('SIGKILL');
  };
  // If the test process exits without calling stop(), do not leave servers behind.
  process.once('exit', killAll);

  const spawnLogged = (name: string, binary: string, args: readonly string[]): Managed => {
    const logPath = join(dir, `${name}.log`);
    const fd = openSync(logPath, 'a');
    const child = spawn(binary, [...args], { stdio: ['ignore', fd, fd] });
    closeSync(fd);
    const managed: Managed = { name, child, logPath, exited: false };
    child.once('exit', () => {
      managed.exited = true;
    });
    child.once('error', () => {
      managed.exited = true;
    });
    processes.push(managed);
    return managed;
  };

  const stop = async (): Promise<void> => {
    process.removeListener('exit', killAll);
    for (const p of [...processes].reverse()) await stopProcess(p);
    await rm(dir, { recursive: true, force: true });
  };

  try {
    const ca = createTestCertificateAuthority('outrigger-test-ca');
    const serving = ca.issue({
      commonName: 'kube-apiserver',
      dnsNames: ['localhost', 'kubernetes', 'kubernetes.default', 'kubernetes.default.svc'],
      ipAddresses: ['127.0.0.1', '10.0.0.1'],
      usage: 'server',
    });
    const admin = ca.issue({
      commonName: 'outrigger-admin',
      organizations: ['system:masters'],
      usage: 'client',
    });
    const sa = generateRsaKeyPair();
    const files = {
      ca: join(dir, 'ca.crt'),
      caKey: join(dir, 'ca.key'),
      servingCert: join(dir, 'apiserver.crt'),
      servingKey: join(dir, 'apiserver.key'),
      saKey: join(dir, 'sa.key'),
      saPub: join(dir, 'sa.pub'),
      kubeconfig: join(dir, 'admin.kubeconfig'),
    };
    await Promise.all([
      writeFile(files.ca, ca.certPem),
      writeFile(files.caKey, ca.keyPem, { mode: 0o600 }),
      writeFile(files.servingCert, serving.certPem),
      writeFile(files.servingKey, serving.keyPem, { mode: 0o600 }),
      writeFile(files.saKey, sa.privateKeyPem, { mode: 0o600 }),
      writeFile(files.saPub, sa.publicKeyPem),
    ]);

    const [etcdClientPort, etcdPeerPort, apiPort] = await distinctFreePorts(3);
    const etcdUrl = `http://127.0.0.1:${etcdClientPort}`;
    const peerUrl = `http://127.0.0.1:${etcdPeerPort}`;
    log(`[control-plane] starting etcd on ${etcdUrl}`);
    const etcd = spawnLogged('etcd', binaries.etcd, [
      `--data-dir=${join(dir, 'etcd-data')}`,
      '--name=default',
      `--listen-client-urls=${etcdUrl}`,
      `--advertise-client-urls=${etcdUrl}`,
      `--listen-peer-urls=${peerUrl}`,
      `--initial-advertise-peer-urls=${peerUrl}`,
      `--initial-cluster=default=${peerUrl}`,
      '--unsafe-no-fsync=true',
      '--log-level=warn',
    ]);
    await waitUntil(etcd, timeoutMs, async () =>
      (await httpGet(`${etcdUrl}/health`)).includes('"health":"true"'),
    );

    const server = `https://127.0.0.1:${apiPort}`;
    const tls = { ca: ca.certPem, cert: admin.certPem, key: admin.keyPem };
    log(`[control-plane] starting kube-apiserver on ${server}`);
    const apiserver = spawnLogged('kube-apiserver', binaries.kubeApiserver, [
      `--etcd-servers=${etcdUrl}`,
      `--cert-dir=${join(dir, 'apiserver-certs')}`,
      `--tls-cert-file=${files.servingCert}`,
      `--tls-private-key-file=${files.servingKey}`,
      `--client-ca-file=${files.ca}`,
      `--secure-port=${apiPort}`,
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      '--service-cluster-ip-range=10.0.0.0/24',
      '--authorization-mode=RBAC',
      '--allow-privileged=true',
      `--service-account-issuer=${server}`,
      `--service-account-key-file=${files.saPub}`,
      `--service-account-signing-key-file=${files.saKey}`,
      // envtest: without the controller-manager nobody creates the `default` ServiceAccount.
      ...(options.controllerManager === true ? [] : ['--disable-admission-plugins=ServiceAccount']),
      ...(options.extraApiServerArgs ?? []),
    ]);
    await waitUntil(apiserver, timeoutMs, async () => (await httpsGet(`${server}/readyz`, tls)) === 'ok');

    const kubeconfigYaml = kubeconfig(server, ca.certPem, admin);
    await writeFile(files.kubeconfig, kubeconfigYaml, { mode: 0o600 });
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromString(kubeconfigYaml);

    if (options.controllerManager === true) {
      log('[control-plane] starting kube-controller-manager');
      spawnLogged('kube-controller-manager', binaries.kubeControllerManager, [
        `--kubeconfig=${files.kubeconfig}`,
        `--authentication-kubeconfig=${files.kubeconfig}`,
        `--authorization-kubeconfig=${files.kubeconfig}`,
        '--secure-port=0',
        '--leader-elect=false',
        `--service-account-private-key-file=${files.saKey}`,
        `--root-ca-file=${files.ca}`,
        `--cluster-signing-cert-file=${files.ca}`,
        `--cluster-signing-key-file=${files.caKey}`,
        '--use-service-account-credentials=true',
        '--controllers=*',
      ]);
    }
    if (options.scheduler === true) {
      log('[control-plane] starting kube-scheduler');
      spawnLogged('kube-scheduler', binaries.kubeScheduler, [
        `--kubeconfig=${files.kubeconfig}`,
        `--authentication-kubeconfig=${files.kubeconfig}`,
        `--authorization-kubeconfig=${files.kubeconfig}`,
        '--secure-port=0',
        '--leader-elect=false',
      ]);
    }
    if (options.controllerManager === true) {
      // Ready once the service-account controller has created the `default` ServiceAccount.
      const core = kubeConfig.makeApiClient(CoreV1Api);
      const kcm = processes.find((p) => p.name === 'kube-controller-manager');
      if (kcm !== undefined) {
        await waitUntil(kcm, timeoutMs, async () => {
          await core.readNamespacedServiceAccount({ name: 'default', namespace: 'default' });
          return true;
        });
      }
    }
    const scheduler = processes.find((p) => p.name === 'kube-scheduler');
    if (scheduler !== undefined) {
      await sleep(200);
      if (scheduler.exited) throw await startFailure(scheduler, 'exited during startup');
    }

    const helmHome = join(dir, 'helm');
    await mkdir(helmHome, { recursive: true });
    const run = (
      binary: string,
      args: readonly string[],
      env: NodeJS.ProcessEnv,
      opts: CommandOptions = {},
    ) => runCommand(binary, args, { ...process.env, ...env }, opts);
    return {
      kubeconfigPath: files.kubeconfig,
      kubeConfig,
      server,
      caPem: ca.certPem,
      adminCert: admin.certPem,
      adminKey: admin.keyPem,
      serviceAccountIssuer: server,
      serviceAccountPublicKeyPem: sa.publicKeyPem,
      binaries,
      dir,
      issueClientCertificate: (user, groups = []) =>
        ca.issue({ commonName: user, organizations: groups, usage: 'client' }),
      kubectl: (args, opts) => run(binaries.kubectl, [`--kubeconfig=${files.kubeconfig}`, ...args], {}, opts),
      helm: (args, opts) =>
        run(
          binaries.helm,
          args,
          {
            KUBECONFIG: files.kubeconfig,
            HELM_CACHE_HOME: join(helmHome, 'cache'),
            HELM_CONFIG_HOME: join(helmHome, 'config'),
            HELM_DATA_HOME: join(helmHome, 'data'),
          },
          opts,
        ),
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

async function distinctFreePorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) ports.add(await freePort());
  return [...ports];
}

/** Polls `probe` until it returns true; fails fast with the log tail if the process exits. */
async function waitUntil(p: Managed, timeoutMs: number, probe: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    if (p.exited)
      throw await startFailure(p, `exited during startup (code ${p.child.exitCode ?? p.child.signalCode})`);
    try {
      if (await probe()) return;
    } catch (err) {
      lastError = err;
    }
    await sleep(250);
  }
  const last = lastError instanceof Error ? ` (last probe error: ${lastError.message})` : '';
  throw await startFailure(p, `not ready after ${timeoutMs} ms${last}`);
}

async function startFailure(p: Managed, reason: string): Promise<ControlPlaneStartError> {
  const text = await readFile(p.logPath, 'utf8').catch(() => '');
  const tail = text.split('\n').slice(-40).join('\n');
  return new ControlPlaneStartError(`${p.name} ${reason}; last lines of ${p.logPath}:\n${tail}`);
}

async function stopProcess(p: Managed): Promise<void> {
  if (p.exited || p.child.pid === undefined) return;
  const exited = new Promise<void>((resolve) => {
    if (p.exited) resolve();
    else p.child.once('exit', () => resolve());
  });
  p.child.kill('SIGTERM');
  const timer = setTimeout(() => {
    if (!p.exited) p.child.kill('SIGKILL');
  }, 10_000);
  await exited;
  clearTimeout(timer);
}

function httpGet(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { timeout: 2000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

function httpsGet(url: string, tls: { ca: string; cert: string; key: string }): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, { ...tls, timeout: 2000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

function kubeconfig(server: string, caPem: string, admin: CertificateKeyPair): string {
  const b64 = (s: string): string => Buffer.from(s).toString('base64');
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: outrigger-test',
    '  cluster:',
    `    server: ${server}`,
    `    certificate-authority-data: ${b64(caPem)}`,
    'users:',
    '- name: outrigger-admin',
    '  user:',
    `    client-certificate-data: ${b64(admin.certPem)}`,
    `    client-key-data: ${b64(admin.keyPem)}`,
    'contexts:',
    '- name: outrigger-test',
    '  context:',
    '    cluster: outrigger-test',
    '    user: outrigger-admin',
    '    namespace: default',
    'current-context: outrigger-test',
    '',
  ].join('\n');
}

function runCommand(
  binary: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  options: CommandOptions,
): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      binary,
      [...args],
      { env, cwd: options.cwd, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error !== null) {
          reject(
            new Error(`${binary} ${args.join(' ')} failed: ${error.message}\n${stderr}`, { cause: error }),
          );
          return;
        }
        resolve({ stdout, stderr });
      },
    );
    if (options.input !== undefined) child.stdin?.end(options.input);
    else child.stdin?.end();
  });
}
