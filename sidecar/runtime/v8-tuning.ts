/**
 * V8 settings for a long-running proxy, applied before any other module of outriggerd loads
 * (main.ts imports this first). Measured with bench/invoke.ts at 1000 calls/s:
 * - Allocation-site pretenuring off: V8 decided early on that per-call objects were long-lived
 *   and allocated them straight into the old generation, so each sidecar ran a mark-compact
 *   about every second and scavenges promoted megabytes; with it off, p90 added latency fell from
 *   ~4.6 to ~2.2 ms and the callee's CPU per call by ~10 %.
 * A flag given on the command line or in NODE_OPTIONS wins. (The young generation's size cannot
 * be changed this way once the heap exists; `--max-semi-space-size=4` on the node command line
 * saves ~20 MiB of RSS at the same latency.)
 */
import { setFlagsFromString } from 'node:v8';

const given = `${process.execArgv.join(' ')} ${process.env.NODE_OPTIONS ?? ''}`;
if (!given.includes('allocation-site-pretenuring')) setFlagsFromString('--no-allocation-site-pretenuring');
