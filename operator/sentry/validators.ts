/**
 * Token validators decide which identity a SignCertificate caller may have
 * (Dapr pkg/sentry/server/validator). Refusals throw ValidationError → gRPC PermissionDenied.
 */
import * as k8s from '@kubernetes/client-node';
import type { SignCertificateRequest } from '../../sidecar/pki/proto/sentry-proto.js';
import type { SpiffeId } from '../../sidecar/pki/spiffe-id.js';
import { DEFAULT_APP_TRUST_DOMAIN, validateSpiffeParts } from '../../sidecar/pki/spiffe-id.js';

/** Why an identity was refused; `reason` is a stable label for metrics. */
export class ValidationError extends Error {
  /** Stable code. */
  readonly code = 'ERR_SENTRY_VALIDATION';
  readonly reason: string;
  constructor(reason: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ValidationError';
    this.reason = reason;
  }
}

/** An identity approved for signing. */
export interface ValidatedIdentity extends SpiffeId {
  /** DNS SANs to add (control-plane services only). */
  readonly dnsNames: readonly string[];
}

/** Checks a request's token and returns the identity to certify. */
export interface TokenValidator {
  validate(request: SignCertificateRequest): Promise<ValidatedIdentity>;
}

function checkParts(id: ValidatedIdentity): ValidatedIdentity {
  const problem = validateSpiffeParts(id);
  if (problem !== undefined) throw new ValidationError('invalid_identity', problem);
  return id;
}

/**
 * Development-only validator: trusts the id, namespace and trust domain the caller states.
 * Off unless sentry runs with `--enable-insecure-validator` (self-hosted only).
 */
export class InsecureValidator implements TokenValidator {
  async validate(request: SignCertificateRequest): Promise<ValidatedIdentity> {
    if (request.id === '') throw new ValidationError('missing_id', 'request has no id');
    return checkParts({
      appId: request.id,
      namespace: request.namespace === '' ? 'default' : request.namespace,
      trustDomain: request.trust_domain === '' ? DEFAULT_APP_TRUST_DOMAIN : request.trust_domain,
      dnsNames: [],
    });
  }
}

/** Options of the Kubernetes validator. */
export interface KubernetesValidatorOptions {
  readonly kubeConfig: k8s.KubeConfig;
  /** Audiences the token must carry one of: sentry's SPIFFE ID and legacy `dapr.io/sentry`. */
  readonly audiences: readonly string[];
  /** Trust domain of the control plane (for pods annotated `dapr.io/control-plane`). */
  readonly controlPlaneTrustDomain: string;
  /** Namespace of the control plane (only its pods may ask for control-plane identities). */
  readonly controlPlaneNamespace: string;
}

const SA_PREFIX = 'system:serviceaccount:';
const POD_NAME_CLAIM = 'authentication.kubernetes.io/pod-name';
const POD_UID_CLAIM = 'authentication.kubernetes.io/pod-uid';

/**
 * Verifies a projected service-account token with TokenReview, then checks the bound pod:
 * namespace, service account and `dapr.io/app-id` must match the request.
 */
export class KubernetesValidator implements TokenValidator {
  readonly #auth: k8s.AuthenticationV1Api;
  readonly #core: k8s.CoreV1Api;
  readonly #custom: k8s.CustomObjectsApi;
  readonly #opts: KubernetesValidatorOptions;

  constructor(opts: KubernetesValidatorOptions) {
    this.#opts = opts;
    this.#auth = opts.kubeConfig.makeApiClient(k8s.AuthenticationV1Api);
    this.#core = opts.kubeConfig.makeApiClient(k8s.CoreV1Api);
    this.#custom = opts.kubeConfig.makeApiClient(k8s.CustomObjectsApi);
  }

  async validate(request: SignCertificateRequest): Promise<ValidatedIdentity> {
    if (request.token === '') throw new ValidationError('missing_token', 'request has no token');
    if (request.namespace === '') throw new ValidationError('missing_namespace', 'request has no namespace');
    if (request.id === '') throw new ValidationError('missing_id', 'request has no id');
    const review = await this.#auth.createTokenReview({
      body: {
        apiVersion: 'authentication.k8s.io/v1',
        kind: 'TokenReview',
        spec: { token: request.token, audiences: [...this.#opts.audiences] },
      },
    });
    const status = review.status;
    if (status?.authenticated !== true) {
      throw new ValidationError(
        'token_rejected',
        `token not authenticated: ${status?.error ?? 'no reason given'}`,
      );
    }
    const username = status.user?.username ?? '';
    if (!username.startsWith(SA_PREFIX))
      throw new ValidationError('not_service_account', `token is not a service account token (${username})`);
    const [saNamespace, saName] = username.slice(SA_PREFIX.length).split(':');
    if (saNamespace !== request.namespace) {
      throw new ValidationError(
        'namespace_mismatch',
        `token namespace "${saNamespace ?? ''}" does not match requested namespace "${request.namespace}"`,
      );
    }
    const podName = status.user?.extra?.[POD_NAME_CLAIM]?.[0];
    if (podName === undefined || podName === '') {
      throw new ValidationError('no_pod_claim', 'token is not bound to a pod (no pod-name claim)');
    }
    let pod: k8s.V1Pod;
    try {
      pod = await this.#core.readNamespacedPod({ name: podName, namespace: request.namespace });
    } catch (err) {
      throw new ValidationError('pod_lookup_failed', `cannot read pod ${request.namespace}/${podName}`, {
        cause: err,
      });
    }
    const podUid = status.user?.extra?.[POD_UID_CLAIM]?.[0];
    if (podUid !== undefined && pod.metadata?.uid !== podUid) {
      throw new ValidationError('pod_uid_mismatch', `pod ${podName} was replaced since the token was issued`);
    }
    const podSa = pod.spec?.serviceAccountName ?? 'default';
    if (podSa !== saName) {
      throw new ValidationError(
        'service_account_mismatch',
        `token service account "${saName ?? ''}" is not the pod's ("${podSa}")`,
      );
    }
    const annotations = pod.metadata?.annotations ?? {};
    const controlPlane = annotations['dapr.io/control-plane'];
    if (controlPlane !== undefined && request.namespace === this.#opts.controlPlaneNamespace) {
      // Control-plane services ask for `dapr-<service>` in the control-plane trust domain.
      if (request.id !== `dapr-${controlPlane}`) {
        throw new ValidationError(
          'app_id_mismatch',
          `control-plane pod may only be "dapr-${controlPlane}", not "${request.id}"`,
        );
      }
      return checkParts({
        appId: request.id,
        namespace: request.namespace,
        trustDomain: this.#opts.controlPlaneTrustDomain,
        dnsNames: [],
      });
    }
    const appId = annotations['dapr.io/app-id'] ?? podName;
    if (appId !== request.id) {
      throw new ValidationError(
        'app_id_mismatch',
        `requested id "${request.id}" does not match the pod's app id "${appId}"`,
      );
    }
    const trustDomain = await this.#trustDomainOf(request.namespace, annotations['dapr.io/config']);
    return checkParts({ appId, namespace: request.namespace, trustDomain, dnsNames: [] });
  }

  /** `accessControl.trustDomain` of the pod's Configuration, else `public` (as Dapr). */
  async #trustDomainOf(namespace: string, configName: string | undefined): Promise<string> {
    if (configName === undefined || configName === '') return DEFAULT_APP_TRUST_DOMAIN;
    let config: unknown;
    try {
      config = await this.#custom.getNamespacedCustomObject({
        group: 'dapr.io',
        version: 'v1alpha1',
        namespace,
        plural: 'configurations',
        name: configName,
      });
    } catch (err) {
      if (err instanceof k8s.ApiException && err.code === 404) return DEFAULT_APP_TRUST_DOMAIN;
      throw new ValidationError(
        'config_lookup_failed',
        `cannot read Configuration ${namespace}/${configName}`,
        { cause: err },
      );
    }
    const td = (config as { spec?: { accessControl?: { trustDomain?: unknown } } }).spec?.accessControl
      ?.trustDomain;
    return typeof td === 'string' && td !== '' ? td : DEFAULT_APP_TRUST_DOMAIN;
  }
}
