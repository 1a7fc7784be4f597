import type { Request, Response } from 'express';
import type { ApiContext } from '../universal/context.js';
import { checkHealth, checkOutboundHealth } from '../universal/health.js';
import { getMetadata, setMetadata } from '../universal/metadata.js';
import { shutdown } from '../universal/shutdown.js';
import { readRawBody } from './body.js';
import { param, queryValue } from './request-metadata.js';
import { sendEmpty, sendJson } from './respond.js';
import type { RouteOptions, RouteSpec } from './route.js';

/** Health routes; also served on the public port. Exempt from the API token. */
export function healthRoutes(ctx: ApiContext): RouteSpec[] {
  return [
    {
      methods: ['get'],
      path: '/v1.0/healthz',
      name: 'Healthz',
      healthCheck: true,
      handler: (req: Request, res: Response) => {
        checkHealth(ctx, queryValue(req, 'appid'));
        sendEmpty(res);
      },
    },
    {
      methods: ['get'],
      path: '/v1.0/healthz/outbound',
      name: 'HealthzOutbound',
      healthCheck: true,
      handler: (_req: Request, res: Response) => {
        checkOutboundHealth(ctx);
        sendEmpty(res);
      },
    },
  ];
}

/** GET /v1.0/metadata; also served on the public port. */
export function metadataGetRoute(ctx: ApiContext): RouteSpec {
  return {
    methods: ['get'],
    path: '/v1.0/metadata',
    name: 'GetMetadata',
    handler: (_req: Request, res: Response) => sendJson(res, 200, getMetadata(ctx)),
  };
}

/** PUT /v1.0/metadata/{key} (raw text body) and POST /v1.0/shutdown. */
export function runtimeRoutes(ctx: ApiContext, opts: RouteOptions): RouteSpec[] {
  return [
    {
      methods: ['put'],
      path: '/v1.0/metadata/:key',
      name: 'PutMetadata',
      handler: async (req: Request, res: Response) => {
        const body = await readRawBody(req, opts.maxBodyBytes);
        setMetadata(ctx, { key: param(req, 'key'), value: body.toString('utf8') });
        sendEmpty(res);
      },
    },
    {
      methods: ['post'],
      path: '/v1.0/shutdown',
      name: 'Shutdown',
      handler: (_req: Request, res: Response) => {
        // The app gets its 204 before the sidecar starts going down.
        res.once('finish', () => shutdown(ctx));
        sendEmpty(res);
      },
    },
  ];
}
