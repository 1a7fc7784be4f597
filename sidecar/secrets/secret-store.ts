import type { Component } from '../components/component.js';

/** The secret store contract, after components-contrib's `secretstores.SecretStore`. */
export interface SecretStore extends Component {
  /** Returns the secret's key/value pairs, or undefined when it does not exist. */
  getSecret(
    name: string,
    metadata: Readonly<Record<string, string>>,
  ): Promise<Record<string, string> | undefined>;
  /** Returns every secret: name → key/value pairs. */
  bulkGetSecret(metadata: Readonly<Record<string, string>>): Promise<Record<string, Record<string, string>>>;
  /** Capability names for `/v1.0/metadata` (e.g. `MULTIPLE_KEY_VALUES_PER_SECRET`). */
  readonly features: ReadonlySet<string>;
}
