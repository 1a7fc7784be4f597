import type { SecretStore } from '../../secrets/secret-store.js';
import type { ComponentRegistration } from '../component.js';
import {
  KUBERNETES_SECRET_STORE_SCHEMA,
  KubernetesSecretStore,
} from './kubernetes/kubernetes-secret-store.js';
import { ENV_SECRET_STORE_SCHEMA, EnvSecretStore } from './local-env/env-secret-store.js';
import { FILE_SECRET_STORE_SCHEMA, FileSecretStore } from './local-file/file-secret-store.js';

/** Every secret store Outrigger ships, for the component registry. */
export const SECRET_REGISTRATIONS: readonly ComponentRegistration<SecretStore>[] = [
  {
    kind: 'secretstores',
    type: 'secretstores.local.file',
    versions: ['v1'],
    schema: FILE_SECRET_STORE_SCHEMA,
    create: () => new FileSecretStore(),
  },
  {
    kind: 'secretstores',
    type: 'secretstores.local.env',
    versions: ['v1'],
    schema: ENV_SECRET_STORE_SCHEMA,
    create: () => new EnvSecretStore(),
  },
  {
    kind: 'secretstores',
    type: 'secretstores.kubernetes',
    versions: ['v1'],
    schema: KUBERNETES_SECRET_STORE_SCHEMA,
    create: () => new KubernetesSecretStore(),
  },
];
