import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { arch } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { findGo, GoBuildError, type ProgressLog } from './go-build.js';
import { extractZipTree } from './unzip.js';
import { VERSIONS } from './versions.js';

const execFileAsync = promisify(execFile);

/** Oldest Go that builds Kubernetes 1.34 (its go.mod says `go 1.24.0`). */
const MINIMUM_GO = [1, 24] as const;

/** Parses `go1.26.8` into [1, 26]; undefined for anything else (e.g. devel builds). */
function parseGoVersion(text: string): readonly [number, number] | undefined {
  const match = /go(\d+)\.(\d+)/.exec(text);
  return match?.[1] !== undefined && match[2] !== undefined
    ? [Number(match[1]), Number(match[2])]
    : undefined;
}

async function installedGo(): Promise<string | undefined> {
  let go: string;
  try {
    go = findGo();
  } catch {
    return undefined;
  }
  try {
    const { stdout } = await execFileAsync(go, ['env', 'GOVERSION']);
    const version = parseGoVersion(stdout);
    if (version === undefined) return go;
    const [major, minor] = version;
    return major > MINIMUM_GO[0] || (major === MINIMUM_GO[0] && minor >= MINIMUM_GO[1]) ? go : undefined;
  } catch {
    return undefined;
  }
}

/** First http(s) entry of $GOPROXY, else proxy.golang.org. */
function goProxy(): string {
  const entries = (process.env.GOPROXY ?? '').split(/[,|]/).map((e) => e.trim());
  return (entries.find((e) => /^https?:\/\//.test(e)) ?? 'https://proxy.golang.org').replace(/\/+$/, '');
}

/**
 * Returns a usable `go` binary: the installed one if it is at least Go 1.24, otherwise the pinned
 * toolchain module (`golang.org/toolchain@v0.0.1-<go>.linux-<arch>`) unpacked into `<root>/go-<v>/`.
 * Fresh CI images often have no Go, or Debian's 1.19, which is too old to switch toolchains itself.
 */
export async function ensureGoToolchain(root: string, log: ProgressLog): Promise<string> {
  const installed = await installedGo();
  if (installed !== undefined) return installed;
  const version = VERSIONS.goToolchain;
  const dir = join(root, `go-${version}`);
  const go = join(dir, 'bin', 'go');
  if (existsSync(go)) return go;
  const goArch = arch() === 'x64' ? 'amd64' : arch() === 'arm64' ? 'arm64' : undefined;
  if (process.platform !== 'linux' || goArch === undefined) {
    throw new GoBuildError(
      `no Go >= 1.24 installed and no toolchain download for ${process.platform}/${arch()}`,
    );
  }
  const moduleVersion = `v0.0.1-${version}.linux-${goArch}`;
  const url = `${goProxy()}/golang.org/toolchain/@v/${moduleVersion}.zip`;
  log(`[testbin] no Go >= 1.24 found; downloading ${url}`);
  const partial = `${dir}.partial-${process.pid}`;
  await rm(partial, { recursive: true, force: true });
  await mkdir(partial, { recursive: true });
  try {
    const response = await fetch(url);
    if (!response.ok) throw new GoBuildError(`GET ${url}: HTTP ${response.status}`);
    const zipPath = join(partial, 'toolchain.zip');
    await writeFile(zipPath, Buffer.from(await response.arrayBuffer()));
    // Module zips carry no file modes; the go command marks bin/ and pkg/tool/ executable the same way.
    const executable = (p: string): boolean => p.startsWith('bin/') || p.startsWith('pkg/tool/');
    await extractZipTree(zipPath, partial, `golang.org/toolchain@${moduleVersion}/`, (p) =>
      executable(p) ? 0o755 : 0o644,
    );
    await rm(zipPath);
    await rm(dir, { recursive: true, force: true });
    await rename(partial, dir);
  } catch (err) {
    await rm(partial, { recursive: true, force: true });
    if (existsSync(go)) return go;
    throw err instanceof GoBuildError
      ? err
      : new GoBuildError(`downloading Go ${version} failed`, { cause: err });
  }
  log(`[testbin] Go toolchain ${version} unpacked into ${dir}`);
  return go;
}
