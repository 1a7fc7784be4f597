/**
 * Fixture for invocation tests: a real HTTP "app" (node:http on port 0) that records every hit
 * and answers by route, plus helpers to start the app's outriggerd with a shared name-resolution
 * home (`OUTRIGGER_HOME`), so sidecars find each other through the local registry.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { makeTempDir, removeTempDir } from '../../env/process.js';
import { type Sidecar, type SidecarOptions, startSidecar } from '../harness.js';

/** One request the app received. */
export interface Hit {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly bodySha256: string;
  readonly bodyLength: number;
}

/** A running test app. */
export interface TestApp {
  readonly port: number;
  readonly hits: Hit[];
  /** Hits whose path starts with `prefix`. */
  count(prefix: string): number;
  /** Makes `/flaky` answer `status` for the next `n` hits. */
  failNext(n: number, status: number): void;
  close(): Promise<void>;
}

/**
 * Routes: `/echo` streams the body back; `/status/<code>` answers that status with header
 * `x-app: b`; `/slow/<ms>` answers after ms; `/flaky` answers per `failNext`; `/big/<bytes>`
 * streams that many bytes; `/drop` destroys the connection; anything else answers a JSON description of the request.
 */
export async function startTestApp(): Promise<TestApp> {
  const hits: Hit[] = [];
  let failing = 0;
  let failStatus = 500;
  const server: Server = createServer((req, res) => {
    const url = req.url ?? '/';
    if (url.startsWith('/echo')) {
      const hash = createHash('sha256');
      let n = 0;
      res.writeHead(200, { 'content-type': req.headers['content-type'] ?? 'application/octet-stream' });
      req.on('data', (c: Buffer) => {
        hash.update(c);
        n += c.length;
      });
      req.pipe(res);
      req.on('end', () =>
        hits.push({
          method: req.method ?? '',
          url,
          headers: req.headers,
          bodySha256: hash.digest('hex'),
          bodyLength: n,
        }),
      );
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      hits.push({
        method: req.method ?? '',
        url,
        headers: req.headers,
        bodySha256: createHash('sha256').update(body).digest('hex'),
        bodyLength: body.length,
      });
      const status = /^\/status\/(\d+)/.exec(url);
      if (status !== null) {
        res.writeHead(Number(status[1]), { 'x-app': 'b', 'content-type': 'text/plain' });
        res.end(`status ${status[1]}`);
        return;
      }
      const slow = /^\/slow\/(\d+)/.exec(url);
      if (slow !== null) {
        setTimeout(() => res.end('slow done'), Number(slow[1]));
        return;
      }
      const trickle = /^\/trickle\/(\d+)\/(\d+)/.exec(url);
      if (trickle !== null) {
        // Headers and the first chunk at once, then one chunk every <ms> (chunked encoding).
        const [n, ms] = [Number(trickle[1]), Number(trickle[2])];
        res.writeHead(200, { 'content-type': 'text/plain' });
        let i = 0;
        const next = (): void => {
          if (res.destroyed) return;
          res.write(`chunk ${i}\n`);
          if (++i === n) res.end();
          else setTimeout(next, ms);
        };
        next();
        return;
      }
      if (url.startsWith('/drop')) {
        req.socket.destroy();
        return;
      }
      if (url.startsWith('/flaky')) {
        if (failing > 0) {
          failing--;
          res.writeHead(failStatus);
          res.end('failing');
        } else res.end('ok');
        return;
      }
      const big = /^\/big\/(\d+)/.exec(url);
      if (big !== null) {
        let left = Number(big[1]);
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        const chunk = Buffer.alloc(64 * 1024, 7);
        const pump = (): void => {
          while (left > 0) {
            const n = Math.min(left, chunk.length);
            left -= n;
            if (!res.write(n === chunk.length ? chunk : chunk.subarray(0, n))) {
              res.once('drain', pump);
              return;
            }
          }
          res.end();
        };
        pump();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json', 'x-app': 'b' });
      res.end(JSON.stringify({ method: req.method, url, headers: req.headers, body: body.toString('utf8') }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    hits,
    count: (prefix) => hits.filter((h) => h.url.startsWith(prefix)).length,
    failNext(n, status) {
      failing = n;
      failStatus = status;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Starts outriggerd for an app id with the shared registry home. */
export function startAppSidecar(home: string, options: SidecarOptions): Promise<Sidecar> {
  return startSidecar({ ...options, env: { OUTRIGGER_HOME: home, ...options.env } });
}

/** The usual two-sidecar setup: the test app behind sidecar `b`, and sidecar `a` (no app) calling it. */
export interface InvokePair {
  readonly app: TestApp;
  readonly a: Sidecar;
  readonly b: Sidecar;
  /** Stops both sidecars and the app, and removes the shared registry home. */
  close(): Promise<void>;
}

/** Starts an {@link InvokePair}; `bArgs` are extra flags for `b`. */
export async function startInvokePair(label: string, bArgs: readonly string[] = []): Promise<InvokePair> {
  const home = await makeTempDir(label);
  const app = await startTestApp();
  const b = await startAppSidecar(home, { appId: 'b', appPort: app.port, args: bArgs });
  const a = await startAppSidecar(home, { appId: 'a' });
  return {
    app,
    a,
    b,
    async close() {
      await a.stop();
      await b.stop();
      await app.close();
      await removeTempDir(home);
    },
  };
}

/** Checks the JSON description the test app answers with (the catch-all route). */
export function assertDescribed(
  body: Buffer,
  expected: { method: string; url: string; body: string; headers?: Record<string, string> },
): void {
  const got = JSON.parse(body.toString()) as {
    method: string;
    url: string;
    body: string;
    headers: Record<string, string>;
  };
  assert.equal(got.method, expected.method);
  assert.equal(got.url, expected.url);
  assert.equal(got.body, expected.body);
  for (const [k, v] of Object.entries(expected.headers ?? {})) assert.equal(got.headers[k], v, k);
}
