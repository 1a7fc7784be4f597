/**
 * Kubernetes CA store: Secret `dapr-trust-bundle` (`ca.crt`, `issuer.crt`, `issuer.key`) in the
 * control-plane namespace, and ConfigMap `dapr-trust-bundle` (`ca.crt`) for everyone to read
 * (Dapr pkg/sentry/server/ca/selfhosted+kubernetes).
 */
import * as k8s from '@kubernetes/client-node';
import type { CaBundlePem } from './ca-bundle.js';
import type { CaStore } from './ca-store.js';

/** Name of both the Secret and the ConfigMap. */
export const TRUST_BUNDLE_NAME = 'dapr-trust-bundle';

function isNotFound(err: unknown): boolean {
  return err instanceof k8s.ApiException && err.code === 404;
}

function decode(data: Record<string, string> | undefined, key: string): string | undefined {
  const v = data?.[key];
  return v === undefined || v === '' ? undefined : Buffer.from(v, 'base64').toString('utf8');
}

function encode(value: string): string {
  return Buffer.from(value, 'utf8').toString('base64');
}

/** Secret + ConfigMap store. */
export class KubernetesCaStore implements CaStore {
  readonly description: string;
  readonly #core: k8s.CoreV1Api;
  readonly #namespace: string;

  constructor(kubeConfig: k8s.KubeConfig, namespace: string) {
    this.#core = kubeConfig.makeApiClient(k8s.CoreV1Api);
    this.#namespace = namespace;
    this.description = `secret ${namespace}/${TRUST_BUNDLE_NAME}`;
  }

  async load(): Promise<CaBundlePem | undefined> {
    let secret: k8s.V1Secret;
    try {
      secret = await this.#core.readNamespacedSecret({ name: TRUST_BUNDLE_NAME, namespace: this.#namespace });
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
    const caCrt = decode(secret.data, 'ca.crt');
    const issuerCrt = decode(secret.data, 'issuer.crt');
    const issuerKey = decode(secret.data, 'issuer.key');
    if (caCrt === undefined && issuerCrt === undefined && issuerKey === undefined) return undefined;
    if (caCrt === undefined || issuerCrt === undefined || issuerKey === undefined) {
      throw new Error(`${this.description} is incomplete: need ca.crt, issuer.crt and issuer.key`);
    }
    return { caCrt, issuerCrt, issuerKey };
  }

  async save(pem: CaBundlePem): Promise<void> {
    // Anchors first: sidecars must trust a new root before any certificate chains to it.
    await this.publishTrustAnchors(pem.caCrt);
    const body: k8s.V1Secret = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: {
        name: TRUST_BUNDLE_NAME,
        namespace: this.#namespace,
        labels: { 'app.kubernetes.io/part-of': 'outrigger' },
      },
      type: 'Opaque',
      data: {
        'ca.crt': encode(pem.caCrt),
        'issuer.crt': encode(pem.issuerCrt),
        'issuer.key': encode(pem.issuerKey),
      },
    };
    try {
      const existing = await this.#core.readNamespacedSecret({
        name: TRUST_BUNDLE_NAME,
        namespace: this.#namespace,
      });
      body.metadata = { ...body.metadata, resourceVersion: existing.metadata?.resourceVersion ?? '' };
      await this.#core.replaceNamespacedSecret({ name: TRUST_BUNDLE_NAME, namespace: this.#namespace, body });
    } catch (err) {
      if (!isNotFound(err)) throw err;
      await this.#core.createNamespacedSecret({ namespace: this.#namespace, body });
    }
  }

  async publishTrustAnchors(caCrt: string): Promise<void> {
    const body: k8s.V1ConfigMap = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name: TRUST_BUNDLE_NAME,
        namespace: this.#namespace,
        labels: { 'app.kubernetes.io/part-of': 'outrigger' },
      },
      data: { 'ca.crt': caCrt },
    };
    try {
      const existing = await this.#core.readNamespacedConfigMap({
        name: TRUST_BUNDLE_NAME,
        namespace: this.#namespace,
      });
      if (existing.data?.['ca.crt'] === caCrt) return;
      body.metadata = { ...body.metadata, resourceVersion: existing.metadata?.resourceVersion ?? '' };
      await this.#core.replaceNamespacedConfigMap({
        name: TRUST_BUNDLE_NAME,
        namespace: this.#namespace,
        body,
      });
    } catch (err) {
      if (!isNotFound(err)) throw err;
      await this.#core.createNamespacedConfigMap({ namespace: this.#namespace, body });
    }
  }
}
