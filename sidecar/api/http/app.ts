import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import type { Logger } from '../../components/component.js';
import { DaprError } from '../../errors/dapr-error.js';
import type { ServiceInvoker } from '../../invoke/invoker.js';
import { type ApiRequestEvent, channels } from '../../observability/events.js';
import { plainText, requestBytes, responseBytes } from './body-size.js';
import { invokeMiddleware } from './invoke-routes.js';
import { locals, sendError } from './respond.js';
import type { RouteSpec } from './route.js';

/**
 * Builds the express application for a set of routes with daprd's middleware chain
 * (pkg/api/http/server.go): clean path and strip trailing slash → metrics events → API token →
 * API logging → routes → 404. Errors thrown by handlers are rendered as Dapr errors.
 */

/** Options for `buildApp`. */
export interface AppOptions {
  readonly appId: string;
  readonly apiToken?: string;
  readonly enableApiLogging: boolean;
  /** `spec.logging.apiLogging.obfuscateURLs`: log the endpoint's name, not the path. */
  readonly apiLoggingObfuscateUrls?: boolean;
  /** `spec.logging.apiLogging.omitHealthChecks`: no API log line for health checks. */
  readonly apiLoggingOmitHealthChecks?: boolean;
  readonly logger: Logger;
  /** Service invocation; when set, invocations are served before every other route. */
  readonly invoker?: () => ServiceInvoker | undefined;
}

/** The header carrying the app's token (daprd security consts APITokenHeader). */
export const API_TOKEN_HEADER = 'dapr-api-token';

/** Health probes never need the token (daprd's isRouteExcludedFromAPITokenAuth). */
function exemptFromToken(method: string, path: string): boolean {
  if (method !== 'GET') return false;
  const trimmed = path.replace(/^\/+|\/+$/g, '');
  return trimmed === 'v1.0/healthz' || trimmed === 'v1.0/healthz/outbound';
}

/** Collapses `//` and drops one trailing slash (daprd's CleanPath + StripSlashes middlewares). */
function cleanPath(req: Request, _res: Response, next: NextFunction): void {
  const url = req.url;
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  let cleaned = path.replace(/\/{2,}/g, '/');
  if (cleaned.length > 1 && cleaned.endsWith('/')) cleaned = cleaned.slice(0, -1);
  if (cleaned !== path) req.url = cleaned + (q < 0 ? '' : url.slice(q));
  next();
}

/** The request path as Go's `r.URL.Path` holds it: percent-decoded (left as sent if malformed). */
function decodedPath(path: string): string {
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}

/** Publishes `apiRequest` and writes the API log line once the response is finished. */
function observe(opts: AppOptions) {
  const log = opts.logger.child({ scope: 'dapr.runtime.http-info' });
  return (req: Request, res: Response, next: NextFunction): void => {
    const start = process.hrtime.bigint();
    res.once('finish', () => {
      const durationMs = Number(process.hrtime.bigint() - start) / 1e6;
      const l = locals(res);
      const route = l.route ?? 'unmatched';
      if (channels.apiRequest.hasSubscribers) {
        const event: ApiRequestEvent = {
          protocol: 'http',
          method: req.method,
          route,
          path: req.path,
          status: res.statusCode,
          durationMs,
          appId: opts.appId,
          requestBytes: requestBytes(req),
          responseBytes: responseBytes(res),
        };
        channels.apiRequest.publish(event);
      }
      if (
        opts.enableApiLogging &&
        l.route !== undefined &&
        !(l.healthCheck === true && opts.apiLoggingOmitHealthChecks === true)
      ) {
        // daprd's fields: whole milliseconds, "VERB /path" (or the endpoint's name), status, bytes sent.
        const fields: Record<string, unknown> = {
          duration: Math.trunc(durationMs),
          method:
            opts.apiLoggingObfuscateUrls === true
              ? (l.endpointName ?? route)
              : `${req.method} ${decodedPath(req.path)}`,
        };
        const ua = req.headers['user-agent'];
        if (ua !== undefined) fields.useragent = ua;
        fields.code = res.statusCode;
        fields.size = responseBytes(res);
        log.info('HTTP API Called', fields);
      }
    });
    next();
  };
}

/** Rejects calls without the right `dapr-api-token` with daprd's plain-text 401. */
function requireToken(token: string) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const given = req.headers[API_TOKEN_HEADER];
    if (given !== token && !exemptFromToken(req.method, req.path)) {
      plainText(res.status(401), 'invalid api token\n');
      return;
    }
    // The token goes no further than the sidecar.
    delete req.headers[API_TOKEN_HEADER];
    next();
  };
}

/** Builds the express app serving `routes`. */
export function buildApp(routes: readonly RouteSpec[], opts: AppOptions): Express {
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  app.set('query parser', 'simple');
  app.use(cleanPath);
  app.use(observe(opts));
  if (opts.apiToken !== undefined && opts.apiToken !== '') app.use(requireToken(opts.apiToken));
  if (opts.invoker !== undefined) app.use(invokeMiddleware(opts.invoker));
  for (const spec of routes) {
    const handler = async (req: Request, res: Response): Promise<void> => {
      const l = locals(res);
      l.route = spec.path;
      l.endpointName = spec.name;
      if (spec.healthCheck === true) l.healthCheck = true;
      try {
        await spec.handler(req, res);
      } catch (err) {
        if (!(err instanceof Error && err.name === 'DaprError')) {
          opts.logger.error('HTTP API handler failed', {
            route: spec.path,
            error: err instanceof Error ? err.stack : String(err),
          });
        }
        sendError(res, err);
      }
    };
    for (const m of spec.methods) app[m](spec.path, handler);
  }
  // A known path with another verb is 405 with an Allow header, as daprd's chi router answers.
  const allowed = new Map<string, Set<string>>();
  for (const spec of routes) {
    const set = allowed.get(spec.path) ?? new Set<string>();
    for (const m of spec.methods) set.add(m.toUpperCase());
    allowed.set(spec.path, set);
  }
  for (const [path, methods] of allowed) {
    app.all(path, (_req: Request, res: Response) => {
      res.setHeader('Allow', [...methods].join(', '));
      res.status(405).end();
    });
  }
  // Go's net/http NotFound body, which is what daprd's chi router sends for unknown routes.
  app.use((_req: Request, res: Response) => {
    plainText(res.status(404), '404 page not found\n');
  });
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    // Express reports undecodable path parameters as a 400 error; daprd answers those 400 too.
    const status = (err as { status?: unknown }).status;
    if (status === 400 || err instanceof URIError) {
      sendError(
        res,
        new DaprError(
          'ERR_MALFORMED_REQUEST',
          `failed to unescape request parameter: ${(err as Error).message}`,
          { cause: err },
        ),
      );
      return;
    }
    opts.logger.error('HTTP API request failed', { error: err instanceof Error ? err.message : String(err) });
    sendError(res, err);
  });
  return app;
}
