/**
 * Processes for the invocation benchmark: the target app and the raw two-hop proxy floor, each a
 * small node:http child process (keep-alive, no TLS, no policies), and /proc readings (CPU ticks,
 * RSS) of any child by PID.
 */
import { readFile } from 'node:fs/promises';
import { freePort, ManagedProcess, waitForPort } from '../test/env/process.js';

/** The app: reads the body, answers 200 with a 1 KB body. */
const APP_SOURCE = `
const http = require('node:http');
const body = Buffer.alloc(1024, 97);
http.createServer({ keepAliveTimeout: 60000 }, (req, res) => {
  req.on('data', () => {});
  req.on('end', () => { res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length }); res.end(body); });
}).listen(Number(process.argv[1]), '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
`;

/** One proxy hop: forwards method, path, headers and body to the next port and streams the answer back. */
const PROXY_SOURCE = `
const http = require('node:http');
const next = Number(process.argv[2]);
const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity });
http.createServer({ keepAliveTimeout: 60000 }, (req, res) => {
  const out = http.request({ host: '127.0.0.1', port: next, method: req.method, path: req.url, headers: req.headers, agent }, (r) => {
    res.writeHead(r.statusCode, r.headers);
    r.pipe(res);
  });
  out.on('error', () => { res.statusCode = 502; res.end(); });
  req.pipe(out);
}).listen(Number(process.argv[1]), '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
`;

/** A started helper process. */
export interface HelperProcess {
  readonly port: number;
  readonly proc: ManagedProcess;
}

/** Starts a `node -e` helper on a free port. */
export async function startHelper(
  name: string,
  source: string,
  args: readonly string[],
  logFile: string,
): Promise<HelperProcess> {
  const port = await freePort();
  const proc = await ManagedProcess.start({
    name,
    command: process.execPath,
    args: ['-e', source, String(port), ...args],
    logFile,
    env: process.env,
  });
  await waitForPort('127.0.0.1', port, 10_000, { process: proc });
  return { port, proc };
}

/** The benchmark app. */
export function startBenchApp(logFile: string): Promise<HelperProcess> {
  return startHelper('bench-app', APP_SOURCE, [], logFile);
}

/** One raw proxy hop in front of `nextPort`. */
export function startProxyHop(nextPort: number, logFile: string): Promise<HelperProcess> {
  return startHelper('bench-proxy', PROXY_SOURCE, [String(nextPort)], logFile);
}

/** utime + stime of a process, in clock ticks (USER_HZ = 100 on Linux). */
export async function cpuTicks(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  // Fields after the ")" of the command name: state is field 3, utime 14, stime 15.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(rest[11]) + Number(rest[12]);
}

/** VmRSS in MiB. */
export async function rssMiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const m = /^VmRSS:\s+(\d+) kB/m.exec(status);
  return m === null ? Number.NaN : Number(m[1]) / 1024;
}
