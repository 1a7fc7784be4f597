import type { MetadataSchema, ValidatedMetadata } from './metadata-schema.js';

/** The component kinds Outrigger loads (the prefix of `spec.type`). */
export type ComponentKind =
  | 'state'
  | 'pubsub'
  | 'bindings'
  | 'secretstores'
  | 'nameresolution'
  | 'configuration'
  | 'lock'
  | 'middleware';

/** Minimal structured logger passed to components; never a global. */
export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

/** What a component receives at init: its identity, validated metadata and the runtime's services. */
export interface ComponentInit {
  /** `metadata.name` of the Component resource. */
  readonly name: string;
  /** `spec.type`, e.g. `state.redis`. */
  readonly type: string;
  readonly version: string;
  readonly metadata: ValidatedMetadata;
  /** The sidecar's app id (used by key prefixes and consumer groups). */
  readonly appId: string;
  readonly namespace: string;
  readonly logger: Logger;
  /** Folder where embedded components may keep data (`~/.outrigger/data` by default). */
  readonly dataDir: string;
  /**
   * The sidecar's `--kubeconfig`, for components that talk to the Kubernetes API: contrib's
   * Kubernetes client takes it before `KUBECONFIG`.
   */
  readonly kubeconfigPath?: string;
}

/** Every component has a lifecycle: `init` once, `close` once (graceful, releases connections). */
export interface Component {
  init(init: ComponentInit): Promise<void>;
  close(): Promise<void>;
  /** Optional liveness check used by `/v1.0/healthz/outbound` style probes. */
  ping?(): Promise<void>;
}

/** One registry entry: maps `spec.type` (+ version) to a factory and a metadata schema. */
export interface ComponentRegistration<C extends Component = Component> {
  readonly kind: ComponentKind;
  /** Full type including kind prefix, e.g. `state.redis`. */
  readonly type: string;
  /** Accepted `spec.version` values; the first is the default. */
  readonly versions: readonly string[];
  readonly schema: MetadataSchema;
  create(): C;
}
