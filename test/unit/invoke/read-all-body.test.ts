import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { readAll } from '../../../sidecar/invoke/invoker.js';

/** Replayable bodies for retries: whatever way the request body arrives, readAll returns all of it. */
describe('readAll (request bodies kept for retries)', () => {
  const server = createServer((req, res) => {
    const declared = req.headers['content-length'];
    readAll(req, declared === undefined ? undefined : Number(declared)).then(
      (body) => {
        const answer = `${body.length} ${createHash('sha256').update(body).digest('hex')}`;
        // The request still reaches its end, as a consumed body does.
        if (req.readableEnded) res.end(answer);
        else req.once('end', () => res.end(answer));
      },
      (err: Error) => res.writeHead(500).end(err.message),
    );
  });
  let port = 0;
  before(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  after(() => server.close());

  const send = (chunks: readonly Buffer[], chunked: boolean): Promise<string> =>
    new Promise((resolve, reject) => {
      const total = chunks.reduce((n, c) => n + c.length, 0);
      const req = request({
        port,
        host: '127.0.0.1',
        method: 'POST',
        agent: false,
        headers: chunked ? {} : { 'content-length': total },
      });
      req.on('response', (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (s: string) => {
          text += s;
        });
        res.on('end', () => resolve(text));
      });
      req.on('error', reject);
      let i = 0;
      const next = (): void => {
        if (i === chunks.length) {
          req.end();
          return;
        }
        req.write(chunks[i++]);
        // Later chunks arrive in later reads, after the request was handed over.
        setTimeout(next, 5);
      };
      next();
    });

  const digest = (chunks: readonly Buffer[]): string => {
    const all = Buffer.concat(chunks);
    return `${all.length} ${createHash('sha256').update(all).digest('hex')}`;
  };

  it('takes a small body that came with the head', async () => {
    const chunks = [Buffer.alloc(1024, 'x')];
    assert.equal(await send(chunks, false), digest(chunks));
  });

  it('collects a body that arrives in several reads, sized or chunked', async () => {
    const chunks = [Buffer.alloc(100, 'a'), Buffer.alloc(70_000, 'b'), Buffer.alloc(3, 'c')];
    assert.equal(await send(chunks, false), digest(chunks));
    assert.equal(await send(chunks, true), digest(chunks));
  });

  it('collects a large body', async () => {
    const chunks = [Buffer.alloc(3 * 1024 * 1024, 'z')];
    assert.equal(await send(chunks, false), digest(chunks));
  });
});
