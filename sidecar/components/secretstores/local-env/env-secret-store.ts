import type { SecretStore } from '../../../secrets/secret-store.js';
import type { ComponentInit, Logger } from '../../component.js';
import type { MetadataSchema } from '../../metadata-schema.js';

/** Metadata of `secretstores.local.env` (components-contrib secretstores/local/env/metadata.yaml). */
export const ENV_SECRET_STORE_SCHEMA: MetadataSchema = {
  prefix: {
    type: 'string',
    default: '',
    description:
      'only variables starting with this prefix are secrets; the prefix is removed from their names',
  },
};

/** Source of variables; the process environment unless a test passes its own. */
export type EnvSource = () => Readonly<Record<string, string | undefined>>;

/** Variables the sidecar itself uses are never served (contrib's `isKeyAllowed`). */
function isAllowed(variable: string): boolean {
  const upper = variable.toUpperCase();
  return upper !== 'APP_API_TOKEN' && !upper.startsWith('DAPR_');
}

// Windows matches env names case-insensitively; contrib mirrors that for the prefix.
const CASE_INSENSITIVE = process.platform === 'win32';

function hasPrefix(variable: string, prefix: string): boolean {
  if (prefix === '') return true;
  if (variable.length <= prefix.length) return false;
  const head = variable.slice(0, prefix.length);
  return CASE_INSENSITIVE ? head.toUpperCase() === prefix.toUpperCase() : head === prefix;
}

/** `secretstores.local.env`: each environment variable is a secret `{name: value}`. */
export class EnvSecretStore implements SecretStore {
  /** No optional capabilities. */
  readonly features: ReadonlySet<string> = new Set();
  readonly #env: EnvSource;
  #prefix = '';
  #logger: Logger | undefined;

  /** `env` defaults to the live `process.env`, read at each call like contrib's `os.Getenv`. */
  constructor(env: EnvSource = () => process.env) {
    this.#env = env;
  }

  /** Reads the prefix. */
  async init(init: ComponentInit): Promise<void> {
    this.#prefix = String(init.metadata.prefix ?? '');
    this.#logger = init.logger;
  }

  /**
   * Returns `{name: value}`. Like contrib, an unset or forbidden variable answers `{name: ""}`
   * rather than "not found" (daprd then responds 200 with an empty value).
   */
  async getSecret(name: string): Promise<Record<string, string>> {
    const variable = this.#prefix + name;
    if (!isAllowed(variable)) {
      this.#logger?.warn('access to env var is forbidden', { name });
      return { [name]: '' };
    }
    return { [name]: this.#env()[variable] ?? '' };
  }

  /** Every allowed variable with the prefix, the prefix removed from its name. */
  async bulkGetSecret(): Promise<Record<string, Record<string, string>>> {
    const out: Record<string, Record<string, string>> = {};
    for (const [variable, value] of Object.entries(this.#env())) {
      if (value === undefined || !hasPrefix(variable, this.#prefix) || !isAllowed(variable)) continue;
      const name = variable.slice(this.#prefix.length);
      out[name] = { [name]: value };
    }
    return out;
  }

  /** Nothing to release. */
  async close(): Promise<void> {}
}
