/**
 * Service invocation over the HTTP API (daprd pkg/api/http/directmessaging.go). The target may
 * come from (in daprd's order) the `dapr-app-id` header on any path, Basic auth
 * `dapr-app-id:<id>`, or `/v1.0/invoke/<id>/method/<method…>`. Bodies are never parsed: request
 * and response stream through.
 *
 * Two entry points share one handler written against plain node:http objects: an express
 * middleware (placed before every other route) and `withInvokeFastPath`, which serves
 * invocations before express sees them. The fast path exists for latency: it skips express's
 * router and per-request objects, and does itself the three things the express chain would
 * (clean path, API token, the `apiRequest` metrics event).
 */

import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { Cancellation } from '../../channel/cancellation.js';
import { DaprError } from '../../errors/dapr-error.js';
import { forHttpCaller, type InvokeResult, type ServiceInvoker } from '../../invoke/invoker.js';
import { type ApiRequestEvent, channels } from '../../observability/events.js';
import { invokeService } from '../universal/invoke.js';
import { countStreamedBody, noteResponseBytes, requestBytes, responseBytes } from './body-size.js';
import { locals } from './respond.js';
import { markInvocation } from './tracing.js';

/** The metrics/log route template of invocations. */
export const INVOKE_ROUTE = '/v1.0/invoke/:id/method/*';

const PREFIX = /^\/v1\.0\/invoke\/(.+)$/;

/** Finds target and method (daprd findTargetIDAndMethod); undefined when the request is not an invocation. */
export function findTargetAndMethod(
  path: string,
  headers: IncomingMessage['headers'],
): { targetId: string; method: string } | undefined {
  const header = headers['dapr-app-id'];
  const appId = Array.isArray(header) ? header[0] : header;
  if (appId !== undefined && appId !== '') {
    delete headers['dapr-app-id'];
    return { targetId: appId, method: cleanMethod(path) };
  }
  const auth = headers.authorization;
  if (auth?.startsWith('Basic ')) {
    const pair = Buffer.from(auth.slice(6), 'base64').toString('utf8').split(':');
    if (
      pair.length === 2 &&
      pair[0]?.toLowerCase() === 'dapr-app-id' &&
      pair[1] !== undefined &&
      pair[1] !== ''
    )
      return { targetId: pair[1], method: cleanMethod(path) };
  }
  if (!path.startsWith('/v1.0/invoke/')) return undefined;
  const m = PREFIX.exec(path);
  if (m === null) return undefined;
  const rest = m[1] as string;
  const idx = rest.indexOf('/method/');
  if (idx <= 0) return { targetId: '', method: '' };
  let targetId = rest.slice(0, idx);
  if (targetId.includes('%') || targetId.includes('+')) {
    try {
      targetId = decodeURIComponent(targetId.replaceAll('+', ' '));
    } catch {
      // keep it as written
    }
  }
  // The clean-path step turned `http://` into `http:/`.
  targetId = targetId.replace(/^(https?):\/(?!\/)/, '$1://');
  return { targetId, method: cleanMethod(rest.slice(idx + 8)) };
}

function cleanMethod(m: string): string {
  if (!m.includes('.') && !m.includes('//') && !m.startsWith('/') && !m.endsWith('/')) return m;
  const out: string[] = [];
  for (const seg of m.split('/')) {
    if (seg === '.' || seg === '') continue;
    if (seg === '..') out.pop();
    else out.push(seg);
  }
  return out.join('/');
}

function sendPlainError(res: ServerResponse, err: unknown): void {
  const e =
    err instanceof DaprError
      ? err
      : new DaprError('ERR_DIRECT_INVOKE', err instanceof Error ? err.message : String(err), { cause: err });
  (res as ServerResponse & { locals?: { errorCode?: string } }).locals ??= {};
  const l = (res as ServerResponse & { locals: { errorCode?: string } }).locals;
  l.errorCode = e.code;
  if (channels.apiError.hasSubscribers) channels.apiError.publish({ code: e.code, protocol: 'http' });
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = JSON.stringify(e.toJSON());
  const length = Buffer.byteLength(body);
  res.writeHead(e.httpStatus, {
    ...e.headers,
    'content-type': 'application/json',
    'content-length': length,
  });
  noteResponseBytes(res, length);
  res.end(body);
}

/** Serves one invocation whose target was found; `url` is the (cleaned) request URL. */
export function serveInvocation(
  invoker: ServiceInvoker | undefined,
  found: { targetId: string; method: string },
  url: string,
  req: IncomingMessage,
  res: ServerResponse,
): void {
  if (found.targetId === '') {
    sendPlainError(
      res,
      new DaprError(
        'ERR_DIRECT_INVOKE',
        'failed getting app id either from the URL path or the header dapr-app-id',
        {
          httpStatus: 404,
          grpcCode: 5,
        },
      ),
    );
    return;
  }
  if (found.method === '') {
    sendPlainError(
      res,
      new DaprError('ERR_DIRECT_INVOKE', 'invalid method name', { httpStatus: 400, grpcCode: 3 }),
    );
    return;
  }
  if (invoker === undefined) {
    sendPlainError(res, new DaprError('ERR_DIRECT_INVOKE', 'invoke API is not ready'));
    return;
  }
  markInvocation(res, found.targetId, found.method);
  const cancel = new Cancellation();
  res.on('close', () => {
    if (!res.writableFinished) cancel.cancel();
  });
  const q = url.indexOf('?');
  const cl = req.headers['content-length'];
  const te = req.headers['transfer-encoding'];
  invokeService(invoker, {
    targetId: found.targetId,
    method: found.method,
    verb: (req.method ?? 'GET').toUpperCase(),
    query: q < 0 ? '' : url.slice(q + 1),
    headers: req.headers,
    body: req,
    contentLength: te === undefined ? (cl === undefined ? 0 : Number(cl)) : undefined,
    remoteIp: req.socket.remoteAddress ?? '',
    localIp: req.socket.localAddress ?? '',
    signal: cancel,
  }).then(
    (answer) => {
      let result: InvokeResult;
      try {
        result = forHttpCaller(answer);
      } catch (err) {
        sendPlainError(res, err);
        return;
      }
      res.writeHead(result.status, result.headers);
      const body = result.body;
      if (Buffer.isBuffer(body)) {
        noteResponseBytes(res, body.length);
        res.end(body);
      } else {
        body.on('error', () => res.destroy());
        countStreamedBody(res, body);
        body.pipe(res);
      }
    },
    (err: unknown) => {
      req.resume();
      sendPlainError(res, err);
    },
  );
}

/** The invocation middleware for express; place it before every other route. */
export function invokeMiddleware(invoker: () => ServiceInvoker | undefined): RequestHandler {
  return (req: Request, res: Response, next: NextFunction): void => {
    const url = req.url;
    const q = url.indexOf('?');
    const found = findTargetAndMethod(q < 0 ? url : url.slice(0, q), req.headers);
    if (found === undefined) {
      next();
      return;
    }
    const l = locals(res);
    l.route = INVOKE_ROUTE;
    l.endpointName = `InvokeService/${found.targetId}`;
    serveInvocation(invoker(), found, url, req, res);
  };
}

/** Options of `withInvokeFastPath`. */
export interface FastPathOptions {
  readonly appId: string;
  readonly apiToken?: string;
  readonly invoker: () => ServiceInvoker | undefined;
}

/**
 * Wraps the express app: invocations are served directly, everything else (and any invocation
 * that would be refused by the token check) goes to express unchanged.
 */
export function withInvokeFastPath(app: RequestListener, opts: FastPathOptions): RequestListener {
  const token = opts.apiToken === undefined || opts.apiToken === '' ? undefined : opts.apiToken;
  return (req, res) => {
    const h = req.headers;
    const url = req.url ?? '/';
    if (!url.startsWith('/v1.0/invoke/') && h['dapr-app-id'] === undefined && h.authorization === undefined) {
      app(req, res);
      return;
    }
    if (token !== undefined && h['dapr-api-token'] !== token) {
      app(req, res);
      return;
    }
    const q = url.indexOf('?');
    const rawPath = q < 0 ? url : url.slice(0, q);
    let path = rawPath.includes('//') ? rawPath.replace(/\/{2,}/g, '/') : rawPath;
    if (path.length > 1 && path.endsWith('/')) path = path.slice(0, -1);
    const found = findTargetAndMethod(path, h);
    if (found === undefined) {
      app(req, res);
      return;
    }
    if (token !== undefined) delete h['dapr-api-token'];
    const cleanUrl = q < 0 ? path : path + url.slice(q);
    if (channels.apiRequest.hasSubscribers) {
      const start = performance.now();
      res.on('finish', () => {
        const event: ApiRequestEvent = {
          protocol: 'http',
          method: req.method ?? '',
          route: INVOKE_ROUTE,
          path,
          status: res.statusCode,
          durationMs: performance.now() - start,
          appId: opts.appId,
          requestBytes: requestBytes(req),
          responseBytes: responseBytes(res),
        };
        channels.apiRequest.publish(event);
      });
    }
    serveInvocation(opts.invoker(), found, cleanUrl, req, res);
  };
}
