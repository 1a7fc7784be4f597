/**
 * CORS on the HTTP API, as daprd applies it (rs/cors in front of every API route, before API-token
 * checks): with `--allowed-origins` at its default `*` every origin is allowed (`cors.AllowAll()`),
 * otherwise only the comma-separated origins, each of which may hold one `*` wildcard
 * (`http://*.example.com`). Methods HEAD, GET, POST, PUT, PATCH and DELETE, any request header,
 * no credentials, no max age.
 *
 * - A preflight (OPTIONS with `Access-Control-Request-Method`) is answered here with 204 and never
 *   reaches a route; it carries the allow headers only when origin, method and headers pass.
 * - Any other request goes on to its route, with `Access-Control-Allow-Origin` added when its
 *   `Origin` is allowed. Requests without an `Origin` header are untouched.
 */
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';

const ALLOWED_METHODS = new Set(['HEAD', 'GET', 'POST', 'PUT', 'PATCH', 'DELETE']);
/** rs/cors lets OPTIONS through whatever the list says. */
function methodAllowed(method: string): boolean {
  return method === 'OPTIONS' || ALLOWED_METHODS.has(method);
}

const PREFLIGHT_VARY = 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers';

/** Which origins a CORS policy lets in. */
export class AllowedOrigins {
  readonly #all: boolean;
  readonly #exact: ReadonlySet<string>;
  readonly #wildcards: readonly { readonly prefix: string; readonly suffix: string }[];

  /** From the `--allowed-origins` value: comma-separated, case-insensitive. */
  constructor(list: string) {
    const origins = list
      .split(',')
      .map((o) => o.trim().toLowerCase())
      .filter((o) => o !== '');
    this.#all = origins.includes('*');
    const exact = new Set<string>();
    const wildcards: { prefix: string; suffix: string }[] = [];
    for (const o of origins) {
      const star = o.indexOf('*');
      if (star < 0) exact.add(o);
      else wildcards.push({ prefix: o.slice(0, star), suffix: o.slice(star + 1) });
    }
    this.#exact = exact;
    this.#wildcards = wildcards;
  }

  /** Every origin is allowed (the answer then says `*`, not the origin). */
  get all(): boolean {
    return this.#all;
  }

  allows(origin: string): boolean {
    if (this.#all) return true;
    const o = origin.toLowerCase();
    if (this.#exact.has(o)) return true;
    return this.#wildcards.some(
      (w) => o.length >= w.prefix.length + w.suffix.length && o.startsWith(w.prefix) && o.endsWith(w.suffix),
    );
  }
}

/** Wraps the API's request listener with the CORS policy. */
export function withCors(listener: RequestListener, origins: AllowedOrigins): RequestListener {
  return (req: IncomingMessage, res: ServerResponse) => {
    const origin = req.headers.origin;
    const preflightMethod = req.headers['access-control-request-method'];
    if (req.method === 'OPTIONS' && typeof preflightMethod === 'string' && preflightMethod !== '') {
      answerPreflight(req, res, origin, preflightMethod, origins);
      return;
    }
    if (origin !== undefined) {
      res.appendHeader('Vary', 'Origin');
      if (origins.allows(origin) && methodAllowed(req.method ?? '')) {
        res.setHeader('Access-Control-Allow-Origin', origins.all ? '*' : origin);
      }
    }
    listener(req, res);
  };
}

function answerPreflight(
  req: IncomingMessage,
  res: ServerResponse,
  origin: string | undefined,
  method: string,
  origins: AllowedOrigins,
): void {
  res.setHeader('Vary', PREFLIGHT_VARY);
  const upper = method.toUpperCase();
  if (origin !== undefined && origins.allows(origin) && methodAllowed(upper)) {
    res.setHeader('Access-Control-Allow-Origin', origins.all ? '*' : origin);
    res.setHeader('Access-Control-Allow-Methods', upper);
    const requested = req.headers['access-control-request-headers'];
    if (requested !== undefined && requested !== '') res.setHeader('Access-Control-Allow-Headers', requested);
  }
  res.statusCode = 204;
  res.end();
  // A preflight's body, if any, is not read; let the connection drain it.
  req.resume();
}
