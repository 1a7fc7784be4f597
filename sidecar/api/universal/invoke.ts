/**
 * Service invocation, the one implementation both API adapters call. Decoding (where the target
 * and method come from) is the adapter's job; this runs the invocation and maps failures to
 * daprd's errors (500 ERR_DIRECT_INVOKE, 403 when the callee's access control denies).
 */
import type { InvokeRequest, InvokeResult, ServiceInvoker } from '../../invoke/invoker.js';

/** Invokes `req.method` on `req.targetId`; rejects with a DaprError. */
export function invokeService(invoker: ServiceInvoker, req: InvokeRequest): Promise<InvokeResult> {
  return invoker.invoke(req);
}
