import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type Sidecar, startSidecar } from '../harness.js';

/**
 * CORS on the HTTP API, as daprd's rs/cors middleware: every origin by default (`*`), the listed
 * ones (with `*` wildcards) under `--allowed-origins`. Preflights are answered before API-token
 * checks and never reach a route; the invoke fast path and express routes alike get the header.
 */

let open: Sidecar;
let listed: Sidecar;

before(async () => {
  open = await startSidecar({ appId: 'cors-open', env: { DAPR_API_TOKEN: 'secret' } });
  listed = await startSidecar({
    appId: 'cors-listed',
    args: ['--allowed-origins', 'https://app.example.com,https://*.corp.example'],
  });
});

after(async () => {
  await open?.stop();
  await listed?.stop();
});

function preflight(s: Sidecar, path: string, origin: string, method = 'POST'): Promise<Response> {
  return fetch(`${s.url}${path}`, {
    method: 'OPTIONS',
    headers: {
      origin,
      'access-control-request-method': method,
      'access-control-request-headers': 'content-type,dapr-api-token',
    },
  });
}

describe('CORS (--allowed-origins)', () => {
  it('answers preflights for any origin by default, before the API token is checked', async () => {
    const res = await preflight(open, '/v1.0/state/statestore', 'https://ui.example.org');
    assert.equal(res.status, 204);
    assert.equal(res.headers.get('access-control-allow-origin'), '*');
    assert.equal(res.headers.get('access-control-allow-methods'), 'POST');
    assert.equal(res.headers.get('access-control-allow-headers'), 'content-type,dapr-api-token');
    assert.equal(res.headers.get('access-control-allow-credentials'), null);
    assert.match(res.headers.get('vary') ?? '', /Origin/);
  });

  it('adds Access-Control-Allow-Origin to API answers, errors included', async () => {
    const ok = await fetch(`${open.url}/v1.0/healthz`, { headers: { origin: 'https://ui.example.org' } });
    assert.equal(ok.status, 204);
    assert.equal(ok.headers.get('access-control-allow-origin'), '*');
    const denied = await fetch(`${open.url}/v1.0/metadata`, {
      headers: { origin: 'https://ui.example.org' },
    });
    assert.equal(denied.status, 401);
    assert.equal(denied.headers.get('access-control-allow-origin'), '*');
    const invoke = await fetch(`${open.url}/v1.0/invoke/nobody/method/x`, {
      headers: { origin: 'https://ui.example.org', 'dapr-api-token': 'secret' },
    });
    assert.equal(invoke.headers.get('access-control-allow-origin'), '*');
    const plain = await fetch(`${open.url}/v1.0/healthz`);
    assert.equal(plain.headers.get('access-control-allow-origin'), null, 'no Origin, no CORS headers');
  });

  it('lets only the listed origins in, wildcards included, and echoes the origin', async () => {
    const exact = await preflight(listed, '/v1.0/state/s', 'https://app.example.com', 'delete');
    assert.equal(exact.status, 204);
    assert.equal(exact.headers.get('access-control-allow-origin'), 'https://app.example.com');
    assert.equal(exact.headers.get('access-control-allow-methods'), 'DELETE');
    const wild = await fetch(`${listed.url}/v1.0/healthz`, {
      headers: { origin: 'https://team.corp.example' },
    });
    assert.equal(wild.headers.get('access-control-allow-origin'), 'https://team.corp.example');
    const other = await preflight(listed, '/v1.0/state/s', 'https://evil.example.net');
    assert.equal(other.status, 204);
    assert.equal(other.headers.get('access-control-allow-origin'), null);
    assert.equal(other.headers.get('access-control-allow-methods'), null);
    const otherGet = await fetch(`${listed.url}/v1.0/healthz`, {
      headers: { origin: 'https://evil.example.net' },
    });
    assert.equal(otherGet.status, 204, 'the request itself is served; the browser withholds the answer');
    assert.equal(otherGet.headers.get('access-control-allow-origin'), null);
  });

  it('refuses a preflight for a method outside the list, and passes plain OPTIONS calls to the routes', async () => {
    const res = await preflight(open, '/v1.0/state/s', 'https://ui.example.org', 'CONNECT');
    assert.equal(res.status, 204);
    assert.equal(res.headers.get('access-control-allow-origin'), null);
    // Without Access-Control-Request-Method an OPTIONS is an ordinary call (here: no such route).
    const plain = await fetch(`${listed.url}/v1.0/state/s`, { method: 'OPTIONS' });
    assert.notEqual(plain.status, 204);
  });
});
