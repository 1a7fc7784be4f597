/**
 * The internal API port against h2spec (github.com/summerwind/h2spec), the HTTP/2 conformance
 * tester: every case of RFC 9113 and RFC 7541 it has (strict ones included) passes on a real
 * `outriggerd`, and after the run, whose cases break the protocol on purpose in every way h2spec
 * knows, the same process still serves gRPC on that port.
 *
 * Plaintext only: over mTLS the internal port demands a client certificate chaining to the trust
 * bundle, and h2spec cannot present one (its TLS flags are `-t` and `-k` only), so its handshake is
 * refused before any HTTP/2 is spoken. The HTTP/2 layer is the same code on both.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { H2Connection } from '../../../sidecar/api/internal/h2/connection.js';
import type { H2Stream, HeaderMap } from '../../../sidecar/api/internal/h2/stream.js';
import { CALL_LOCAL_PATH } from '../../../sidecar/api/internal/service-definition.js';
import { ensureH2spec, type H2specRun, runH2spec } from '../../env/h2spec.js';
import { makeTempDir, removeTempDir } from '../../env/process.js';
import { type Sidecar, startSidecar } from '../harness.js';

/**
 * h2spec's `http2/4.2/3` sends five fields of `--max-header-length` octets in one HEADERS frame and
 * expects FRAME_SIZE_ERROR, assuming the server kept the default SETTINGS_MAX_FRAME_SIZE (16 KiB).
 * We advertise 256 KiB, and a frame within the advertised size is legal (RFC 9113 §4.2), so with
 * the default length (4,000: a 20 KB frame) the case would fail on a correct answer. At 60,000 the
 * frame (300 KB) exceeds what we advertise and the case checks what the RFC requires. The other
 * cases using the length send one such field (60 KB), within every limit we advertise.
 */
const MAX_HEADER_LENGTH = '60000';

/** Fewest cases h2spec 2.2.1 runs with `-S` (a smaller count means cases went missing). */
const MIN_CASES = 146;

let sidecar: Sidecar | undefined;
let h2spec: string;
let workDir: string;
let run: H2specRun;

before(async () => {
  h2spec = await ensureH2spec((m) => process.stderr.write(`${m}\n`));
  workDir = await makeTempDir('h2spec');
  sidecar = await startSidecar({ appId: 'h2spec-target' });
});

after(async () => {
  await sidecar?.stop();
  if (workDir !== undefined) await removeTempDir(workDir);
});

/** One gRPC call to CallLocal without a request message, on a fresh connection. */
async function callLocalWithoutMessage(port: number): Promise<HeaderMap[]> {
  const conn = new H2Connection(net.connect({ port, host: '127.0.0.1', noDelay: true }), { role: 'client' });
  try {
    const stream: H2Stream = conn.request([
      [':method', 'POST'],
      [':scheme', 'http'],
      [':path', CALL_LOCAL_PATH],
      [':authority', `127.0.0.1:${port}`],
      ['content-type', 'application/grpc'],
      ['te', 'trailers'],
    ]);
    const heads: HeaderMap[] = [];
    const closed = new Promise<Error | undefined>((resolve) => {
      stream.onClose = resolve;
    });
    stream.onHeaders = (h) => heads.push(h);
    stream.end();
    const err = await closed;
    assert.equal(err, undefined, `the call failed at the HTTP/2 level: ${err?.message}`);
    return heads;
  } finally {
    conn.destroy();
  }
}

describe('internal API: HTTP/2 conformance (h2spec)', () => {
  it('passes every h2spec case, strict ones included', async () => {
    const target = sidecar as Sidecar;
    run = await runH2spec(h2spec, {
      host: '127.0.0.1',
      port: target.internalPort,
      args: ['-S', '--max-header-length', MAX_HEADER_LENGTH, '-o', '5'],
      reportPath: join(workDir, 'h2spec.xml'),
    });
    const failed = run.cases.filter((c) => c.outcome === 'failed');
    const skipped = run.cases.filter((c) => c.outcome === 'skipped');
    const summary = run.output.trim().split('\n').at(-1) ?? '';
    assert.ok(
      run.cases.length >= MIN_CASES,
      `h2spec ran ${run.cases.length} cases, expected at least ${MIN_CASES}: ${summary}`,
    );
    assert.deepEqual(
      failed.map((c) => `${c.id} ${c.title}: ${c.detail.replace(/\n/g, ' | ')}`),
      [],
      `h2spec failures (${summary})`,
    );
    // A skipped case did not run: e.g. the flow-control cases skip when the response has no DATA.
    assert.deepEqual(
      skipped.map((c) => `${c.id} ${c.title}`),
      [],
    );
  });

  it('keeps serving gRPC on the same process after the run', async () => {
    const target = sidecar as Sidecar;
    assert.equal(target.proc.exitStatus, undefined, `outriggerd exited during h2spec:\n${target.logs()}`);
    const heads = await callLocalWithoutMessage(target.internalPort);
    assert.equal(heads.length, 1, JSON.stringify(heads));
    assert.equal(heads[0]?.[':status'], '200');
    assert.equal(heads[0]?.['grpc-status'], '3', JSON.stringify(heads[0])); // INVALID_ARGUMENT
    assert.doesNotMatch(target.logs(), /uncaught|unhandled/i);
  });
});
