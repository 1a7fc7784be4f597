import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { SecretStore } from '../../../secrets/secret-store.js';
import type { ComponentInit } from '../../component.js';
import type { MetadataSchema } from '../../metadata-schema.js';
import { type FlatSecret, flattenSecrets, groupSecrets, secretData } from './flatten-secrets.js';

/** Metadata of `secretstores.local.file`, after components-contrib's `localSecretStoreMetaData`. */
export const FILE_SECRET_STORE_SCHEMA: MetadataSchema = {
  secretsFile: {
    type: 'string',
    required: true,
    description:
      'path of the JSON file holding the secrets (relative paths resolve against the working directory)',
  },
  nestedSeparator: { type: 'string', default: ':', description: 'joins nested JSON keys when flattening' },
  multiValued: {
    type: 'boolean',
    default: false,
    description: 'top-level keys are secrets whose nested values become their key/value pairs',
  },
};

/** Thrown by `init` when the secrets file cannot be read or is not a JSON object. */
export class SecretsFileError extends Error {
  override readonly name = 'SecretsFileError';
  /** Absolute path of the file. */
  readonly path: string;
  constructor(message: string, path: string, options?: ErrorOptions) {
    super(message, options);
    this.path = path;
  }
}

/** Feature name a multi-valued store reports in `/v1.0/metadata`. */
export const MULTIPLE_KEY_VALUES_PER_SECRET = 'MULTIPLE_KEY_VALUES_PER_SECRET';

/** `secretstores.local.file`: secrets read once at init from a JSON file (for development). */
export class FileSecretStore implements SecretStore {
  #secrets: ReadonlyMap<string, FlatSecret> = new Map();
  #features: ReadonlySet<string> = new Set();

  /** Capabilities: `MULTIPLE_KEY_VALUES_PER_SECRET` when `multiValued` is on. */
  get features(): ReadonlySet<string> {
    return this.#features;
  }

  /** Reads and flattens the secrets file. */
  async init(init: ComponentInit): Promise<void> {
    const file = resolve(String(init.metadata.secretsFile));
    // contrib falls back to ':' when the separator is empty.
    const separator = String(init.metadata.nestedSeparator ?? '') || ':';
    const multiValued = init.metadata.multiValued === true;
    let json: unknown;
    try {
      json = JSON.parse(await readFile(file, 'utf8'));
    } catch (err) {
      throw new SecretsFileError(
        `secretstores.local.file "${init.name}": cannot read secrets file ${file}`,
        file,
        { cause: err },
      );
    }
    if (typeof json !== 'object' || json === null || Array.isArray(json)) {
      throw new SecretsFileError(
        `secretstores.local.file "${init.name}": ${file} must hold a JSON object`,
        file,
      );
    }
    const record = json as Record<string, unknown>;
    const flat: Record<string, FlatSecret> = multiValued
      ? groupSecrets(record, separator)
      : flattenSecrets(record, separator);
    this.#secrets = new Map(Object.entries(flat));
    this.#features = new Set(multiValued ? [MULTIPLE_KEY_VALUES_PER_SECRET] : []);
  }

  /** Returns `{name: value}`, or the secret's key/values in multiValued mode; undefined when absent. */
  async getSecret(name: string): Promise<Record<string, string> | undefined> {
    const secret = this.#secrets.get(name);
    return secret === undefined ? undefined : secretData(name, secret);
  }

  /** Every secret: name → key/values. */
  async bulkGetSecret(): Promise<Record<string, Record<string, string>>> {
    const out: Record<string, Record<string, string>> = {};
    for (const [name, secret] of this.#secrets) out[name] = secretData(name, secret);
    return out;
  }

  /** Nothing to release. */
  async close(): Promise<void> {
    this.#secrets = new Map();
  }
}
