/**
 * The Secrets API methods of `dapr.proto.runtime.v1.Dapr` (daprd's universal GetSecret and
 * GetBulkSecret, shared by both protocols): decode, call the universal Secrets API, encode.
 */
import type { ApiContext } from '../universal/context.js';
import { getBulkSecret, getSecret } from '../universal/secrets.js';
import type { GetBulkSecretRequestMessage, GetSecretRequestMessage } from './dapr-proto.js';
import type { GrpcOutcome } from './state-service.js';

/** The Secrets API handlers over `ctx`, keyed by method name. */
export function secretsMethods(ctx: ApiContext) {
  return {
    async GetSecret(req: GetSecretRequestMessage): Promise<GrpcOutcome> {
      const data = await getSecret(ctx, {
        storeName: req.store_name,
        key: req.key,
        metadata: req.metadata ?? {},
      });
      return { response: { data } };
    },

    async GetBulkSecret(req: GetBulkSecretRequestMessage): Promise<GrpcOutcome> {
      const all = await getBulkSecret(ctx, { storeName: req.store_name, metadata: req.metadata ?? {} });
      const data: Record<string, { secrets: Record<string, string> }> = {};
      for (const [name, secrets] of Object.entries(all)) data[name] = { secrets };
      return { response: { data } };
    },
  };
}
