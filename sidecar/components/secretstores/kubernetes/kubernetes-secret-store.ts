// Types only: the client library costs ~75 MiB of RSS and ~0.7 s to load, so it is imported in
// `init`, by sidecars that have a Kubernetes secret store, and by no others.
import type { CoreV1Api, V1Secret } from '@kubernetes/client-node';
import type { SecretStore } from '../../../secrets/secret-store.js';
import type { ComponentInit } from '../../component.js';
import type { MetadataSchema } from '../../metadata-schema.js';

/**
 * Metadata of `secretstores.kubernetes` (Dapr's reference page for the Kubernetes secret store):
 * where to find the API server, and the namespace to read when a request names none.
 */
export const KUBERNETES_SECRET_STORE_SCHEMA: MetadataSchema = {
  defaultNamespace: {
    type: 'string',
    default: '',
    description: 'namespace read when a request gives no metadata.namespace (else the NAMESPACE variable)',
  },
  kubeconfigPath: {
    type: 'string',
    default: '',
    description: 'kubeconfig to use (else KUBECONFIG, else the in-cluster service account)',
  },
};

/** Where the store reads its environment; the process's unless a test passes its own. */
export type EnvSource = () => Readonly<Record<string, string | undefined>>;

/**
 * `secretstores.kubernetes`: each Kubernetes Secret is a secret, its data entries (decoded from
 * base64) its key/value pairs, as components-contrib's store answers. The namespace is the
 * request's `metadata.namespace`, else `defaultNamespace`, else the `NAMESPACE` variable; with
 * none of them a call fails as contrib's does. Errors carry the API server's message
 * (`secrets "x" not found`), which daprd puts in its `ERR_SECRET_GET` answer.
 */
export class KubernetesSecretStore implements SecretStore {
  /** contrib's store declares no optional features. */
  readonly features: ReadonlySet<string> = new Set();
  readonly #env: EnvSource;
  #core: CoreV1Api | undefined;
  #isApiException: (err: unknown) => err is { code: number; body: unknown } = (
    _err: unknown,
  ): _err is { code: number; body: unknown } => false;
  #defaultNamespace = '';

  constructor(env: EnvSource = () => process.env) {
    this.#env = env;
  }

  /**
   * Loads the client configuration: the `kubeconfigPath` metadata, the sidecar's `--kubeconfig`,
   * `KUBECONFIG`, or the pod's service account.
   */
  async init(init: ComponentInit): Promise<void> {
    this.#defaultNamespace = String(init.metadata.defaultNamespace ?? '');
    const { ApiException, CoreV1Api, KubeConfig } = await import('@kubernetes/client-node');
    this.#isApiException = (err: unknown): err is { code: number; body: unknown } =>
      err instanceof ApiException;
    const kc = new KubeConfig();
    const path =
      String(init.metadata.kubeconfigPath ?? '') || init.kubeconfigPath || (this.#env().KUBECONFIG ?? '');
    if (path !== '') kc.loadFromFile(path);
    else if (this.#env().KUBERNETES_SERVICE_HOST === undefined) {
      throw new Error(
        'not running in a Kubernetes pod (KUBERNETES_SERVICE_HOST is not set): give kubeconfigPath, --kubeconfig or KUBECONFIG',
      );
    } else kc.loadFromCluster();
    this.#core = kc.makeApiClient(CoreV1Api);
  }

  /** The Secret's data entries; a missing Secret is the API server's NotFound error. */
  async getSecret(name: string, metadata: Readonly<Record<string, string>>): Promise<Record<string, string>> {
    const namespace = this.#namespace(metadata);
    try {
      return decoded(await this.#client().readNamespacedSecret({ name, namespace }));
    } catch (err) {
      throw this.#apiError(err);
    }
  }

  /** Every Secret of the namespace: name → data entries. */
  async bulkGetSecret(
    metadata: Readonly<Record<string, string>>,
  ): Promise<Record<string, Record<string, string>>> {
    const namespace = this.#namespace(metadata);
    let items: V1Secret[];
    try {
      items = (await this.#client().listNamespacedSecret({ namespace })).items;
    } catch (err) {
      throw this.#apiError(err);
    }
    const out: Record<string, Record<string, string>> = {};
    for (const s of items) out[s.metadata?.name ?? ''] = decoded(s);
    return out;
  }

  /** The client holds no connection of its own. */
  async close(): Promise<void> {
    this.#core = undefined;
  }

  #client(): CoreV1Api {
    if (this.#core === undefined) throw new Error('the Kubernetes secret store is not initialised');
    return this.#core;
  }

  /** The API server's own message (`secrets "x" not found`) rather than the client's wrapper text. */
  #apiError(err: unknown): Error {
    if (!this.#isApiException(err)) return err instanceof Error ? err : new Error(String(err));
    const body: unknown = typeof err.body === 'string' ? safeJson(err.body) : err.body;
    const message =
      typeof body === 'object' && body !== null && typeof (body as { message?: unknown }).message === 'string'
        ? (body as { message: string }).message
        : `the Kubernetes API answered ${err.code}`;
    return new Error(message, { cause: err });
  }

  #namespace(metadata: Readonly<Record<string, string>>): string {
    const ns = metadata.namespace || this.#defaultNamespace || this.#env().NAMESPACE || '';
    if (ns === '') throw new Error('namespace is missing on metadata and NAMESPACE env variable');
    return ns;
  }
}

/** A Secret's data, decoded from base64 to text as Go's `string(bytes)` does. */
function decoded(secret: V1Secret): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(secret.data ?? {})) out[k] = Buffer.from(v, 'base64').toString('utf8');
  return out;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
