/**
 * `--enable-profiling`: daprd serves Go's `net/http/pprof` on `--profile-port` (default 7777).
 * This server answers the same paths with the sidecar's own profiles, in pprof's format, so that
 * `go tool pprof http://<host>:7777/debug/pprof/profile?seconds=30` works as it does for daprd:
 * - `/debug/pprof/profile?seconds=N`: a CPU profile over N seconds (default 30), one at a time;
 * - `/debug/pprof/heap`: the live heap, sampled by V8 every 512 KiB allocated (Go's default rate);
 * - `/debug/pprof/cmdline`: the command line, arguments separated by NUL bytes;
 * - `/debug/pprof/`: an index of these.
 * Go's other profiles (goroutine, block, mutex, trace, ...) have no Node equivalent: 404, as Go
 * answers a profile name it does not know. Profiles come from an in-process inspector session;
 * nothing is sampled until profiling is enabled, and the CPU profiler only while a request runs.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Session } from 'node:inspector';
import type { Logger } from '../../components/component.js';
import { cpuProfileToPprof, heapProfileToPprof, type V8CpuProfile, type V8HeapProfile } from './pprof.js';

/** Go's default `runtime.MemProfileRate`: one sample per 512 KiB allocated. */
const HEAP_SAMPLING_BYTES = 512 * 1024;
/** Go's CPU profiling rate, 100 Hz. */
const CPU_SAMPLING_US = 10_000;
/** Go's default for `seconds`. */
const DEFAULT_SECONDS = 30;

/** The profiling HTTP server; `close` ends it and the inspector session. */
export interface ProfilingServer {
  readonly port: number;
  close(): Promise<void>;
}

function post<T>(session: Session, method: string, params?: object): Promise<T> {
  return new Promise((resolve, reject) =>
    session.post(method, params ?? {}, (err, result) => (err === null ? resolve(result as T) : reject(err))),
  );
}

/** Starts the profiling server on `port` (every interface when `host` is undefined). */
export async function startProfilingServer(
  port: number,
  host: string | undefined,
  logger: Logger,
): Promise<ProfilingServer> {
  const session = new Session();
  session.connect();
  await post(session, 'HeapProfiler.enable');
  await post(session, 'HeapProfiler.startSampling', { samplingInterval: HEAP_SAMPLING_BYTES });
  await post(session, 'Profiler.enable');
  await post(session, 'Profiler.setSamplingInterval', { interval: CPU_SAMPLING_US });
  let cpuBusy = false;

  const profile = (res: ServerResponse, name: string, body: Buffer): void => {
    res.writeHead(200, {
      'Content-Type': 'application/octet-stream',
      'Content-Disposition': `attachment; filename="${name}"`,
      'X-Content-Type-Options': 'nosniff',
    });
    res.end(body);
  };
  const text = (res: ServerResponse, status: number, body: string): void => {
    res.writeHead(status, {
      'Content-Type': 'text/plain; charset=utf-8',
      'X-Content-Type-Options': 'nosniff',
    });
    res.end(body);
  };

  const cpu = async (req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> => {
    const asked = Number.parseInt(url.searchParams.get('seconds') ?? '', 10);
    const seconds = Number.isFinite(asked) && asked > 0 ? asked : DEFAULT_SECONDS;
    if (cpuBusy) {
      text(res, 500, 'Could not enable CPU profiling: cpu profiling already in use\n');
      return;
    }
    cpuBusy = true;
    try {
      const started = Date.now();
      await post(session, 'Profiler.start');
      // A client that goes away ends the profile early, as Go's handler does on a done context.
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, seconds * 1000);
        req.socket.once('close', () => {
          clearTimeout(timer);
          resolve();
        });
      });
      const { profile: p } = await post<{ profile: V8CpuProfile }>(session, 'Profiler.stop');
      if (!res.destroyed) profile(res, 'profile', cpuProfileToPprof(p, started, CPU_SAMPLING_US));
    } finally {
      cpuBusy = false;
    }
  };

  const heap = async (res: ServerResponse): Promise<void> => {
    const { profile: p } = await post<{ profile: V8HeapProfile }>(session, 'HeapProfiler.getSamplingProfile');
    profile(res, 'profile', heapProfileToPprof(p, Date.now(), HEAP_SAMPLING_BYTES));
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname;
    if (path === '/debug/pprof/profile') return cpu(req, res, url);
    if (path === '/debug/pprof/heap') return heap(res);
    if (path === '/debug/pprof/cmdline') return text(res, 200, process.argv.join('\u0000'));
    if (path === '/debug/pprof/' || path === '/debug/pprof') {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
      res.end(
        '<html><head><title>/debug/pprof/</title></head><body>/debug/pprof/<br>' +
          '<a href="cmdline">cmdline</a><br><a href="heap">heap</a><br>' +
          '<a href="profile">profile</a> (CPU, ?seconds=30)</body></html>\n',
      );
      return;
    }
    if (path.startsWith('/debug/pprof/')) return text(res, 404, 'Unknown profile\n');
    text(res, 404, '404 page not found\n');
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: Error) => {
      logger.error('profiling request failed', { error: err.message });
      if (!res.headersSent) text(res, 500, `${err.message}\n`);
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port, ...(host === undefined ? {} : { host }) }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = (server.address() as { port: number }).port;
  logger.info(`Profiling server listening on port ${bound}`);
  return {
    port: bound,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      session.disconnect();
    },
  };
}
