import { createConnection } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect as tlsConnect } from 'node:tls';
import type { Logger } from '../components/component.js';
import type { AppHealthOptions } from '../runtime/options.js';

/** Resolves true when a TCP (or, with `tls`, a TLS) connection to address:port succeeds within `timeoutMs`. */
export async function canDial(
  address: string,
  port: number,
  timeoutMs = 1000,
  tls = false,
): Promise<boolean> {
  return await new Promise<boolean>((resolve) => {
    const socket = tls
      ? tlsConnect({ host: address, port, rejectUnauthorized: false })
      : createConnection({ host: address, port });
    socket.setTimeout(timeoutMs);
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.once(tls ? 'secureConnect' : 'connect', () => done(true));
    socket.once('error', () => done(false));
    socket.once('timeout', () => done(false));
  });
}

/**
 * Blocks until the app accepts TCP connections (a TLS handshake for `https`/`grpcs`), dialling
 * every 100 ms like daprd's `blockUntilAppIsReady`. Returns false when `signal` aborts first.
 */
export async function waitForApp(
  address: string,
  port: number,
  protocol: string,
  logger: Logger,
  signal: AbortSignal,
): Promise<boolean> {
  logger.info(
    `application protocol: ${protocol}. waiting on port ${port}.  This will block until the app is listening on that port.`,
  );
  while (!signal.aborted) {
    if (await canDial(address, port, 1000, protocol === 'https' || protocol === 'grpcs')) {
      logger.info(`application discovered on port ${port}`);
      return true;
    }
    try {
      await sleep(100, undefined, { signal });
    } catch {
      return false;
    }
  }
  return false;
}

/** One probe of the app: true when it answered healthy within `timeoutMs`. */
export type HealthProbe = (path: string, timeoutMs: number) => Promise<boolean>;

/**
 * Periodic app health probes (`--enable-app-health-check`) through the app channel's probe: an
 * HTTP GET of the health path answered 2xx, or for a gRPC app `AppCallbackHealthCheck/HealthCheck`
 * answered OK, within the timeout. The app turns unhealthy after `threshold` consecutive failures
 * and healthy again on the first success (daprd's pkg/apphealth).
 */
export class AppHealthProber {
  readonly #options: AppHealthOptions;
  readonly #probeOnce: HealthProbe;
  readonly #logger: Logger;
  #healthy: boolean | undefined;
  #failures = 0;
  #timer: NodeJS.Timeout | undefined;
  #onChange: ((healthy: boolean) => void) | undefined;

  constructor(options: AppHealthOptions, probe: HealthProbe, logger: Logger) {
    this.#options = options;
    this.#probeOnce = probe;
    this.#logger = logger;
  }

  /** True once a probe succeeded and fewer than `threshold` failures followed. */
  get healthy(): boolean {
    return this.#healthy === true;
  }

  /** Starts probing now and then every interval. */
  start(onChange?: (healthy: boolean) => void): void {
    this.#onChange = onChange;
    const tick = (): void => {
      void this.#probe().finally(() => {
        if (this.#timer !== undefined) this.#timer = setTimeout(tick, this.#options.probeIntervalMs).unref();
      });
    };
    this.#timer = setTimeout(tick, 0).unref();
  }

  /** Stops probing. */
  stop(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  async #probe(): Promise<void> {
    const ok = await this.#probeOnce(this.#options.path, this.#options.probeTimeoutMs).catch(() => false);
    if (ok) {
      this.#failures = 0;
      this.#set(true);
      return;
    }
    this.#failures++;
    // Unknown stays unknown (not ready) until the threshold is reached, like a failing app.
    if (this.#failures >= this.#options.threshold) this.#set(false);
  }

  #set(healthy: boolean): void {
    if (this.#healthy === healthy) return;
    this.#healthy = healthy;
    if (healthy) this.#logger.info('Application is healthy');
    else this.#logger.warn(`Application is unhealthy: ${this.#failures} consecutive failed health probes`);
    this.#onChange?.(healthy);
  }
}
