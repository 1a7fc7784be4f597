/**
 * Service invocation over the HTTP API (daprd pkg/api/http/directmessaging.go). A middleware, not
 * a route, because the target may come from (in daprd's order) the `dapr-app-id` header on any
 * path, Basic auth `dapr-app-id:<id>`, or `/v1.0/invoke/<id>/method/<method…>`. Bodies are never
 * parsed: request and response stream through.
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { DaprError } from '../../errors/dapr-error.js';
import type { ServiceInvoker } from '../../invoke/invoker.js';
import { invokeService } from '../universal/invoke.js';
import { locals, sendError } from './respond.js';

/** The metrics/log route template of invocations. */
export const INVOKE_ROUTE = '/v1.0/invoke/:id/method/*';

const PREFIX = /^\/v1\.0\/invoke\/(.+)$/;

/** Finds target and method (daprd findTargetIDAndMethod); undefined when the request is not an invocation. */
export function findTargetAndMethod(
  path: string,
  headers: Request['headers'],
): { targetId: string; method: string } | undefined {
  const header = headers['dapr-app-id'];
  const appId = Array.isArray(header) ? header[0] : header;
  if (appId !== undefined && appId !== '') {
    delete headers['dapr-app-id'];
    return { targetId: appId, method: path.replace(/^\/+/, '') };
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
      return { targetId: pair[1], method: path.replace(/^\/+/, '') };
  }
  const m = PREFIX.exec(path);
  if (m === null) return undefined;
  const rest = m[1] as string;
  const idx = rest.indexOf('/method/');
  if (idx <= 0) return { targetId: '', method: '' };
  let targetId = rest.slice(0, idx);
  try {
    targetId = decodeURIComponent(targetId.replaceAll('+', ' '));
  } catch {
    // keep it as written
  }
  // The clean-path middleware turned `http://` into `http:/`.
  targetId = targetId.replace(/^(https?):\/(?!\/)/, '$1://');
  return { targetId, method: cleanMethod(rest.slice(idx + 8)) };
}

function cleanMethod(m: string): string {
  const out: string[] = [];
  for (const seg of m.split('/')) {
    if (seg === '.' || seg === '') continue;
    if (seg === '..') out.pop();
    else out.push(seg);
  }
  return out.join('/');
}

/** The invocation middleware; place it before every other route. */
export function invokeMiddleware(invoker: () => ServiceInvoker | undefined): RequestHandler {
  return (req: Request, res: Response, next: NextFunction): void => {
    const url = req.url;
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    const found = findTargetAndMethod(path, req.headers);
    if (found === undefined) {
      next();
      return;
    }
    locals(res).route = INVOKE_ROUTE;
    if (found.targetId === '') {
      sendError(
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
      sendError(
        res,
        new DaprError('ERR_DIRECT_INVOKE', 'invalid method name', { httpStatus: 400, grpcCode: 3 }),
      );
      return;
    }
    const inv = invoker();
    if (inv === undefined) {
      sendError(res, new DaprError('ERR_DIRECT_INVOKE', 'invoke API is not ready'));
      return;
    }
    const abort = new AbortController();
    res.once('close', () => {
      if (!res.writableFinished) abort.abort();
    });
    const cl = req.headers['content-length'];
    const te = req.headers['transfer-encoding'];
    invokeService(inv, {
      targetId: found.targetId,
      method: found.method,
      verb: req.method.toUpperCase(),
      query: q < 0 ? '' : url.slice(q + 1),
      headers: req.headers,
      body: req,
      contentLength: te === undefined ? (cl === undefined ? 0 : Number(cl)) : undefined,
      remoteIp: req.socket.remoteAddress ?? '',
      localIp: req.socket.localAddress ?? '',
      signal: abort.signal,
    }).then(
      (result) => {
        res.writeHead(result.status, result.headers);
        result.body.on('error', () => res.destroy());
        result.body.pipe(res);
      },
      (err: unknown) => {
        req.resume();
        if (res.headersSent) res.destroy();
        else sendError(res, err);
      },
    );
  };
}
