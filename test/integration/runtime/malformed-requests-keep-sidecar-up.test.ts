import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { removeTempDir } from '../../env/process.js';
import { component, makeResourcesDir, type Sidecar, startSidecar } from '../harness.js';

/**
 * A seeded stream of malformed and mismatched requests against every HTTP API route (bad store
 * names and keys, broken escapes, wrong verbs, invalid JSON and shapes, binary bodies, odd content
 * types, a `dapr-app-id` header to nowhere): the sidecar answers each one, refusals carry daprd's
 * `{"errorCode","message"}` body, nothing but a plain 500 is a server error, and it keeps serving.
 */

let dir = '';
let sidecar: Sidecar;

before(async () => {
  dir = await makeResourcesDir([
    component('statestore', 'state.in-memory', { actorStateStore: 'true' }),
    component('envsecrets', 'secretstores.local.env'),
  ]);
  sidecar = await startSidecar({ appId: 'fuzzed', resourcesPaths: [dir] });
});

after(async () => {
  await sidecar?.stop();
  await removeTempDir(dir);
});

/** A small linear congruential generator: the same requests on every run. */
function seeded(seed: number): <T>(choices: readonly T[]) => T {
  let s = seed;
  return <T>(choices: readonly T[]): T => {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    return choices[Math.floor((s / 0x80000000) * choices.length)] as T;
  };
}

const METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS'];
const STORES = ['statestore', 'nope', '%00', '..', 'state%2Fstore', 'a'.repeat(300)];
const KEYS = ['k', 'k||x', '%zz', 'a%2Fb', '%C3%BC', '%00', 'bulk', 'transaction'];
const QUERIES = [
  '',
  '?metadata.ttlInSeconds=abc',
  '?consistency=weird',
  '?metadata.contentType=%25',
  '?a=%zz',
];
const BODIES = [
  '',
  '{',
  '[]',
  '{}',
  'null',
  '"x"',
  '[{"key":"k","value":1}]',
  '[{"key":1}]',
  '[{"value":1}]',
  '[{"key":"k","etag":5,"value":{}}]',
  '[{"key":"k","value":"v","options":{"concurrency":"nope"}}]',
  '[{"key":"k","value":1,"metadata":{"ttlInSeconds":"-5"}}]',
  '{"operations":[{"operation":"upsert","request":{"key":"k","value":1}}]}',
  '{"operations":"x"}',
  '{"operations":[{"operation":"boom"}]}',
  '{"keys":["a","b"],"parallelism":-1}',
  '{"keys":"a"}',
  '{"filter":{"EQ":{"a":1}}}',
  '{"filter":7}',
  '\xff\xfe\x00\x01',
  'x'.repeat(100_000),
];

interface Answer {
  readonly status: number;
  readonly body: string;
}

function send(method: string, path: string, headers: Record<string, string>, body: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const payload = Buffer.from(body, 'latin1');
    const req = request(
      {
        host: '127.0.0.1',
        port: sidecar.httpPort,
        method,
        path,
        headers: { ...headers, ...(body === '' ? {} : { 'content-length': String(payload.length) }) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body === '' ? undefined : payload);
  });
}

describe('malformed requests', () => {
  it('are each answered in daprd’s shape, and the sidecar keeps serving', async () => {
    const pick = seeded(12345);
    const path = (): string =>
      pick([
        () => `/v1.0/state/${pick(STORES)}/${pick(KEYS)}${pick(QUERIES)}`,
        () => `/v1.0/state/${pick(STORES)}${pick(QUERIES)}`,
        () => `/v1.0/state/${pick(STORES)}/bulk`,
        () => `/v1.0/state/${pick(STORES)}/transaction`,
        () => `/v1.0-alpha1/state/${pick(STORES)}/query`,
        () => `/v1.0/secrets/envsecrets/${pick(['HOME', '%zz', 'x'])}`,
        () => `/v1.0/secrets/${pick(STORES)}/bulk`,
        () => `/v1.0/metadata/${pick(KEYS)}`,
        () => '/v1.0/metadata',
        () => '/v1.0/healthz',
        () =>
          `/v1.0/invoke/${pick(['nope', 'a.b.c', 'http%3A%2F%2F127.0.0.1%3A1', '%zz'])}/method/${pick(KEYS)}`,
        () => `/${pick(KEYS)}`,
      ])();
    const statuses = new Map<number, number>();
    const problems: string[] = [];
    for (let i = 0; i < 1500; i += 10) {
      await Promise.all(
        Array.from({ length: 10 }, async () => {
          const method = pick(METHODS);
          const p = path();
          const headers: Record<string, string> = {};
          const contentType = pick(['', 'application/json', 'text/plain', 'application/octet-stream', '%%']);
          if (contentType !== '') headers['content-type'] = contentType;
          const appId = pick(['', '', '', 'nope', 'a.b']);
          if (appId !== '') headers['dapr-app-id'] = appId;
          const body = method === 'GET' || method === 'HEAD' ? '' : pick(BODIES);
          const { status, body: text } = await send(method, p, headers, body);
          statuses.set(status, (statuses.get(status) ?? 0) + 1);
          if (status > 500) problems.push(`${method} ${p} → ${status}`);
          // Refusals of the API's own routes carry daprd's error body (404/405 from the router
          // and invocation answers relayed from elsewhere aside).
          const routed = status !== 404 && status !== 405 && method !== 'HEAD';
          const invocation = p.includes('/invoke/') || appId !== '';
          if (status >= 400 && routed && !invocation) {
            const parsed = (() => {
              try {
                return JSON.parse(text) as { errorCode?: unknown; message?: unknown };
              } catch {
                return undefined;
              }
            })();
            if (typeof parsed?.errorCode !== 'string' || typeof parsed.message !== 'string')
              problems.push(`${method} ${p} → ${status} without daprd's error body: ${text.slice(0, 120)}`);
          }
        }),
      );
    }
    assert.deepEqual(problems, []);
    // The stream reached the refusals it was written for, and some successes.
    for (const status of [200, 204, 400, 404, 500])
      assert.ok((statuses.get(status) ?? 0) > 0, `no ${status} in ${JSON.stringify([...statuses])}`);
    assert.equal((await fetch(`${sidecar.url}/v1.0/healthz`)).status, 204);
    assert.doesNotMatch(sidecar.logs(), /level=fatal|Unhandled|uncaught/i);
  });
});
