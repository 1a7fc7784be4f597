/**
 * SPIFFE IDs as Dapr uses them: `spiffe://<trust-domain>/ns/<namespace>/<app-id>`
 * (dapr/kit crypto/spiffe). Control-plane services use trust domain `cluster.local`.
 */

/** A parsed Dapr SPIFFE ID. */
export interface SpiffeId {
  readonly trustDomain: string;
  readonly namespace: string;
  readonly appId: string;
}

/** Default trust domain for apps (Dapr: `public` unless `accessControl.trustDomain` says otherwise). */
export const DEFAULT_APP_TRUST_DOMAIN = 'public';
/** Default trust domain of control-plane services. */
export const CONTROL_PLANE_TRUST_DOMAIN = 'cluster.local';

const TRUST_DOMAIN = /^[a-z0-9._-]+$/;
const SEGMENT = /^[A-Za-z0-9._~-]+$/;

/** Formats a SPIFFE ID URI. */
export function formatSpiffeId(id: SpiffeId): string {
  return `spiffe://${id.trustDomain}/ns/${id.namespace}/${id.appId}`;
}

/** Checks the parts of an identity; returns a problem description or undefined when valid. */
export function validateSpiffeParts(id: SpiffeId): string | undefined {
  if (!TRUST_DOMAIN.test(id.trustDomain)) return `invalid trust domain "${id.trustDomain}"`;
  if (!SEGMENT.test(id.namespace)) return `invalid namespace "${id.namespace}"`;
  if (!SEGMENT.test(id.appId)) return `invalid app id "${id.appId}"`;
  return undefined;
}

/** Parses `spiffe://td/ns/<ns>/<id>`; undefined when the URI is not a Dapr SPIFFE ID. */
export function parseSpiffeId(uri: string): SpiffeId | undefined {
  const m = /^spiffe:\/\/([^/]+)\/ns\/([^/]+)\/([^/]+)$/.exec(uri);
  if (m === null) return undefined;
  const id = { trustDomain: m[1] ?? '', namespace: m[2] ?? '', appId: m[3] ?? '' };
  return validateSpiffeParts(id) === undefined ? id : undefined;
}
