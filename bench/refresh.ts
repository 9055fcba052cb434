// Section 1: refresh time at N processes, against the C floor measured in the same run; and, at
// the largest N, the refresh without the process level against the full one.

import { FakeMeter } from '../src/device/fakeMeter.js';
import { IDLE_ATTRIBUTIONS } from '../src/config/schema.js';
import { PowerMonitor } from '../src/monitor/powerMonitor.js';
import type { IdleAttribution } from '../src/monitor/attribution.js';
import { ResourceInformer } from '../src/resource/resourceInformer.js';
import type { ResourceSample } from '../src/resource/workloads.js';
import type { CFloor } from './floor.js';
import { intoContainers, type ProcPool } from './pool.js';
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

// ---------------------------------------------------------------- without the process level

/** Issue 19: at the largest count, a refresh without the process level costs at most this fraction of the full one. */
export const NO_PROCESS_TARGET = 0.25;

/** Processes per container when the pool's processes are put into containers. */
const PER_CONTAINER = 50;

export interface NoProcessRow {
  placement: string;
  procs: number;
  /** Running containers, pods and VMs the refresh without the process level found. */
  containers: number;
  pods: number;
  vms: number;
  /** Whether both refreshes found the same running containers, pods and VMs. */
  same: boolean;
  withMs: number;
  withP90Ms: number;
  withoutMs: number;
  withoutP90Ms: number;
  /** First refresh without the process level (it reads the processes of each new container once). */
  withoutFirstMs: number;
  othersCores: number;
}

export interface NoProcessResult {
  rows: NoProcessRow[];
  /** Why the pool's processes could not be put into containers (no writable cgroup v2 hierarchy). */
  skipped?: string;
}

/**
 * ResourceInformer.refresh() with and without the process level at `n` processes: as the pool
 * runs them (outside containers), then spread over containers of PER_CONTAINER processes, two
 * per pod (kubelet's systemd naming, in cgroup v2), where the refresh without processes reads
 * each container's cgroup. The processes go back to their cgroups afterwards.
 */
export async function benchNoProcess(pool: ProcPool, n: number, iterations: number): Promise<NoProcessResult> {
  await pool.ensureIdle(n);
  const rows = [measureNoProcess('outside containers', iterations)];
  const pids = pool.groups.flatMap((g) => g.pids);
  const placed = intoContainers(pids, Math.max(1, Math.round(pids.length / PER_CONTAINER)));
  if (typeof placed === 'string') return { rows, skipped: placed };
  try {
    progress(`refresh: ${pids.length} processes in ${placed.containers} containers; measuring with and without the process level`);
    rows.push(measureNoProcess(`in ${placed.containers} containers (${placed.containers / 2} pods)`, iterations));
  } finally {
    placed.restore();
  }
  return { rows };
}

function measureNoProcess(placement: string, iterations: number): NoProcessRow {
  const procs = procCount();
  const withProcesses = new ResourceInformer({ procfs: '/proc', sysfs: '/sys' });
  const without = new ResourceInformer({ procfs: '/proc', sysfs: '/sys', processes: false });
  timeEach(1 + WARMUP, () => withProcesses.refresh());
  const withoutFirstMs = timeEach(1, () => without.refresh())[0];
  timeEach(WARMUP, () => without.refresh());
  const withMs: number[] = [];
  const withoutMs: number[] = [];
  const others = new OtherLoad();
  for (let left = iterations; left > 0;) {
    const k = Math.min(left, Math.ceil(iterations / ROUNDS));
    left -= k;
    withMs.push(...timeEach(k, () => withProcesses.refresh()));
    withoutMs.push(...timeEach(k, () => without.refresh()));
  }
  const a = running(withProcesses.refresh());
  const b = running(without.refresh());
  return {
    placement,
    procs,
    containers: b.containers.length,
    pods: b.pods.length,
    vms: b.vms.length,
    same: JSON.stringify(a) === JSON.stringify(b),
    withMs: median(withMs),
    withP90Ms: quantile(withMs, 0.9),
    withoutMs: median(withoutMs),
    withoutP90Ms: quantile(withoutMs, 0.9),
    withoutFirstMs,
    othersCores: others.cores(),
  };
}

/** Running containers, pods and VMs of a sample, by id, sorted. */
function running(s: ResourceSample): { containers: string[]; pods: string[]; vms: string[] } {
  const ids = (l: readonly { info: { key: string }; ended: boolean }[]) =>
    l
      .filter((w) => !w.ended)
      .map((w) => w.info.key)
      .sort();
  return { containers: ids(s.containers), pods: ids(s.pods), vms: ids(s.vms) };
}
