/**
 * The test environment in one import: provisioning (`ensureAll`) and starting real services
 * (Kafka, Redis, PostgreSQL, NATS, the Kubernetes control plane) on free loopback ports.
 */
export type { ControlPlane, ControlPlaneOptions } from './control-plane.js';
export { ControlPlaneStartError, startControlPlane } from './control-plane.js';
export * from './debian.js';
export * from './ensure.js';
export * from './kafka.js';
export type { KubeBinaries } from './kube-binaries.js';
export { ensureKubeBinaries, KubeProvisionError } from './kube-binaries.js';
export * from './nats.js';
export * from './postgres.js';
export * from './process.js';
export * from './redis.js';
export { VERSIONS } from './versions.js';
