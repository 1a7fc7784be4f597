import { DaprError, errorInfo } from '../../errors/dapr-error.js';
import type { ApiContext } from './context.js';

/** The health API (daprd's pkg/api/http/healthz.go and pkg/api/errors/health.go). */

/** `/v1.0/healthz`: throws 500 ERR_HEALTH_NOT_READY, or ERR_HEALTH_APPID_NOT_MATCH for a foreign `appid`. */
export function checkHealth(ctx: ApiContext, appIdQuery?: string): void {
  if (!ctx.health.ready()) {
    throw new DaprError(
      'ERR_HEALTH_NOT_READY',
      `dapr is not ready: [${ctx.health.notReadyTargets().join(' ')}]`,
      {
        details: [errorInfo('ERR_HEALTH_NOT_READY')],
      },
    );
  }
  // Used by name resolvers (Consul) to detect that another app took over the address.
  if (appIdQuery !== undefined && appIdQuery !== ctx.appId) {
    throw new DaprError('ERR_HEALTH_APPID_NOT_MATCH', 'dapr app-id does not match', {
      details: [errorInfo('ERR_HEALTH_APPID_NOT_MATCH')],
    });
  }
}

/** `/v1.0/healthz/outbound`: throws 500 ERR_OUTBOUND_HEALTH_NOT_READY until components are loaded. */
export function checkOutboundHealth(ctx: ApiContext): void {
  if (!ctx.health.outboundReady()) {
    throw new DaprError('ERR_OUTBOUND_HEALTH_NOT_READY', 'dapr outbound is not ready', {
      details: [errorInfo('ERR_OUTBOUND_HEALTH_NOT_READY')],
    });
  }
}
