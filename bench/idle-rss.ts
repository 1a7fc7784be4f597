/** Resident memory of an idle sidecar: VmRSS from /proc/<pid>/status at ready and after idling. */
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { makeTempDir, removeTempDir } from '../test/env/process.js';
import { type BenchSettings, type BenchTable, fmt } from './report.js';
import { type SpawnVariant, spawnTimed, VARIANT_LABEL } from './sidecar-spawn.js';

const VARIANTS: readonly SpawnVariant[] = ['node-baseline', 'outriggerd-empty', 'outriggerd-sqlite'];
/** How long the process idles before the second reading. */
const IDLE_MS = 5_000;

/** Reads a `Vm*` field of /proc/<pid>/status in MiB. */
export async function procStatusMiB(pid: number, field: 'VmRSS' | 'VmHWM'): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
  if (!m) throw new Error(`no ${field} in /proc/${pid}/status`);
  return Number(m[1]) / 1024;
}

/** Runs the benchmark and returns its table. */
export async function benchIdleRss(_settings: BenchSettings): Promise<BenchTable> {
  if (process.platform !== 'linux') throw new Error('idle RSS reads /proc/<pid>/status and needs Linux');
  const rows: string[][] = [];
  for (const variant of VARIANTS) {
    const dir = await makeTempDir('bench-rss');
    try {
      const proc = await spawnTimed(variant, dir);
      try {
        const atReady = await procStatusMiB(proc.pid, 'VmRSS');
        await sleep(IDLE_MS);
        const idle = await procStatusMiB(proc.pid, 'VmRSS');
        const peak = await procStatusMiB(proc.pid, 'VmHWM');
        rows.push([VARIANT_LABEL[variant], fmt(atReady, 1), fmt(idle, 1), fmt(peak, 1)]);
      } finally {
        await proc.stop();
      }
    } finally {
      await removeTempDir(dir);
    }
  }
  return {
    title: 'Idle RSS',
    columns: ['process', 'RSS at ready MiB', `RSS after ${IDLE_MS / 1000}s idle MiB`, 'peak RSS (VmHWM) MiB'],
    rows,
    notes: ['read from /proc/<pid>/status; Node 20 default heap settings; metrics server on'],
  };
}
