/**
 * Trust-anchor rotation without restarts, in three steps on the CA store (docs/mtls-rotation.md):
 * 1. `addRoot`: bundle = old roots + a new root (its key goes to a local file, never the cluster);
 * 2. `reissueIssuer`: a new issuer signed by the new root; sentry reloads, sidecars renew;
 * 3. `removeOldRoots`: once every workload holds a certificate from the new issuer.
 * Sidecars reload the bundle at each step, so peers always trust each other's chains.
 */
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { certificatesToPem } from '../../sidecar/pki/x509/certificate.js';
import type { CaGenerateOptions } from './ca-bundle.js';
import { generateIssuer, generateRoot, parseCaBundle, privateKeyToPem, samePublicKey } from './ca-bundle.js';
import type { CaStore } from './ca-store.js';

/** Outcome of one step, for the CLI to print. */
export interface RotationStepResult {
  readonly step: 'add' | 'reissue' | 'finish';
  readonly roots: number;
  readonly message: string;
}

async function loadBundle(store: CaStore) {
  const pem = await store.load();
  if (pem === undefined)
    throw new Error(`no CA credentials in ${store.description}; start sentry once first`);
  return parseCaBundle(pem);
}

/** Step 1: generates a new root, appends it to `ca.crt` and writes its private key to `rootKeyFile`. */
export async function addRoot(
  store: CaStore,
  rootKeyFile: string,
  opts: CaGenerateOptions,
): Promise<RotationStepResult> {
  const bundle = await loadBundle(store);
  const root = generateRoot(opts);
  await writeFile(rootKeyFile, privateKeyToPem(root.key), { mode: 0o600, flag: 'wx' });
  await store.save({ ...bundle.pem, caCrt: certificatesToPem([...bundle.trustAnchors, root.cert]) });
  return {
    step: 'add',
    roots: bundle.trustAnchors.length + 1,
    message: `added root ${root.cert.serialNumber}; its key is in ${rootKeyFile}`,
  };
}

/** Step 2: signs a fresh issuer with the root whose key is in `rootKeyFile`. */
export async function reissueIssuer(
  store: CaStore,
  rootKeyFile: string,
  opts: CaGenerateOptions,
): Promise<RotationStepResult> {
  const bundle = await loadBundle(store);
  const key = createPrivateKey(await readFile(rootKeyFile, 'utf8'));
  const root = bundle.trustAnchors.find((c) => samePublicKey(c.publicKey, createPublicKey(key)));
  if (root === undefined)
    throw new Error(`no root in ca.crt matches the key in ${rootKeyFile}; run "rotate-root add" first`);
  const issuer = generateIssuer(opts, { cert: root, key });
  await store.save({
    caCrt: bundle.pem.caCrt,
    issuerCrt: certificatesToPem([issuer.cert]),
    issuerKey: privateKeyToPem(issuer.key),
  });
  return {
    step: 'reissue',
    roots: bundle.trustAnchors.length,
    message: `issuer ${issuer.cert.serialNumber} now signed by root ${root.serialNumber}`,
  };
}

/** Step 3: keeps only the roots that anchor the current issuer. */
export async function removeOldRoots(store: CaStore): Promise<RotationStepResult> {
  const bundle = await loadBundle(store);
  const top = bundle.issuerChain[bundle.issuerChain.length - 1];
  const keep = bundle.trustAnchors.filter(
    (r) => top !== undefined && (r.raw.equals(top.raw) || (top.checkIssued(r) && top.verify(r.publicKey))),
  );
  if (keep.length === 0) throw new Error('no root anchors the current issuer; refusing to empty the bundle');
  if (keep.length === bundle.trustAnchors.length)
    return { step: 'finish', roots: keep.length, message: 'nothing to remove' };
  await store.save({ ...bundle.pem, caCrt: certificatesToPem(keep) });
  return {
    step: 'finish',
    roots: keep.length,
    message: `removed ${bundle.trustAnchors.length - keep.length} old root(s)`,
  };
}
