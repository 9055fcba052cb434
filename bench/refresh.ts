// Section 1: refresh time at N processes, against the C floor measured in the same run.

import { FakeMeter } from '../src/device/fakeMeter.js';
import { IDLE_ATTRIBUTIONS } from '../src/config/schema.js';
import { PowerMonitor } from '../src/monitor/powerMonitor.js';
import type { IdleAttribution } from '../src/monitor/attribution.js';
import { ResourceInformer } from '../src/resource/resourceInformer.js';
import type { CFloor } from './floor.js';
import type { ProcPool } from './pool.js';
import { median, OtherLoad, procCount, progress, quantile, silentLogger, timeEach } from './util.js';

export interface RefreshResult {
  spawned: number;
  procs: number;
  /** C floor, median ms per pass (single read per file; and read-to-EOF), in rounds alternating with the node measurements. */
  floorOneMs?: number;
  floorEofMs?: number;
  floorFiles?: number;
  /** First refresh of a new informer: reads the labels (exe, cgroup, cmdline) of every process. */
  informerFirstMs: number;
  informerMs: number;
  informerP90Ms: number;
  monitorMs: number;
  monitorP90Ms: number;
  /** CPU used by the rest of the machine during the timed rounds, in cores. */
  othersCores: number;
}

const WARMUP = 3;

function idleAttribution(): IdleAttribution {
  const v = process.env.BENCH_IDLE_ATTRIBUTION ?? 'none';
  const known: readonly string[] = IDLE_ATTRIBUTIONS;
  if (!known.includes(v)) throw new Error(`BENCH_IDLE_ATTRIBUTION: expected one of ${IDLE_ATTRIBUTIONS.join(', ')}, got ${JSON.stringify(v)}`);
  return v as IdleAttribution;
}
const ROUNDS = 3;

export async function benchRefresh(pool: ProcPool, counts: number[], iterations: number, floor: CFloor | undefined): Promise<RefreshResult[]> {
  const results: RefreshResult[] = [];
  for (const n of [...counts].sort((a, b) => a - b)) {
    progress(`refresh: starting ${n} idle processes`);
    await pool.ensureIdle(n);
    const procs = procCount();
    progress(`refresh: ${procs} processes in /proc; measuring ${iterations} iterations`);

    // The floor and the two refreshes alternate in rounds, so that all three see the same load
    // on this (shared, 2-core) machine.
    const informer = new ResourceInformer({ procfs: '/proc', sysfs: '/sys' });
    const informerFirstMs = timeEach(1, () => informer.refresh())[0];
    timeEach(WARMUP, () => informer.refresh());
    const monitor = new PowerMonitor({
      zones: new FakeMeter({ zones: [], watts: {} }).zones(),
      resources: new ResourceInformer({ procfs: '/proc', sysfs: '/sys' }),
      intervalMs: 0,
      stalenessMs: 500,
      maxTerminated: 500,
      minTerminatedEnergyThresholdJ: 10,
      // BENCH_IDLE_ATTRIBUTION=cpu|request|even: the cost of billing idle energy too (default none).
      idle: { model: 'baseline', attribution: idleAttribution() },
      logger: silentLogger,
    });
    timeEach(1 + WARMUP, () => monitor.refresh());
    const floorOne: number[] = [];
    const floorEof: number[] = [];
    let floorFiles: number | undefined;
    const inf: number[] = [];
    const mon: number[] = [];
    const others = new OtherLoad();
    for (let left = iterations; left > 0;) {
      const k = Math.min(left, Math.ceil(iterations / ROUNDS));
      left -= k;
      const f = floor?.run(k);
      if (f) {
        floorOne.push(...f.one);
        floorEof.push(...f.eof);
        floorFiles = f.files;
      }
      inf.push(...timeEach(k, () => informer.refresh()));
      mon.push(...timeEach(k, () => monitor.refresh()));
      await new Promise((r) => setImmediate(r)); // let a Ctrl-C in between rounds
    }
    results.push({
      spawned: n,
      procs,
      floorOneMs: floorOne.length ? median(floorOne) : undefined,
      floorEofMs: floorEof.length ? median(floorEof) : undefined,
      floorFiles,
      othersCores: others.cores(),
      informerFirstMs,
      informerMs: median(inf),
      informerP90Ms: quantile(inf, 0.9),
      monitorMs: median(mon),
      monitorP90Ms: quantile(mon, 0.9),
    });
  }
  return results;
}
