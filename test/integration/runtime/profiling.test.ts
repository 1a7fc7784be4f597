import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { ensureGoToolchain } from '../../env/go-toolchain.js';
import { testbinRoot } from '../../env/kube-binaries.js';
import { freePort, makeTempDir, removeTempDir } from '../../env/process.js';
import { type Sidecar, startSidecar } from '../harness.js';

/**
 * `--enable-profiling`: the sidecar's CPU and heap profiles on `--profile-port`, read by the real
 * `go tool pprof` (from the Go toolchain the tests provision), as an operator reads daprd's.
 */

const run = promisify(execFile);
let go = '';
let dir = '';
let profilePort = 0;
let sidecar: Sidecar;

before(async () => {
  go = await ensureGoToolchain(testbinRoot(), (line) => process.stderr.write(`${line}\n`));
  dir = await makeTempDir('pprof');
  profilePort = await freePort();
  sidecar = await startSidecar({
    appId: 'profiled',
    args: ['--enable-profiling', '--profile-port', String(profilePort)],
  });
});

after(async () => {
  await sidecar?.stop();
  await removeTempDir(dir);
});

/** Fetches a profile into a file and returns `go tool pprof -top`'s output for it. */
async function pprofTop(path: string, name: string): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${profilePort}${path}`);
  assert.equal(res.status, 200, await res.clone().text());
  assert.equal(res.headers.get('content-type'), 'application/octet-stream');
  const file = join(dir, name);
  await writeFile(file, Buffer.from(await res.arrayBuffer()));
  const { stdout } = await run(go, ['tool', 'pprof', '-top', file], {
    env: { ...process.env, HOME: dir, PPROF_TMPDIR: dir },
  });
  return stdout;
}

describe('--enable-profiling (pprof)', () => {
  it('serves a CPU profile that go tool pprof reads, with the sidecar’s functions in it', async () => {
    // Keep the sidecar busy while it profiles.
    const load = (async () => {
      const until = Date.now() + 1500;
      while (Date.now() < until) await fetch(`${sidecar.url}/v1.0/metadata`);
    })();
    const top = await pprofTop('/debug/pprof/profile?seconds=2', 'cpu.pb.gz');
    await load;
    assert.match(top, /Type: cpu/);
    assert.match(top, /Duration: [\d.]+s/);
    assert.match(top, /flat%/);
    assert.ok(/\.js\b|\(garbage collector\)|\(program\)/.test(top) || /\w+ +\d/.test(top), top);
  });

  it('refuses a second CPU profile while one runs, as Go does', async () => {
    const first = fetch(`http://127.0.0.1:${profilePort}/debug/pprof/profile?seconds=1`);
    await new Promise((r) => setTimeout(r, 200));
    const second = await fetch(`http://127.0.0.1:${profilePort}/debug/pprof/profile?seconds=1`);
    assert.equal(second.status, 500);
    assert.match(await second.text(), /cpu profiling already in use/);
    assert.equal((await first).status, 200);
  });

  it('serves a heap profile that go tool pprof reads', async () => {
    const top = await pprofTop('/debug/pprof/heap', 'heap.pb.gz');
    assert.match(top, /Type: inuse_space/);
  });

  it('answers the index, the command line, and 404 for Go-only profiles', async () => {
    const index = await fetch(`http://127.0.0.1:${profilePort}/debug/pprof/`);
    assert.equal(index.status, 200);
    assert.match(await index.text(), /profile/);
    const cmdline = await (await fetch(`http://127.0.0.1:${profilePort}/debug/pprof/cmdline`)).text();
    assert.ok(cmdline.split('\u0000').includes('--enable-profiling'));
    const goroutine = await fetch(`http://127.0.0.1:${profilePort}/debug/pprof/goroutine`);
    assert.equal(goroutine.status, 404);
    assert.equal(await goroutine.text(), 'Unknown profile\n');
  });
});
