import assert from 'node:assert/strict';
import { request } from 'node:http';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { type Sidecar, startSidecar } from '../harness.js';

/**
 * `--read-buffer-size` is daprd's limit on a request's headers (Go's `MaxHeaderBytes`, default 4Ki,
 * which Go's server exceeds by up to 4096 bytes before answering 431). Checked on the HTTP API and
 * on the public port, with the default and with a larger size for big tokens.
 */

let small: Sidecar;
let large: Sidecar;

before(async () => {
  small = await startSidecar({ appId: 'rbs-default', publicPort: true });
  large = await startSidecar({ appId: 'rbs-large', args: ['--read-buffer-size', '64Ki'] });
});

after(async () => {
  await small?.stop();
  await large?.stop();
});

/** GETs `path` with one header of `size` bytes; resolves the status. */
function getWithHeader(port: number, path: string, size: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path, headers: { 'x-token': 'a'.repeat(size) } },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** Writes `raw` on a new connection and resolves everything read until the server closes it. */
function rawExchange(port: number, raw: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port }, () => {
      socket.write(raw);
    });
    let got = '';
    socket.on('data', (d: Buffer) => {
      got += d.toString();
    });
    socket.once('close', () => resolve(got));
    socket.once('error', reject);
  });
}

describe('--read-buffer-size', () => {
  it('by default takes headers up to 4 KiB plus slack and answers 431 above, as daprd', async () => {
    assert.equal(await getWithHeader(small.httpPort, '/v1.0/healthz', 6000), 204);
    assert.equal(await getWithHeader(small.httpPort, '/v1.0/healthz', 9000), 431);
    assert.equal(await getWithHeader(small.publicPort as number, '/v1.0/healthz', 9000), 431);
    // The server keeps serving after refusing.
    assert.equal(await getWithHeader(small.httpPort, '/v1.0/healthz', 10), 204);
  });

  it('drops a connection whose headers take over 10 s without an answer, as daprd’s ReadHeaderTimeout', async () => {
    const started = Date.now();
    const answer = await rawExchange(small.httpPort, 'GET /v1.0/healthz HTTP/1.1\r\nHost: x\r\n');
    const waited = Date.now() - started;
    assert.ok(waited >= 9_000 && waited < 20_000, `closed after ${waited} ms`);
    assert.equal(answer, '');
  });

  it('answers an unreadable request as Go’s server does, and closes the connection', async () => {
    const bad = await rawExchange(small.httpPort, 'NOT AN HTTP REQUEST\r\n\r\n');
    assert.match(bad, /^HTTP\/1\.1 400 Bad Request\r\n/);
    assert.match(bad, /\r\nContent-Type: text\/plain; charset=utf-8\r\n/);
    assert.match(bad, /\r\n\r\n400 Bad Request$/);
    const big = await rawExchange(
      small.httpPort,
      `GET /v1.0/healthz HTTP/1.1\r\nHost: x\r\nX-Token: ${'a'.repeat(9000)}\r\n\r\n`,
    );
    assert.match(big, /^HTTP\/1\.1 431 Request Header Fields Too Large\r\n/);
    assert.match(big, /\r\n\r\n431 Request Header Fields Too Large$/);
    assert.equal(await getWithHeader(small.httpPort, '/v1.0/healthz', 10), 204);
  });

  it('takes larger headers when raised, past Node’s own 16 KiB default', async () => {
    assert.equal(await getWithHeader(large.httpPort, '/v1.0/healthz', 40_000), 204);
    assert.equal(await getWithHeader(large.httpPort, '/v1.0/healthz', 80_000), 431);
  });
});
