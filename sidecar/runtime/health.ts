import type { HealthState } from '../api/universal/context.js';

/**
 * The runtime's health targets, mirroring daprd's healthz semantics: outbound is ready once
 * components are loaded and the API servers listen; full readiness also needs the app (when
 * `--app-port` is set) and, with health checks on, a healthy app. Shutdown fails both at once.
 */
export class RuntimeHealth implements HealthState {
  #outbound = false;
  #appNeeded: boolean;
  #appReachable = false;
  #appHealthChecked: boolean;
  #appHealthy = false;
  #shuttingDown = false;

  constructor(appNeeded: boolean, appHealthChecked: boolean) {
    this.#appNeeded = appNeeded;
    this.#appHealthChecked = appHealthChecked;
  }

  /** Components loaded and servers up. */
  markOutboundReady(): void {
    this.#outbound = true;
  }

  /** The app port accepted a connection. */
  markAppReachable(): void {
    this.#appReachable = true;
  }

  /** Result of the app health probes. */
  setAppHealthy(healthy: boolean): void {
    this.#appHealthy = healthy;
  }

  /** From now on nothing is ready (graceful shutdown started). */
  markShuttingDown(): void {
    this.#shuttingDown = true;
  }

  outboundReady(): boolean {
    return this.#outbound && !this.#shuttingDown;
  }

  ready(): boolean {
    return this.notReadyTargets().length === 0;
  }

  notReadyTargets(): readonly string[] {
    const targets: string[] = [];
    if (this.#shuttingDown) targets.push('shutdown');
    if (!this.#outbound) targets.push('components', 'servers');
    if (this.#appNeeded && !this.#appReachable) targets.push('app');
    if (this.#appNeeded && this.#appHealthChecked && this.#appReachable && !this.#appHealthy)
      targets.push('app-health');
    return targets;
  }
}
