import type { IncomingMessage } from 'node:http';
import { DaprError } from '../../errors/dapr-error.js';

/**
 * Request bodies, read with daprd's `--max-body-size` limit. daprd wraps the body in a limited
 * reader (pkg/api/http/middlewares.go MaxBodySizeMiddleware), so an oversized body surfaces as a
 * read error inside the handler: "stream too large", reported with that handler's code.
 */

/** The error text daprd's limited reader produces (dapr/kit streams.ErrStreamTooLarge). */
export const STREAM_TOO_LARGE = 'stream too large';

/** Thrown by `readBody` when the body is larger than the limit. */
export class BodyTooLargeError extends Error {
  override readonly name = 'BodyTooLargeError';
  constructor() {
    super(STREAM_TOO_LARGE);
  }
}

/** Reads the whole body; rejects with BodyTooLargeError past `limit` bytes (the rest is drained). */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    req.resume();
    return Promise.reject(new BodyTooLargeError());
  }
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = (): void => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) {
        cleanup();
        // Keep the connection usable: discard the rest of the body instead of destroying the socket.
        req.resume();
        reject(new BodyTooLargeError());
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      cleanup();
      resolve(Buffer.concat(chunks, size));
    };
    const onError = (err: Error): void => {
      cleanup();
      reject(err);
    };
    // A client that goes away mid-body ends the read instead of leaving the handler waiting.
    const onClose = (): void => {
      cleanup();
      reject(new Error('request body aborted'));
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
  });
}

/** The text of a read or parse failure. */
function detail(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Reads and parses a JSON body. Read and parse failures are 400 ERR_MALFORMED_REQUEST; `prefix`
 * reproduces daprd's message ("failed deserializing HTTP body: …" on most routes, bare on save).
 * An empty body is refused with "EOF", as Go's JSON decoder does.
 */
export async function readJsonBody(
  req: IncomingMessage,
  limit: number,
  prefix = 'failed deserializing HTTP body: ',
): Promise<unknown> {
  let raw: Buffer;
  try {
    raw = await readBody(req, limit);
  } catch (err) {
    throw new DaprError('ERR_MALFORMED_REQUEST', `${prefix}${detail(err)}`, { cause: err });
  }
  if (raw.length === 0) throw new DaprError('ERR_MALFORMED_REQUEST', `${prefix}EOF`);
  try {
    return JSON.parse(raw.toString('utf8')) as unknown;
  } catch (err) {
    throw new DaprError('ERR_MALFORMED_REQUEST', `${prefix}${detail(err)}`, { cause: err });
  }
}

/** Reads a raw body for routes that take bytes; failures are 400 ERR_BODY_READ. */
export async function readRawBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  try {
    return await readBody(req, limit);
  } catch (err) {
    throw new DaprError('ERR_BODY_READ', `failed to read request body: ${detail(err)}`, { cause: err });
  }
}
