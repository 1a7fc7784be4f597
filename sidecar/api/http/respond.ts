import type { Response } from 'express';
import { DaprError, isDaprError } from '../../errors/dapr-error.js';
import { type ApiErrorEvent, channels } from '../../observability/events.js';
import { noteResponseBytes } from './body-size.js';

/** Response helpers with daprd's conventions (pkg/api/http/responses.go). */

/** The JSON content type daprd sets on bodies. */
export const JSON_CONTENT_TYPE = 'application/json';

/** `res.locals` keys the adapter uses between middlewares. */
export interface ResponseLocals {
  /** The route template (`/v1.0/state/:storeName/:key`), for metrics and logs. */
  route?: string;
  /** The Dapr error code sent, if any. */
  errorCode?: string;
  /** True for health-check routes (API-logged unless `omitHealthChecks`, as daprd). */
  healthCheck?: boolean;
  /** daprd's endpoint name (`GetState`, `InvokeService/<app id>`), logged with `obfuscateURLs`. */
  endpointName?: string;
}

/** Typed access to this adapter's `res.locals`. */
export function locals(res: Response): ResponseLocals {
  return res.locals as ResponseLocals;
}

/** 204 with no body (daprd's respondWithEmpty). */
export function sendEmpty(res: Response): void {
  res.status(204).end();
}

/** A pre-serialized JSON (or other) body. */
export function sendData(
  res: Response,
  status: number,
  body: string | Uint8Array,
  contentType = JSON_CONTENT_TYPE,
): void {
  if (res.getHeader('content-type') === undefined) res.setHeader('Content-Type', contentType);
  const bytes =
    typeof body === 'string'
      ? Buffer.from(body, 'utf8')
      : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  noteResponseBytes(res, bytes.length);
  res.status(status).end(bytes);
}

/** An object encoded as JSON. */
export function sendJson(res: Response, status: number, value: unknown): void {
  sendData(res, status, JSON.stringify(value));
}

/** Wraps anything thrown into a DaprError; unexpected exceptions become 500 ERR_INTERNAL. */
export function toDaprError(err: unknown): DaprError {
  if (isDaprError(err)) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new DaprError('ERR_INTERNAL', message, { cause: err });
}

/** Renders a DaprError: its status, headers and `{errorCode, message, details?}`; publishes `apiError`. */
export function sendError(res: Response, err: unknown): void {
  const e = toDaprError(err);
  locals(res).errorCode = e.code;
  if (channels.apiError.hasSubscribers) {
    const event: ApiErrorEvent = { code: e.code, protocol: 'http' };
    channels.apiError.publish(event);
  }
  if (res.headersSent) {
    res.destroy();
    return;
  }
  for (const [k, v] of Object.entries(e.headers)) res.setHeader(k, v);
  res.removeHeader('content-type');
  sendJson(res, e.httpStatus, e.toJSON());
}

/** Sets component response metadata as `metadata.<k>` headers. */
export function setMetadataHeaders(
  res: Response,
  metadata: Readonly<Record<string, string>> | undefined,
): void {
  if (metadata === undefined) return;
  for (const [k, v] of Object.entries(metadata)) res.setHeader(`metadata.${k}`, v);
}

/**
 * Embeds stored bytes as raw JSON (daprd's json.RawMessage). Bytes that are not JSON are sent
 * as a JSON string instead, so the response stays valid JSON.
 */
export function rawJson(data: Uint8Array): string {
  const text = Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8');
  try {
    JSON.parse(text);
    return text;
  } catch {
    return JSON.stringify(text);
  }
}
