/**
 * Where CA credentials live. Kubernetes: Secret + ConfigMap `dapr-trust-bundle`
 * (ca-store-kubernetes.ts). Self-hosted: a directory with `ca.crt`, `issuer.crt`, `issuer.key`
 * (Dapr's `--issuer-credentials`). Both are polled for changes: a change of content, whoever
 * wrote it (the rotate-root CLI, helm, an admin), makes sentry reload without a restart.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CaBundlePem } from './ca-bundle.js';

/** Storage of CA credentials and of the public trust anchors. */
export interface CaStore {
  /** Human-readable location for logs, e.g. `secret dapr-system/dapr-trust-bundle`. */
  readonly description: string;
  /** Reads the credentials; undefined when none are stored yet. */
  load(): Promise<CaBundlePem | undefined>;
  /** Writes the credentials (creating the Secret / files when absent) and publishes `ca.crt`. */
  save(pem: CaBundlePem): Promise<void>;
  /** Publishes only the public trust anchors (ConfigMap `dapr-trust-bundle` / trust file). */
  publishTrustAnchors(caCrt: string): Promise<void>;
}

/** File names inside `--issuer-credentials`, as in Dapr. */
export const CREDENTIAL_FILES = {
  caCrt: 'ca.crt',
  issuerCrt: 'issuer.crt',
  issuerKey: 'issuer.key',
} as const;

/** A short digest identifying one version of the credentials (change detection, logs). */
export function bundleFingerprint(pem: CaBundlePem): string {
  return createHash('sha256')
    .update(pem.caCrt)
    .update('\0')
    .update(pem.issuerCrt)
    .update('\0')
    .update(pem.issuerKey)
    .digest('hex')
    .slice(0, 16);
}

async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** Writes through a temp file and rename, so readers never see half a PEM. */
async function writeAtomic(path: string, data: string, mode: number): Promise<void> {
  const tmp = `${path}.${process.pid}.${Date.now()}.tmp`;
  await writeFile(tmp, data, { mode });
  await rename(tmp, path);
}

/** Self-hosted store: a directory of PEM files, plus an optional separate trust-anchors file. */
export class FileCaStore implements CaStore {
  readonly description: string;
  readonly #dir: string;
  readonly #trustAnchorsFile: string | undefined;

  /** `trustAnchorsFile` receives `ca.crt` too (e.g. a path the sidecars watch). */
  constructor(dir: string, trustAnchorsFile?: string) {
    this.#dir = dir;
    this.#trustAnchorsFile = trustAnchorsFile;
    this.description = `directory ${dir}`;
  }

  async load(): Promise<CaBundlePem | undefined> {
    const [caCrt, issuerCrt, issuerKey] = await Promise.all([
      readOptional(join(this.#dir, CREDENTIAL_FILES.caCrt)),
      readOptional(join(this.#dir, CREDENTIAL_FILES.issuerCrt)),
      readOptional(join(this.#dir, CREDENTIAL_FILES.issuerKey)),
    ]);
    if (caCrt === undefined && issuerCrt === undefined && issuerKey === undefined) return undefined;
    if (caCrt === undefined || issuerCrt === undefined || issuerKey === undefined) {
      throw new Error(
        `incomplete issuer credentials in ${this.#dir}: need ca.crt, issuer.crt and issuer.key`,
      );
    }
    return { caCrt, issuerCrt, issuerKey };
  }

  async save(pem: CaBundlePem): Promise<void> {
    await mkdir(this.#dir, { recursive: true });
    // Order matters for watchers: anchors first, then the issuer, so a reader never sees an
    // issuer whose root is not yet trusted.
    await writeAtomic(join(this.#dir, CREDENTIAL_FILES.caCrt), pem.caCrt, 0o644);
    await writeAtomic(join(this.#dir, CREDENTIAL_FILES.issuerKey), pem.issuerKey, 0o600);
    await writeAtomic(join(this.#dir, CREDENTIAL_FILES.issuerCrt), pem.issuerCrt, 0o644);
    await this.publishTrustAnchors(pem.caCrt);
  }

  async publishTrustAnchors(caCrt: string): Promise<void> {
    if (this.#trustAnchorsFile !== undefined) await writeAtomic(this.#trustAnchorsFile, caCrt, 0o644);
  }
}
