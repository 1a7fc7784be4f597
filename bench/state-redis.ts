/**
 * State save/get through the sidecar (HTTP/1.1 keep-alive, `state.redis`) against the same work
 * done directly on the same Redis, in the same run: (a) the `state.redis` store's own calls
 * in-process (same Lua scripts, so the ratio is the sidecar's cost alone) and (b) raw ioredis
 * HSET/HGETALL (a lower bound). A third path is the floor of any Node HTTP hop: a plain node:http
 * server (child process) doing raw HSET/HGETALL. One real redis-server on loopback, one outriggerd.
 */

import { existsSync, readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import type { Logger } from '../sidecar/components/component.js';
import { validateMetadata } from '../sidecar/components/metadata-schema.js';
import { STATE_REGISTRATIONS } from '../sidecar/components/state/registrations.js';
import type { StateStore } from '../sidecar/state/state-store.js';
import { freePort, ManagedProcess, makeTempDir, removeTempDir, waitForPort } from '../test/env/process.js';
import { startRedis } from '../test/env/redis.js';
import { closedLoop, type LoadStats } from './load.js';
import { type BenchSettings, type BenchTable, fmt } from './report.js';
import { spawnTimed, type TimedProcess } from './sidecar-spawn.js';

const APP_ID = 'bench';
const STORE = 'statestore';
/** Distinct keys the loops cycle through. */
const KEYS = 1000;
const VALUE = JSON.stringify({
  orderId: 42,
  item: 'paddle',
  quantity: 2,
  customer: 'ana',
  note: 'x'.repeat(64),
});

const silent: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child() {
    return silent;
  },
};

function keyOf(worker: number, n: number): string {
  return `order-${(worker * 7919 + n) % KEYS}`;
}

/** One HTTP request on a keep-alive agent; rejects on an unexpected status. */
function httpCall(
  agent: Agent,
  port: number,
  method: string,
  path: string,
  body: string | undefined,
  expect: number,
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method,
        path,
        agent,
        headers:
          body === undefined
            ? {}
            : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        res.resume();
        res.once('end', () =>
          res.statusCode === expect
            ? resolve()
            : reject(new Error(`${method} ${path}: HTTP ${res.statusCode}`)),
        );
      },
    );
    req.once('error', reject);
    req.end(body);
  });
}

/** Source of the floor server: node:http + ioredis, the least a Node HTTP hop to Redis can do. */
const FLOOR_SOURCE = `
const http = require('node:http');
const IORedis = require('ioredis');
const Redis = IORedis.Redis ?? IORedis;
const redis = new Redis({ host: '127.0.0.1', port: Number(process.argv[2]) });
let version = 0;
http.createServer((req, res) => {
  const key = 'floor||' + decodeURIComponent(req.url.split('/').pop());
  if (req.method === 'GET') {
    redis.hgetall(key).then((h) => { res.statusCode = h.data === undefined ? 204 : 200; res.end(h.data); }, () => { res.statusCode = 500; res.end(); });
    return;
  }
  let body = '';
  req.setEncoding('utf8');
  req.on('data', (d) => { body += d; });
  req.on('end', () => {
    const items = JSON.parse(body);
    Promise.all(items.map((i) => redis.hset('floor||' + i.key, 'data', JSON.stringify(i.value), 'version', String(++version)))).then(
      () => { res.statusCode = 204; res.end(); }, () => { res.statusCode = 500; res.end(); });
  });
}).listen(Number(process.argv[1]), '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
`;

/** Starts the floor server with the repository as cwd (so `require('ioredis')` resolves). */
async function startFloor(redisPort: number, dir: string): Promise<{ port: number; proc: ManagedProcess }> {
  const port = await freePort();
  const proc = await ManagedProcess.start({
    name: 'floor-http',
    command: process.execPath,
    args: ['-e', FLOOR_SOURCE, String(port), String(redisPort)],
    logFile: `${dir}/floor.log`,
    cwd: repoRoot(),
  });
  await waitForPort('127.0.0.1', port, 30_000, { process: proc });
  return { port, proc };
}

/** Nearest folder above this file with outrigger's package.json. */
function repoRoot(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'outrigger')
      return dir;
    if (dirname(dir) === dir) throw new Error('no outrigger package.json above the bench build');
  }
}

async function openStore(redisHost: string): Promise<StateStore> {
  const reg = STATE_REGISTRATIONS.find((r) => r.type === 'state.redis');
  if (reg === undefined) throw new Error('state.redis is not registered');
  const store = reg.create() as StateStore;
  await store.init({
    name: STORE,
    type: 'state.redis',
    version: 'v1',
    metadata: validateMetadata(reg.schema, { redisHost }),
    appId: APP_ID,
    namespace: 'default',
    logger: silent,
    dataDir: '',
  });
  return store;
}

function row(op: string, path: string, s: LoadStats, baseline: LoadStats): string[] {
  return [
    op,
    path,
    fmt(s.opsPerSecond, 0),
    fmt(s.p50, 3),
    fmt(s.p99, 3),
    s === baseline ? '1.00' : fmt(s.opsPerSecond / baseline.opsPerSecond),
    s === baseline ? '1.00' : fmt(s.p50 / baseline.p50),
    String(s.errors),
  ];
}

/** One sentence comparing the sidecar path with the direct store calls. */
function summary(op: string, sidecar: LoadStats, direct: LoadStats): string {
  return (
    `${op}: the sidecar adds ${fmt(sidecar.p50 - direct.p50, 2)} ms at p50 and ${fmt(sidecar.p99 - direct.p99, 2)} ms at p99; ` +
    `direct store calls do ${fmt(direct.opsPerSecond / sidecar.opsPerSecond, 1)}× the ops/s`
  );
}

/** Runs the benchmark and returns its table. */
export async function benchStateRedis(settings: BenchSettings): Promise<BenchTable> {
  const redis = await startRedis();
  let resources: string | undefined;
  let sidecar: TimedProcess | undefined;
  let store: StateStore | undefined;
  let raw: Redis | undefined;
  let floor: { port: number; proc: ManagedProcess } | undefined;
  const agent = new Agent({ keepAlive: true, maxSockets: settings.concurrency });
  try {
    const redisHost = `127.0.0.1:${redis.port}`;
    resources = await makeTempDir('bench-state');
    const yaml = [
      'apiVersion: dapr.io/v1alpha1',
      'kind: Component',
      'metadata:',
      `  name: ${STORE}`,
      'spec:',
      '  type: state.redis',
      '  version: v1',
      '  metadata:',
      '  - name: redisHost',
      `    value: "${redisHost}"`,
      '',
    ].join('\n');
    sidecar = await spawnTimed('outriggerd-empty', resources, yaml, APP_ID);
    store = await openStore(redisHost);
    raw = new Redis({ host: '127.0.0.1', port: redis.port, lazyConnect: true });
    await raw.connect();
    floor = await startFloor(redis.port, resources);
    const load = {
      concurrency: settings.concurrency,
      durationMs: settings.durationMs,
      warmupMs: settings.warmupMs,
    };
    const port = sidecar.port;
    const value = new TextEncoder().encode(VALUE);
    const opened = store;
    const client = raw;

    const sidecarSave = await closedLoop(
      (w, n) =>
        httpCall(
          agent,
          port,
          'POST',
          `/v1.0/state/${STORE}`,
          `[{"key":"${keyOf(w, n)}","value":${VALUE}}]`,
          204,
        ),
      load,
    );
    const sidecarGet = await closedLoop(
      (w, n) => httpCall(agent, port, 'GET', `/v1.0/state/${STORE}/${keyOf(w, n)}`, undefined, 200),
      load,
    );
    const storeSave = await closedLoop(
      (w, n) => opened.set({ key: `${APP_ID}||${keyOf(w, n)}`, value, metadata: {} }),
      load,
    );
    const storeGet = await closedLoop(async (w, n) => {
      if ((await opened.get({ key: `${APP_ID}||${keyOf(w, n)}`, metadata: {} })) === undefined)
        throw new Error('missing key');
    }, load);
    const floorPort = floor.port;
    const floorSave = await closedLoop(
      (w, n) =>
        httpCall(agent, floorPort, 'POST', '/save', `[{"key":"${keyOf(w, n)}","value":${VALUE}}]`, 204),
      load,
    );
    const floorGet = await closedLoop(
      (w, n) => httpCall(agent, floorPort, 'GET', `/get/${keyOf(w, n)}`, undefined, 200),
      load,
    );
    const rawSave = await closedLoop(async (w, n) => {
      await client.hset(`raw||${keyOf(w, n)}`, 'data', VALUE, 'version', String(n));
    }, load);
    const rawGet = await closedLoop(async (w, n) => {
      const h = await client.hgetall(`raw||${keyOf(w, n)}`);
      if (h.data === undefined) throw new Error('missing key');
    }, load);

    return {
      title: 'State API on Redis: sidecar vs direct (same Redis, same run)',
      columns: ['op', 'path', 'ops/s', 'p50 ms', 'p99 ms', 'ops/s ratio', 'p50 ratio', 'errors'],
      rows: [
        row('save', 'sidecar HTTP (`POST /v1.0/state`)', sidecarSave, storeSave),
        row('save', 'floor: plain node:http server + raw HSET', floorSave, storeSave),
        row('save', 'direct: state.redis store calls (ioredis, same Lua)', storeSave, storeSave),
        row('save', 'direct: raw ioredis HSET', rawSave, storeSave),
        row('get', 'sidecar HTTP (`GET /v1.0/state/{key}`)', sidecarGet, storeGet),
        row('get', 'floor: plain node:http server + raw HGETALL', floorGet, storeGet),
        row('get', 'direct: state.redis store calls (ioredis, same Lua)', storeGet, storeGet),
        row('get', 'direct: raw ioredis HGETALL', rawGet, storeGet),
      ],
      notes: [
        summary('save', sidecarSave, storeSave),
        summary('get', sidecarGet, storeGet),
        ...[sidecarSave, sidecarGet, floorSave, floorGet, storeSave, storeGet, rawSave, rawGet]
          .filter((r) => r.firstError !== undefined)
          .map((r) => `first error seen: ${r.firstError}`),
        `closed loop: ${settings.concurrency} concurrent clients, ${settings.warmupMs / 1000}s warm-up + ${settings.durationMs / 1000}s measured per row; ${KEYS} keys; value ${VALUE.length} bytes of JSON`,
        'ratios are relative to the direct store calls (same Redis work), so they show the sidecar hop: HTTP parse, JSON, routing, key prefix, response',
        `one machine (${cpus().length} CPUs): the load generator, outriggerd and redis-server share it; loopback only`,
      ],
    };
  } finally {
    agent.destroy();
    await floor?.proc.stop();
    raw?.disconnect();
    await store?.close();
    await sidecar?.stop();
    if (resources !== undefined) await removeTempDir(resources);
    await redis.stop();
  }
}
