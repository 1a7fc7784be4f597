import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type ProgressLog, runGo } from './go-build.js';
import { ensureGoToolchain } from './go-toolchain.js';
import { provisionCached, testbinRoot } from './kube-binaries.js';
import { sourceTreePath } from './source-tree.js';
import { VERSIONS } from './versions.js';

/** The probe's Go source, in the source tree next to this file's TypeScript. */
const SOURCE = sourceTreePath('test/env/grpc-go-probe/main.go');

/**
 * Builds (once per grpc-go version and source; cached in the testbin folder) the grpc-go client
 * used by the internal-API compatibility tests and returns its path.
 */
export async function ensureGrpcGoProbe(log: ProgressLog = () => {}): Promise<string> {
  const root = testbinRoot();
  await mkdir(root, { recursive: true });
  const source = await readFile(SOURCE);
  const version = `${VERSIONS.grpcGo}-${createHash('sha256').update(source).digest('hex').slice(0, 12)}`;
  const dir = await provisionCached('grpc-go-probe', version, root, ['grpc-go-probe'], log, async (out) => {
    const go = await ensureGoToolchain(root, log);
    const mod = join(out, 'src');
    await mkdir(mod, { recursive: true });
    await copyFile(SOURCE, join(mod, 'main.go'));
    await writeFile(join(mod, 'go.mod'), 'module outrigger.test/grpcgoprobe\n\ngo 1.24\n');
    await runGo(['get', `google.golang.org/grpc@${VERSIONS.grpcGo}`], { cwd: mod, log, go });
    await runGo(['mod', 'tidy'], { cwd: mod, log, go });
    await runGo(['build', '-o', join(out, 'grpc-go-probe'), '.'], { cwd: mod, log, go });
  });
  return join(dir, 'grpc-go-probe');
}

/** What the probe printed. */
export interface ProbeResult {
  readonly code: number;
  readonly message: string;
  readonly header: Record<string, string[]>;
  readonly trailer: Record<string, string[]>;
  readonly messages: Buffer[];
  /** The server's SPIFFE ID (mTLS calls). */
  readonly peer: string;
}

/** mTLS material for the probe (PEM files); without `cert`/`key` no client certificate is sent. */
export interface ProbeTls {
  readonly ca: string;
  readonly cert?: string;
  readonly key?: string;
}

/** Calls `method` on `address` with the encoded `messages` (one for a unary call). */
export function runGrpcGoProbe(
  probe: string,
  address: string,
  method: string,
  messages: readonly Buffer[],
  stream: boolean,
  tls?: ProbeTls,
): Promise<ProbeResult> {
  return new Promise((resolve, reject) => {
    const args = ['-addr', address, '-method', method, ...(stream ? ['-stream'] : [])];
    if (tls !== undefined) {
      args.push('-ca', tls.ca);
      if (tls.cert !== undefined && tls.key !== undefined) args.push('-cert', tls.cert, '-key', tls.key);
    }
    const child = execFile(probe, args, { maxBuffer: 256 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err !== null) {
        reject(new Error(`grpc-go-probe failed: ${err.message} ${stderr}`));
        return;
      }
      const raw = JSON.parse(stdout) as Omit<ProbeResult, 'messages'> & { messages: string[] };
      resolve({ ...raw, messages: raw.messages.map((m) => Buffer.from(m, 'hex')) });
    });
    child.stdin?.end(messages.map((m) => `${m.toString('hex')}\n`).join(''));
  });
}
