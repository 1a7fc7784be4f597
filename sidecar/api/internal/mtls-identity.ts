/**
 * Builds the sidecar's workload identity from daprd's flags and env when mTLS is on:
 * `--sentry-address`, `--control-plane-trust-domain`/`--control-plane-namespace` (sentry's own
 * SPIFFE ID `spiffe://<cp-td>/ns/<cp-ns>/dapr-sentry`), the trust anchors from
 * `--trust-anchors-file` or `DAPR_TRUST_ANCHORS_FILE` (watched), else the literal PEM in the
 * deprecated `DAPR_TRUST_ANCHORS` (the file wins when both are set, as in daprd),
 * `DAPR_SENTRY_TOKEN_FILE`. The app trust domain is
 * Configuration `accessControl.trustDomain` (default `public`), as in daprd.
 */
import { readFile } from 'node:fs/promises';
import type { Logger } from '../../components/component.js';
import { parseCertificates } from '../../pki/x509/certificate.js';
import { DEFAULT_SENTRY_TOKEN_FILE, WorkloadIdentity } from '../../security/workload-identity.js';

/** daprd refuses to start on trust anchors it cannot parse; so do we, naming where they came from. */
function checkAnchors(pem: string, source: string): void {
  let count = 0;
  try {
    count = parseCertificates(pem).length;
  } catch (err) {
    throw new Error(
      `the trust anchors in ${source} are not valid PEM certificates: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
  if (count === 0) throw new Error(`the trust anchors in ${source} hold no PEM certificate`);
}

/** Inputs of `createMtlsIdentity`. */
export interface MtlsIdentityInputs {
  readonly appId: string;
  readonly namespace: string;
  readonly mode: 'standalone' | 'kubernetes';
  readonly sentryAddress: string | undefined;
  /** `--trust-anchors-file` or `DAPR_TRUST_ANCHORS_FILE`. */
  readonly trustAnchorsFile: string | undefined;
  readonly controlPlaneTrustDomain: string;
  readonly controlPlaneNamespace: string;
  readonly trustDomain: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly logger: Logger;
}

/** Creates and starts the identity (first certificate fetched, renewal scheduled). */
export async function createMtlsIdentity(
  i: MtlsIdentityInputs,
  signal?: AbortSignal,
): Promise<WorkloadIdentity> {
  if (i.sentryAddress === undefined || i.sentryAddress === '')
    throw new Error('mTLS is enabled but --sentry-address is not set');
  const file = i.trustAnchorsFile;
  const anchors =
    file === undefined || file === ''
      ? (i.env.DAPR_TRUST_ANCHORS ?? '')
      : await readFile(file, 'utf8').catch((err: unknown) => {
          throw new Error(
            `cannot read the trust anchors file ${file}: ${err instanceof Error ? err.message : String(err)}`,
          );
        });
  if (anchors === '')
    throw new Error(
      'mTLS is enabled but no trust anchors were given (--trust-anchors-file, DAPR_TRUST_ANCHORS_FILE or DAPR_TRUST_ANCHORS)',
    );
  checkAnchors(anchors, file === undefined || file === '' ? 'DAPR_TRUST_ANCHORS' : file);
  const log = i.logger.child({ scope: 'dapr.runtime.security' });
  const identity = new WorkloadIdentity({
    appId: i.appId,
    namespace: i.namespace,
    trustDomain: i.trustDomain,
    sentry: {
      address: i.sentryAddress,
      spiffeId: `spiffe://${i.controlPlaneTrustDomain}/ns/${i.controlPlaneNamespace}/dapr-sentry`,
      timeoutMs: 3_000,
    },
    tokenFile: i.env.DAPR_SENTRY_TOKEN_FILE ?? DEFAULT_SENTRY_TOKEN_FILE,
    tokenValidator: i.mode === 'kubernetes' ? 'KUBERNETES' : 'INSECURE',
    trustAnchorsPem: anchors,
    ...(file === undefined || file === '' ? {} : { trustAnchorsFile: file }),
    logger: {
      info: (m, f) => log.info(m, f),
      warn: (m, f) => log.warn(m, f),
      error: (m, f) => log.error(m, f),
    },
  });
  await identity.start(signal);
  log.info(`mTLS enabled; workload identity ${identity.current()?.spiffeId ?? identity.requestedSpiffeId}`);
  return identity;
}
