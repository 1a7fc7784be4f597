import { CoreV1Api } from '@kubernetes/client-node';
import type { ControlPlane } from './control-plane.js';

/** Parameters of {@link requestServiceAccountToken}. */
export interface ServiceAccountTokenRequest {
  /** Namespace of the ServiceAccount. */
  readonly namespace: string;
  /** ServiceAccount name; created (and its namespace too) if it does not exist. */
  readonly serviceAccount: string;
  /** `aud` claims; the apiserver's default (its issuer) when omitted. */
  readonly audiences?: readonly string[];
  /** Requested lifetime; the apiserver enforces a 600 s minimum. Default 3600. */
  readonly expirationSeconds?: number;
}

/** A bound service-account token issued through the TokenRequest API. */
export interface ServiceAccountToken {
  /** The signed JWT. */
  readonly token: string;
  /** When the apiserver says it expires. */
  readonly expiresAt: Date;
}

/**
 * Issues a projected-style ServiceAccount JWT with `POST .../serviceaccounts/<name>/token`, the way
 * the kubelet does for pods, so sentry-style tests can validate real Kubernetes tokens.
 */
export async function requestServiceAccountToken(
  cp: Pick<ControlPlane, 'kubeConfig'>,
  request: ServiceAccountTokenRequest,
): Promise<ServiceAccountToken> {
  const core = cp.kubeConfig.makeApiClient(CoreV1Api);
  const { namespace, serviceAccount: name } = request;
  await createIfMissing(() => core.createNamespace({ body: { metadata: { name: namespace } } }));
  await createIfMissing(() =>
    core.createNamespacedServiceAccount({ namespace, body: { metadata: { name } } }),
  );
  const response = await core.createNamespacedServiceAccountToken({
    name,
    namespace,
    body: {
      spec: {
        ...(request.audiences !== undefined ? { audiences: [...request.audiences] } : {}),
        expirationSeconds: request.expirationSeconds ?? 3600,
      },
    },
  });
  const status = response.status;
  if (status?.token === undefined) throw new Error(`TokenRequest for ${namespace}/${name} returned no token`);
  const expiresAt =
    status.expirationTimestamp ?? new Date(Date.now() + (request.expirationSeconds ?? 3600) * 1000);
  return { token: status.token, expiresAt: new Date(expiresAt) };
}

async function createIfMissing(create: () => Promise<unknown>): Promise<void> {
  try {
    await create();
  } catch (err) {
    if ((err as { code?: number }).code !== 409) throw err;
  }
}
