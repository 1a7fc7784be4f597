/**
 * The secret stores the conformance suite runs against. Each subject seeds the same two secrets
 * (`conftestsecret` = `abcd`, `secondsecret` = `efgh`, as in components-contrib's conformance suite)
 * in its own backend and hands back raw component metadata.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CoreV1Api } from '@kubernetes/client-node';
import type { ComponentInit, Logger } from '../../../sidecar/components/component.js';
import { validateMetadata } from '../../../sidecar/components/metadata-schema.js';
import { SECRET_REGISTRATIONS } from '../../../sidecar/components/secretstores/registrations.js';
import type { SecretStore } from '../../../sidecar/secrets/secret-store.js';
import { startControlPlane } from '../../env/control-plane.js';
import { makeTempDir, removeTempDir } from '../../env/process.js';

/** The secrets every subject holds, nothing more. */
export const SEEDED: Readonly<Record<string, string>> = { conftestsecret: 'abcd', secondsecret: 'efgh' };

/** One implementation under test. */
export interface SecretStoreSubject {
  /** `spec.type`. */
  readonly type: string;
  /**
   * What a get of a secret that does not exist gives, as components-contrib's store answers:
   * nothing (`absent`), an empty value (`empty`), or the backend's not-found error (`error`).
   */
  readonly missing: 'absent' | 'empty' | 'error';
  /** Seeds the backend; returns raw metadata and a cleanup. */
  setup(): Promise<{ metadata: Record<string, string>; cleanup: () => Promise<void> }>;
}

/** A logger that records warnings, so tests can look at them. */
export class RecordingLogger implements Logger {
  /** Messages logged at warn. */
  readonly warnings: string[] = [];
  debug(): void {}
  info(): void {}
  warn(msg: string): void {
    this.warnings.push(msg);
  }
  error(): void {}
  child(): Logger {
    return this;
  }
}

/** Creates the registered store for `type` and inits it with validated metadata, like the loader. */
export async function openStore(
  type: string,
  metadata: Record<string, string>,
  logger: Logger = new RecordingLogger(),
): Promise<SecretStore> {
  const registration = SECRET_REGISTRATIONS.find((r) => r.type === type);
  if (registration === undefined) throw new Error(`no secret store registered as ${type}`);
  const store = registration.create();
  const init: ComponentInit = {
    name: 'conftest',
    type,
    version: registration.versions[0] ?? 'v1',
    metadata: validateMetadata(registration.schema, metadata),
    appId: 'conftest-app',
    namespace: 'default',
    logger,
    dataDir: '',
  };
  await store.init(init);
  return store;
}

/** The subjects: every secret store in SECRET_REGISTRATIONS must appear here. */
export const SUBJECTS: readonly SecretStoreSubject[] = [
  {
    type: 'secretstores.local.file',
    missing: 'absent',
    async setup() {
      const dir = await makeTempDir('secrets');
      const file = join(dir, 'secrets.json');
      await writeFile(file, JSON.stringify(SEEDED));
      return { metadata: { secretsFile: file }, cleanup: () => removeTempDir(dir) };
    },
  },
  {
    type: 'secretstores.local.env',
    missing: 'empty',
    async setup() {
      // A unique prefix isolates the seeded variables from the rest of the environment.
      const prefix = `OUTRIGGER_CONFTEST_${process.pid}_`;
      for (const [name, value] of Object.entries(SEEDED)) process.env[prefix + name] = value;
      return {
        metadata: { prefix },
        cleanup: async () => {
          for (const name of Object.keys(SEEDED)) delete process.env[prefix + name];
        },
      };
    },
  },
  {
    // A real kube-apiserver (etcd + kube-apiserver from the test cache), one Secret per seeded name.
    type: 'secretstores.kubernetes',
    missing: 'error',
    async setup() {
      const cp = await startControlPlane({ log: (m: string) => process.stderr.write(`# ${m}\n`) });
      try {
        const core = cp.kubeConfig.makeApiClient(CoreV1Api);
        await core.createNamespace({ body: { metadata: { name: 'conftest' } } });
        for (const [name, value] of Object.entries(SEEDED)) {
          await core.createNamespacedSecret({
            namespace: 'conftest',
            body: { metadata: { name }, data: { [name]: Buffer.from(value).toString('base64') } },
          });
        }
      } catch (err) {
        await cp.stop();
        throw err;
      }
      return {
        metadata: { kubeconfigPath: cp.kubeconfigPath, defaultNamespace: 'conftest' },
        cleanup: () => cp.stop(),
      };
    },
  },
];
