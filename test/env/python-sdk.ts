import { join } from 'node:path';
import type { ProgressLog } from './go-build.js';
import { provisionCached, testbinRoot } from './kube-binaries.js';
import { runCommand } from './process.js';
import { sourceTreePath } from './source-tree.js';
import { VERSIONS } from './versions.js';

/** The probe script, in the source tree (it is not compiled). */
export const PYTHON_SDK_PROBE = sourceTreePath('test/integration/sdk/python/dapr_sdk_probe.py');

/** What runs the probe: the interpreter and the folder the SDK was installed into. */
export interface PythonSdk {
  readonly python: string;
  /** Put on PYTHONPATH. */
  readonly sitePackages: string;
}

/**
 * Installs (once per pinned version and Python minor version; cached in the testbin folder) the
 * official Dapr Python SDK from PyPI into a folder of its own with `pip install --target`, so no
 * virtual environment's absolute paths are baked in and the cache folder can be moved into place.
 */
export async function ensurePythonSdk(log: ProgressLog = () => {}): Promise<PythonSdk> {
  const python = process.env.OUTRIGGER_PYTHON ?? 'python3';
  const probe = await runCommand(python, ['-c', 'import sys; print("%d.%d" % sys.version_info[:2])'], {
    allowFailure: true,
  }).catch((err: unknown) => {
    throw new Error(`the Python SDK tests need python3 (or $OUTRIGGER_PYTHON): ${String(err)}`);
  });
  const [major = 0, minor = 0] = probe.stdout.trim().split('.').map(Number);
  if (probe.code !== 0 || major !== 3 || minor < 9) {
    throw new Error(
      `the Python SDK tests need Python >= 3.9 as ${python}; it printed: ${probe.stdout}${probe.stderr}`,
    );
  }
  const pins = [`dapr[grpc]==${VERSIONS.pythonDaprSdk}`];
  const version = `${VERSIONS.pythonDaprSdk}-py${major}.${minor}`;
  const dir = await provisionCached(
    'python-dapr-sdk',
    version,
    testbinRoot(),
    ['site/dapr/version'],
    log,
    async (out) => {
      await runCommand(
        python,
        [
          '-m',
          'pip',
          'install',
          '--quiet',
          '--disable-pip-version-check',
          '--target',
          join(out, 'site'),
          ...pins,
        ],
        { timeoutMs: 10 * 60_000 },
      );
    },
  );
  return { python, sitePackages: join(dir, 'site') };
}
