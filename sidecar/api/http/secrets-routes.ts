import type { Request, Response } from 'express';
import type { ApiContext } from '../universal/context.js';
import { getBulkSecret, getSecret } from '../universal/secrets.js';
import { metadataFromQuery, param } from './request-metadata.js';
import { sendJson } from './respond.js';
import type { RouteSpec } from './route.js';

/** Secrets API routes (daprd's constructSecretsEndpoints). */
export function secretsRoutes(ctx: ApiContext): RouteSpec[] {
  const onGet = async (req: Request, res: Response): Promise<void> => {
    const data = await getSecret(ctx, {
      storeName: param(req, 'storeName'),
      key: param(req, 'key'),
      metadata: metadataFromQuery(req),
    });
    sendJson(res, 200, data);
  };
  const onBulk = async (req: Request, res: Response): Promise<void> => {
    const data = await getBulkSecret(ctx, {
      storeName: param(req, 'storeName'),
      metadata: metadataFromQuery(req),
    });
    sendJson(res, 200, data);
  };
  // `bulk` is registered first so it wins over the `{key}` route, as in daprd.
  return [
    { methods: ['get'], path: '/v1.0/secrets/:storeName/bulk', name: 'GetBulkSecret', handler: onBulk },
    { methods: ['get'], path: '/v1.0/secrets/:storeName/:key', name: 'GetSecret', handler: onGet },
  ];
}
