import type { Request } from 'express';

/** URL helpers: daprd's `metadata.<k>` query params and plain query values. */

const METADATA_PREFIX = 'metadata.';

const parsed = new WeakMap<Request, URLSearchParams>();

/** The request's query, parsed once per request. */
function searchParams(req: Request): URLSearchParams {
  let params = parsed.get(req);
  if (params === undefined) {
    const url = req.originalUrl;
    const q = url.indexOf('?');
    params = new URLSearchParams(q < 0 ? '' : url.slice(q + 1));
    parsed.set(req, params);
  }
  return params;
}

/** `metadata.<k>=v` query params → `{k: v}`; the first value wins, as daprd's getMetadataFromRequest. */
export function metadataFromQuery(req: Request): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of searchParams(req)) {
    if (k.startsWith(METADATA_PREFIX) && !(k.slice(METADATA_PREFIX.length) in out))
      out[k.slice(METADATA_PREFIX.length)] = v;
  }
  return out;
}

/** The first value of a query parameter, or undefined when absent. */
export function queryValue(req: Request, name: string): string | undefined {
  const v = searchParams(req).get(name);
  return v === null ? undefined : v;
}

/** A route parameter (Express decodes it). */
export function param(req: Request, name: string): string {
  const v = (req.params as Record<string, string | undefined>)[name];
  return v ?? '';
}
