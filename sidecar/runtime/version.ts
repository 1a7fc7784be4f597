/** The runtime version `outriggerd --version` prints and `/v1.0/metadata` reports (kept in step with package.json). */
export const RUNTIME_VERSION = '0.1.0';
