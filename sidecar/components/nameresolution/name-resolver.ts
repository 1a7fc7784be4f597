/**
 * The NameResolver contract (Dapr components-contrib nameresolution.Resolver): app id (+
 * namespace) → addresses of that app's sidecar internal gRPC port. Self-registration is an
 * optional capability (the standalone resolver has it; DNS-based ones do not need it).
 */
import type { Component } from '../component.js';

/** What to resolve. */
export interface ResolveRequest {
  readonly appId: string;
  readonly namespace: string;
  /** The caller's own internal gRPC port (Kubernetes: every sidecar uses the same one). */
  readonly port: number;
}

/** This sidecar, as it registers itself. */
export interface SelfInstance {
  readonly appId: string;
  readonly namespace: string;
  readonly host: string;
  readonly port: number;
  readonly pid: number;
}

/** A name resolver: every address (`host:port`) currently serving the app, possibly empty. */
export interface NameResolver extends Component {
  resolve(req: ResolveRequest): Promise<readonly string[]>;
}

/** Optional capability: announce this sidecar so others can resolve it. */
export interface SelfRegistering {
  register(self: SelfInstance): Promise<void>;
  unregister(): Promise<void>;
}

/** Whether a resolver can register this sidecar. */
export function isSelfRegistering(r: NameResolver): r is NameResolver & SelfRegistering {
  return typeof (r as Partial<SelfRegistering>).register === 'function';
}
