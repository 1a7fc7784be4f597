import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer as createHttpServer, type IncomingMessage, type Server } from 'node:http';
import {
  type AddressInfo,
  createServer as createNetServer,
  type Server as NetServer,
  type Socket,
} from 'node:net';
import { Readable } from 'node:stream';
import { after, describe, it } from 'node:test';
import { Cancellation } from '../../../sidecar/channel/cancellation.js';
import { Http1Error, Http1Pool, type Http1Response } from '../../../sidecar/channel/http1-client.js';

async function readAll(res: Http1Response): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of res.body) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

function listen<T extends Server | NetServer>(server: T): Promise<number> {
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)),
  );
}

/** A raw TCP server answering every request head with `answer(head)` (bytes as given). */
async function rawServer(
  answer: (head: string, socket: Socket) => void,
): Promise<{ port: number; server: NetServer; connections: () => number }> {
  let connections = 0;
  const server = createNetServer((socket) => {
    connections++;
    let buf = '';
    socket.on('data', (c) => {
      buf += c.toString('latin1');
      const end = buf.indexOf('\r\n\r\n');
      if (end >= 0) {
        const head = buf.slice(0, end);
        buf = buf.slice(end + 4);
        answer(head, socket);
      }
    });
    socket.on('error', () => {});
  });
  const port = await listen(server);
  return { port, server, connections: () => connections };
}

describe('Http1Pool against node:http', async () => {
  const seen: { method: string; url: string; headers: IncomingMessage['headers']; body: Buffer }[] = [];
  let connections = 0;
  const server = createHttpServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      if (req.url === '/chunked') {
        res.setHeader('set-cookie', ['a=1', 'b=2']);
        res.write('hello ');
        setImmediate(() => res.end('world'));
      } else if (req.url === '/empty') {
        res.writeHead(204).end();
      } else if (req.url === '/not-modified') {
        res.writeHead(304, { etag: '"x"' }).end();
      } else if (req.url === '/hash') {
        res.end(createHash('sha256').update(body).digest('hex'));
      } else {
        res.setHeader('x-multi', ['one', 'two']);
        res.end(`echo:${body.toString()}`);
      }
    });
  });
  server.on('connection', () => connections++);
  const port = await listen(server);
  const pool = new Http1Pool('127.0.0.1', port);
  after(() => {
    pool.close();
    server.closeAllConnections();
    server.close();
  });

  it('sends the method, path, headers and body, and reuses one connection', async () => {
    const get = await pool.request({
      method: 'GET',
      path: '/a?b=1',
      headers: { 'x-one': 'v', 'x-two': ['p', 'q'] },
      body: undefined,
    });
    assert.equal(get.status, 200);
    assert.equal((await readAll(get)).toString(), 'echo:');
    assert.equal(get.headers['x-multi'], 'one, two');
    const post = await pool.request({
      method: 'POST',
      path: '/p',
      headers: { 'content-type': 'text/plain' },
      body: Buffer.from('payload'),
    });
    assert.equal((await readAll(post)).toString(), 'echo:payload');
    const [g, p] = seen.slice(-2);
    assert.equal(g?.url, '/a?b=1');
    assert.equal(g?.headers.host, `127.0.0.1:${port}`);
    assert.equal(g?.headers['x-two'], 'p, q');
    assert.equal(g?.headers['content-length'], undefined, 'a GET without a body carries no Content-Length');
    assert.equal(p?.headers['content-length'], '7');
    for (let i = 0; i < 5; i++)
      await readAll(await pool.request({ method: 'GET', path: '/', headers: {}, body: undefined }));
    assert.equal(connections, 1, 'sequential requests share one keep-alive connection');
  });

  it('reads chunked bodies, HEAD, 204 and 304 answers, and keeps set-cookie as a list', async () => {
    const chunked = await pool.request({ method: 'GET', path: '/chunked', headers: {}, body: undefined });
    assert.equal((await readAll(chunked)).toString(), 'hello world');
    assert.deepEqual(chunked.headers['set-cookie'], ['a=1', 'b=2']);
    const head = await pool.request({ method: 'HEAD', path: '/', headers: {}, body: undefined });
    assert.equal(head.status, 200);
    assert.equal((await readAll(head)).length, 0);
    const empty = await pool.request({ method: 'DELETE', path: '/empty', headers: {}, body: undefined });
    assert.equal(empty.status, 204);
    const notModified = await pool.request({
      method: 'GET',
      path: '/not-modified',
      headers: {},
      body: undefined,
    });
    assert.equal(notModified.status, 304);
    assert.equal(notModified.headers.etag, '"x"');
    assert.equal((await readAll(notModified)).length, 0);
    assert.equal(connections, 1);
  });

  it('streams a request body of unknown length as chunks', async () => {
    const part = Buffer.alloc(256 * 1024, 7);
    const res = await pool.request({
      method: 'PUT',
      path: '/hash',
      headers: {},
      body: Readable.from([part, part, part, part]),
    });
    const expected = createHash('sha256')
      .update(Buffer.concat([part, part, part, part]))
      .digest('hex');
    assert.equal((await readAll(res)).toString(), expected);
    assert.equal(seen.at(-1)?.headers['transfer-encoding'], 'chunked');
  });

  it('refuses header values with line breaks before sending anything', async () => {
    const before = seen.length;
    await assert.rejects(
      pool.request({ method: 'GET', path: '/', headers: { 'x-bad': 'a\r\nx-injected: 1' }, body: undefined }),
      (err: Error & { code?: string }) => err instanceof TypeError && err.code === 'ERR_INVALID_CHAR',
    );
    await assert.rejects(
      pool.request({ method: 'GET', path: '/', headers: { 'bad name': 'v' }, body: undefined }),
      (err: Error & { code?: string }) => err.code === 'ERR_INVALID_HTTP_TOKEN',
    );
    assert.equal(seen.length, before);
  });
});

describe('Http1Pool against raw servers', () => {
  const servers: NetServer[] = [];
  after(() => {
    for (const s of servers) s.close();
  });

  it('skips interim 1xx answers', async () => {
    const raw = await rawServer((_h, s) =>
      s.write(
        'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nlink: </a>\r\n\r\nHTTP/1.1 201 Created\r\ncontent-length: 2\r\n\r\nok',
      ),
    );
    servers.push(raw.server);
    const pool = new Http1Pool('127.0.0.1', raw.port);
    const res = await pool.request({ method: 'POST', path: '/', headers: {}, body: Buffer.from('x') });
    assert.equal(res.status, 201);
    assert.equal((await readAll(res)).toString(), 'ok');
    pool.close();
  });

  it('reads a body delimited by the close of the connection, and honours Connection: close', async () => {
    const raw = await rawServer((head, s) => {
      if (head.startsWith('GET /old')) s.end('HTTP/1.0 200 OK\r\n\r\nuntil the end');
      else s.write('HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 3\r\n\r\nbye');
    });
    servers.push(raw.server);
    const pool = new Http1Pool('127.0.0.1', raw.port);
    assert.equal(
      (
        await readAll(await pool.request({ method: 'GET', path: '/old', headers: {}, body: undefined }))
      ).toString(),
      'until the end',
    );
    assert.equal(
      (
        await readAll(await pool.request({ method: 'GET', path: '/c', headers: {}, body: undefined }))
      ).toString(),
      'bye',
    );
    assert.equal(
      (
        await readAll(await pool.request({ method: 'GET', path: '/c', headers: {}, body: undefined }))
      ).toString(),
      'bye',
    );
    assert.equal(
      raw.connections(),
      3,
      'no connection is reused after a close-delimited body or Connection: close',
    );
    pool.close();
  });

  it('rejects malformed answers with a clear error and keeps working', async () => {
    const raw = await rawServer((head, s) => {
      if (head.startsWith('GET /garbage')) s.write('SPDY/3 nonsense\r\n\r\n');
      else if (head.startsWith('GET /length')) s.write('HTTP/1.1 200 OK\r\ncontent-length: -5\r\n\r\n');
      else if (head.startsWith('GET /cut')) s.end('HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nonly part');
      else if (head.startsWith('GET /chunk'))
        s.write('HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n');
      else s.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok');
    });
    servers.push(raw.server);
    const pool = new Http1Pool('127.0.0.1', raw.port);
    const get = (path: string) => pool.request({ method: 'GET', path, headers: {}, body: undefined });
    await assert.rejects(
      get('/garbage'),
      (e: Error) => e instanceof Http1Error && e.code === 'HPE_INVALID_CONSTANT',
    );
    await assert.rejects(
      get('/length'),
      (e: Error) => e instanceof Http1Error && e.code === 'HPE_INVALID_CONTENT_LENGTH',
    );
    const cut = await get('/cut');
    await assert.rejects(readAll(cut), (e: Error & { code?: string }) => e.code === 'ECONNRESET');
    const chunk = await get('/chunk');
    await assert.rejects(
      readAll(chunk),
      (e: Error & { code?: string }) => e.code === 'HPE_INVALID_CHUNK_SIZE',
    );
    assert.equal((await readAll(await get('/fine'))).toString(), 'ok');
    pool.close();
  });

  it('reads response heads as node:http does: names in any case, trimmed values, repeats joined', async () => {
    const heads: Record<string, string> = {
      '/a':
        'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-A:  a \r\nx-a: b\r\nDate: D1\r\nKeep-Alive: timeout=9\r\n' +
        'SET-COOKIE: s=1\r\nset-cookie: t=2\r\nCONTENT-TYPE: ignored\r\nFoo:\xa0nbsp\xa0\r\n X-Sp :v\r\nContent-Length: 2\r\n\r\nok',
      '/b': 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nDate: D2\r\nContent-Length: 2\r\n\r\nok',
      '/c': 'HTTP/1.1 201\r\ncontent-length: 0\r\ntrailing:\r\r\n\r\n',
      '/lf': 'HTTP/1.1 200 OK\nX: y\r\ncontent-length: 0\r\n\r\n',
      '/long': 'HTTP/1.1 2000\r\ncontent-length: 0\r\n\r\n',
      '/nocolon': 'HTTP/1.1 200 OK\r\nbroken\r\ncontent-length: 0\r\n\r\n',
      '/noname': 'HTTP/1.1 200 OK\r\n: v\r\ncontent-length: 0\r\n\r\n',
    };
    const raw = await rawServer((head, s) => {
      const path = head.split(' ')[1] ?? '';
      s.write(Buffer.from(heads[path] ?? 'HTTP/1.1 404 x\r\ncontent-length: 0\r\n\r\n', 'latin1'));
    });
    servers.push(raw.server);
    const pool = new Http1Pool('127.0.0.1', raw.port);
    const get = (path: string) => pool.request({ method: 'GET', path, headers: {}, body: undefined });
    for (let i = 0; i < 2; i++) {
      const a = await get('/a');
      assert.equal(a.status, 200);
      assert.deepEqual(a.headers, {
        'content-type': 'text/plain',
        'x-a': 'a, b',
        date: 'D1',
        'keep-alive': 'timeout=9',
        'set-cookie': ['s=1', 't=2'],
        foo: 'nbsp',
        'x-sp': 'v',
        'content-length': '2',
      });
      assert.equal((await readAll(a)).toString(), 'ok');
      const b = await get('/b');
      assert.deepEqual(b.headers, { 'content-type': 'text/plain', date: 'D2', 'content-length': '2' });
      await readAll(b);
    }
    const c = await get('/c');
    assert.equal(c.status, 201);
    assert.deepEqual(c.headers, { 'content-length': '0', trailing: '' });
    await readAll(c);
    for (const path of ['/lf', '/long'])
      await assert.rejects(
        get(path),
        (e: Error) => e instanceof Http1Error && e.code === 'HPE_INVALID_CONSTANT',
      );
    for (const path of ['/nocolon', '/noname'])
      await assert.rejects(
        get(path),
        (e: Error) => e instanceof Http1Error && e.code === 'HPE_INVALID_HEADER_TOKEN',
      );
    pool.close();
  });

  it('cancels a pending call, and reports a refused connection', async () => {
    const raw = await rawServer(() => {}); // never answers
    servers.push(raw.server);
    const pool = new Http1Pool('127.0.0.1', raw.port);
    const cancel = new Cancellation();
    const pending = pool.request({
      method: 'GET',
      path: '/slow',
      headers: {},
      body: undefined,
      signal: cancel,
    });
    const reason = new Error('cancelled by the test');
    setImmediate(() => cancel.cancel(reason));
    await assert.rejects(
      pending,
      (e: Error & { code?: string }) =>
        e.name === 'AbortError' && e.code === 'ABORT_ERR' && e.cause === reason,
    );
    pool.close();
    const closedPort = raw.port;
    await new Promise<void>((resolve) => raw.server.close(() => resolve()));
    const refused = new Http1Pool('127.0.0.1', closedPort);
    await assert.rejects(
      refused.request({ method: 'GET', path: '/', headers: {}, body: undefined }),
      (e: Error & { code?: string }) => e.code === 'ECONNREFUSED',
    );
  });
});

describe('Http1Pool and connections the app closes while idle', () => {
  const servers: NetServer[] = [];
  after(() => {
    for (const s of servers) s.close();
  });

  /** Answers the first request on each connection; a later one on the same connection is reset unanswered. */
  async function closesAfterFirst() {
    const answered = new WeakSet<Socket>();
    const raw = await rawServer((_head, s) => {
      if (answered.has(s)) {
        s.resetAndDestroy();
        return;
      }
      answered.add(s);
      s.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok');
    });
    servers.push(raw.server);
    return raw;
  }

  it('sends a replayable request again on a new connection when a reused one fails unanswered', async () => {
    const raw = await closesAfterFirst();
    const pool = new Http1Pool('127.0.0.1', raw.port);
    const send = (method: string, headers: Record<string, string> = {}, body?: Buffer) =>
      pool.request({ method, path: '/', headers, body });
    assert.equal((await readAll(await send('GET'))).toString(), 'ok');
    // Reused, reset, sent again on connection 2.
    assert.equal((await readAll(await send('GET'))).toString(), 'ok');
    assert.equal(raw.connections(), 2);
    const keyed = await send('POST', { 'Idempotency-Key': 'k1' }, Buffer.from('x'));
    assert.equal((await readAll(keyed)).toString(), 'ok');
    assert.equal(raw.connections(), 3);
    // A POST without a key may have been acted on: it fails instead of being sent twice.
    await assert.rejects(
      send('POST', {}, Buffer.from('x')),
      (e: Error & { code?: string }) => e.code === 'ECONNRESET',
    );
    assert.equal(raw.connections(), 3);
    pool.close();
  });

  it("does not reuse a connection past the app's Keep-Alive timeout less a second", async () => {
    let hint = 'timeout=1';
    const raw = await rawServer((_head, s) =>
      s.write(`HTTP/1.1 200 OK\r\nkeep-alive: ${hint}\r\ncontent-length: 2\r\n\r\nok`),
    );
    servers.push(raw.server);
    const pool = new Http1Pool('127.0.0.1', raw.port);
    const get = async () =>
      (
        await readAll(await pool.request({ method: 'GET', path: '/', headers: {}, body: undefined }))
      ).toString();
    // timeout=1 leaves nothing: every request gets its own connection.
    assert.equal(await get(), 'ok');
    assert.equal(await get(), 'ok');
    assert.equal(raw.connections(), 2);
    // timeout=2: reused at once, not after a second of idleness.
    hint = 'timeout=2, max=100';
    assert.equal(await get(), 'ok');
    assert.equal(await get(), 'ok');
    assert.equal(raw.connections(), 3);
    await new Promise((r) => setTimeout(r, 1_100));
    assert.equal(await get(), 'ok');
    assert.equal(raw.connections(), 4);
    pool.close();
  });
});
