import type { ApiContext } from './context.js';

/** The shutdown API (daprd's pkg/api/universal/shutdown.go). */

/** Starts a graceful shutdown. Adapters call it after the 204 has been written. */
export function shutdown(ctx: ApiContext): void {
  ctx.logger.info('Received request to shut down Dapr');
  ctx.requestShutdown('shutdown API called');
}
