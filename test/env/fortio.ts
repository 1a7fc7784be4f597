import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { type ProgressLog, runGo } from './go-build.js';
import { ensureGoToolchain } from './go-toolchain.js';
import { provisionCached, testbinRoot } from './kube-binaries.js';
import { VERSIONS } from './versions.js';

/**
 * Makes sure the pinned fortio binary is in the testbin cache (`go install` from the module proxy
 * when missing, well under a minute) and returns its path. Only the benchmarks need it.
 */
export async function ensureFortio(log: ProgressLog = () => {}): Promise<string> {
  const root = testbinRoot();
  await mkdir(root, { recursive: true });
  const dir = await provisionCached('fortio', VERSIONS.fortio, root, ['fortio'], log, async (out) => {
    const go = await ensureGoToolchain(root, log);
    await runGo(['install', `fortio.org/fortio@${VERSIONS.fortio}`], {
      cwd: out,
      log,
      go,
      env: { GOBIN: out },
    });
  });
  return join(dir, 'fortio');
}
