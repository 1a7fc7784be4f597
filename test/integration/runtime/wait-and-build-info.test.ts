import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { waitUntilOutboundReady } from '../../../sidecar/runtime/wait-command.js';
import { SIDECAR_MAIN, type Sidecar, startSidecar } from '../harness.js';

/**
 * daprd's one-shot modes: `--wait` polls another sidecar's `/v1.0/healthz/outbound` until it
 * answers 204 (then exits 0, as after its 60 s timeout), and `--build-info` prints the version.
 */

const run = promisify(execFile);
let sidecar: Sidecar;

before(async () => {
  sidecar = await startSidecar({ appId: 'waited-for' });
});

after(async () => {
  await sidecar?.stop();
});

describe('outriggerd --wait and --build-info', () => {
  it('--wait exits 0 once the sidecar on --dapr-http-port is outbound ready', async () => {
    const { stderr } = await run(process.execPath, [
      SIDECAR_MAIN,
      '--wait',
      '--dapr-http-port',
      String(sidecar.httpPort),
    ]);
    assert.match(stderr, /Waiting for Dapr to be outbound ready \(timeout: 60 seconds\)/);
    assert.match(stderr, /Dapr is outbound ready!/);
  });

  it('keeps polling through other answers and reports the timeout with the last error', async () => {
    let calls = 0;
    const server = createServer((_req, res) => {
      calls++;
      res.statusCode = calls < 3 ? 500 : 204;
      res.end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    const lines: string[] = [];
    try {
      assert.equal(await waitUntilOutboundReady(port, (l) => lines.push(l), 10_000), true);
      assert.equal(calls, 3);
      assert.ok(lines.includes('Dapr outbound NOT ready yet: HTTP status code 500'), lines.join('\n'));
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
    const gone: string[] = [];
    assert.equal(await waitUntilOutboundReady(port, (l) => gone.push(l), 300), false);
    assert.match(gone.at(-1) ?? '', /^timeout waiting for Dapr to become outbound ready\. Last error: .+/);
  });

  it('--build-info prints the version in daprd’s shape, with no app id needed', async () => {
    const { stdout } = await run(process.execPath, [SIDECAR_MAIN, '--build-info']);
    assert.match(stdout, /^Version: \d+\.\d+\.\d+\nGit Commit: \nGit Version: \n$/);
  });
});
