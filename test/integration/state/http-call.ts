import assert from 'node:assert/strict';

/** Small HTTP helpers for API integration tests against a real `outriggerd`. */

/** A finished HTTP exchange. */
export interface Reply {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  /** The body parsed as JSON (throws when it is not). */
  json<T = unknown>(): T;
}

/** Calls the sidecar; a non-string body is sent as JSON. */
export async function call(
  baseUrl: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Readonly<Record<string, string>> = {},
): Promise<Reply> {
  const init: RequestInit = { method, headers: { ...headers } };
  if (body !== undefined) {
    init.body = typeof body === 'string' || body instanceof Uint8Array ? body : JSON.stringify(body);
    if (typeof body !== 'string' && !(body instanceof Uint8Array))
      (init.headers as Record<string, string>)['content-type'] = 'application/json';
  }
  const res = await fetch(baseUrl + path, init);
  const text = await res.text();
  return {
    status: res.status,
    headers: res.headers,
    text,
    json: <T>() => JSON.parse(text) as T,
  };
}

/** Asserts a Dapr-shaped error: the status, the `errorCode`, and optionally a message pattern. */
export function assertDaprError(reply: Reply, status: number, errorCode: string, message?: RegExp): void {
  assert.equal(reply.status, status, `expected ${status} ${errorCode}, got ${reply.status}: ${reply.text}`);
  assert.match(reply.headers.get('content-type') ?? '', /application\/json/);
  const body = reply.json<{ errorCode: string; message: string }>();
  assert.equal(body.errorCode, errorCode, reply.text);
  assert.equal(typeof body.message, 'string');
  if (message !== undefined) assert.match(body.message, message);
}
