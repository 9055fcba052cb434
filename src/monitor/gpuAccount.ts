// The GPUs' part of a refresh: read each GPU's energy counter and who used it, split the
// interval's energy into idle and active, apportion the active energy over the processes by the
// GPU's sharing (gpuAttribution.ts), and roll the processes' shares up to containers, pods and
// VMs. Each level is a LevelAccount whose zones are the GPUs, so ended workloads, retention and
// the dropped totals behave as for the CPU.
//
// Two-phase like the monitor: read (I/O), prepare (every new total, in locals), commit (store).
// A GPU that cannot be read keeps its totals flat and the others go on. The meter's counters
// wrap as RAPL's do (counterDelta); a driver reload, which restarts NVML's counter, the meter
// goes on past, and the energy since the reload is billed: no total ever goes down.

import { counterDelta } from '../device/energyZone.js';
import type { GpuDeviceInfo, GpuMeter } from '../device/gpu/gpuMeter.js';
import type { Logger } from '../logger/logger.js';
import type { ContainerInfo, PodInfo, ProcessInfo, ResourceSample, VmInfo, WorkloadCpu } from '../resource/workloads.js';
import { splitByBaseline } from './attribution.js';
import { implausibility } from './counterPlausibility.js';
import { apportionGpu, gpuWeights, lowestIdleWatts, showsNoWork, type GpuUse } from './gpuAttribution.js';
import { LevelAccount, unbilled, type LevelAccountOptions, type PreparedBill } from './levelAccount.js';
import type { GpuDeviceSnapshot, GpuSnapshot, RefreshErrorKind } from './snapshot.js';

export interface GpuAccountOptions {
  meter: GpuMeter;
  /** experimental.gpu.idlePower: each GPU's zero-load watts; 0: learned (Kepler's rule). */
  idleWatts: number;
  /** monitor.maxZoneWatts: a GPU interval implying more is dropped as a glitch; 0: no ceiling. */
  maxWatts: number;
  /** Terminated workloads, as for the CPU levels (zoneCount is the number of GPUs). */
  levels: Omit<LevelAccountOptions, 'zoneCount' | 'idle'>;
  logger: Logger;
}

/** One GPU's reading in this refresh, not yet applied. */
export interface GpuDeviceReading {
  /** The counter to continue from; undefined when the GPU could not be read. */
  readonly counter?: number;
  readonly deltaUj: number;
  readonly use?: GpuUse;
  readonly problem?: { kind: RefreshErrorKind; detail: string };
}

/** Everything the GPUs' part of a refresh will store. */
export interface GpuPlan {
  readonly readings: readonly GpuDeviceReading[];
  readonly devices: readonly GpuDeviceSnapshot[];
  readonly processes: PreparedBill<ProcessInfo>;
  readonly containers: PreparedBill<ContainerInfo>;
  readonly vms: PreparedBill<VmInfo>;
  readonly pods: PreparedBill<PodInfo>;
  /** Problems to count in the refresh's errors. */
  readonly errors: Readonly<Partial<Record<RefreshErrorKind, number>>>;
}

/** The shortest interval the idle rule learns from. */
const MIN_IDLE_SPAN_SEC = 1;

/** A GPU not read this refresh: nobody is known to have used it. */
const NOT_READ: GpuUse = { mig: false };

interface DeviceState {
  readonly info: GpuDeviceInfo;
  last?: number;
  lastMs?: number;
  total: bigint;
  active: bigint;
  idle: bigint;
  /** The lowest power seen over an interval with no compute work (Kepler's idle rule). */
  lowestIdle?: number;
  /** The last usable reading showed no compute work. */
  quietAtLast: boolean;
  /** Consecutive refreshes whose reading was unusable (for the WARN/INFO pair). */
  troubled: number;
  /** The idle source last logged. */
  idleSource?: string;
}

export class GpuAccount {
  private readonly devices: DeviceState[];
  private readonly processes: LevelAccount<ProcessInfo>;
  private readonly containers: LevelAccount<ContainerInfo>;
  private readonly vms: LevelAccount<VmInfo>;
  private readonly pods: LevelAccount<PodInfo>;

  constructor(private readonly opts: GpuAccountOptions) {
    this.devices = opts.meter.devices.map((info) => ({ info, total: 0n, active: 0n, idle: 0n, quietAtLast: false, troubled: 0 }));
    const account = { ...opts.levels, zoneCount: this.devices.length, idle: false };
    this.processes = new LevelAccount(account);
    this.containers = new LevelAccount(account);
    this.vms = new LevelAccount(account);
    this.pods = new LevelAccount(account);
  }

  /** Step 1: every GPU's reading and its delta since the last usable one; no state changes. */
  read(nowMs: number): GpuDeviceReading[] {
    return this.devices.map((d, i): GpuDeviceReading => {
      let r;
      try {
        r = this.opts.meter.read(i);
      } catch (err) {
        return { deltaUj: 0, problem: { kind: 'gpu_read', detail: err instanceof Error ? err.message : String(err) } };
      }
      const use: GpuUse = r;
      const cur = r.energyUj;
      if (!Number.isSafeInteger(cur) || cur < 0) return { deltaUj: 0, use, problem: { kind: 'gpu_read', detail: `energy ${cur} is not a whole number of µJ` } };
      if (d.last === undefined || d.lastMs === undefined) return { counter: cur, deltaUj: 0, use };
      const max = this.opts.meter.maxEnergyUj;
      const deltaUj = counterDelta(d.last, cur, max);
      if (deltaUj === null) return { counter: cur, deltaUj: 0, use, problem: { kind: 'counter_backwards', detail: `${d.last} -> ${cur} µJ with no known range` } };
      const why = implausibility(deltaUj, max, (nowMs - d.lastMs) / 1000, this.opts.maxWatts);
      if (why) return { counter: cur, deltaUj: 0, use, problem: { kind: 'counter_implausible', detail: `${d.last} -> ${cur} µJ: ${why}` } };
      // The meter went on past a driver reload (its counter restarted): billed, and said.
      if (r.counterReset)
        return { counter: cur, deltaUj, use, problem: { kind: 'gpu_counter_reset', detail: 'the GPU energy counter restarted (driver reload); the energy since is counted' } };
      return { counter: cur, deltaUj, use };
    });
  }

  /**
   * Step 3: the GPUs' interval, split and attributed, in locals. `sample` is the refresh's
   * (usable) resource sample: its processes, ended ones included, are who the pids are.
   */
  prepare(readings: readonly GpuDeviceReading[], sample: ResourceSample, started: number): GpuPlan {
    const errors: Partial<Record<RefreshErrorKind, number>> = {};
    for (const r of readings) if (r.problem) errors[r.problem.kind] = (errors[r.problem.kind] ?? 0) + 1;
    const n = this.devices.length;
    const byPid = processesByPid(sample.processes);
    /** Per process of the sample (its index there): its share of each GPU. */
    const processShares = new Map<number, number[]>();
    const activeDeltaUj: number[] = [];
    const devices = this.devices.map((d, g): GpuDeviceSnapshot => {
      const r = readings[g];
      const dE = sample.baseline ? 0 : r.deltaUj;
      const spanSec = d.lastMs === undefined ? 0 : (started - d.lastMs) / 1000;
      const baseline = this.idleBaseline(d);
      const split = splitByBaseline(dE, baseline.watts, spanSec);
      activeDeltaUj.push(split.activeUj);
      const { sharing, weights } = gpuWeights(r.use ?? NOT_READ);
      for (const [pid, uj] of apportionGpu(split.activeUj, weights)) {
        const p = byPid.get(pid);
        if (p === undefined || uj === 0) continue; // a pid the resources never saw: unattributed
        let row = processShares.get(p);
        if (!row) processShares.set(p, (row = new Array<number>(n).fill(0)));
        row[g] += uj;
      }
      return {
        index: d.info.index,
        uuid: d.info.uuid,
        name: d.info.name,
        vendor: d.info.vendor,
        totalUj: d.total + BigInt(dE),
        activeUj: d.active + BigInt(split.activeUj),
        idleUj: d.idle + BigInt(split.idleUj),
        deltaUj: dE,
        activeDeltaUj: split.activeUj,
        idleDeltaUj: split.idleUj,
        idleBaseline: baseline,
        sharing,
      };
    });

    // Roll-up: containers from their processes, pods from their containers, VMs from their processes.
    const containerShares = new Map<string, number[]>();
    const vmShares = new Map<string, number[]>();
    for (const [i, row] of processShares) {
      const p = sample.processes[i].info;
      if (p.containerId) addRow(containerShares, p.containerId, row);
      if (p.vmId) addRow(vmShares, p.vmId, row);
    }
    const podShares = new Map<string, number[]>();
    for (const c of sample.containers) {
      const row = containerShares.get(c.info.key);
      if (row && c.info.podId) addRow(podShares, c.info.podId, row);
    }
    const processRows = new Map<ProcessInfo, number[]>();
    for (const [i, row] of processShares) processRows.set(sample.processes[i].info, row);
    return {
      readings,
      devices,
      processes: bill(this.processes, sample.processes, (w) => processRows.get(w.info), activeDeltaUj),
      containers: bill(this.containers, sample.containers, (w) => containerShares.get(w.info.key), activeDeltaUj),
      vms: bill(this.vms, sample.vms, (w) => vmShares.get(w.info.key), activeDeltaUj),
      pods: bill(this.pods, sample.pods, (w) => podShares.get(w.info.key), activeDeltaUj),
      errors,
    };
  }

  /**
   * Step 4: stores the plan; returns the GPUs' snapshot. With `sampled` false the interval's
   * users are unknown: the GPUs keep their last readings (the next refresh bills this interval
   * too), and `kept`'s levels stand, with nothing billed.
   */
  commit(plan: GpuPlan, started: number, sampled: boolean, kept: GpuSnapshot | undefined): GpuSnapshot {
    this.devices.forEach((d, g) => {
      const r = plan.readings[g];
      const ds = plan.devices[g];
      if (sampled && r.counter !== undefined) {
        this.learnIdle(d, r, ds, started);
        d.last = r.counter;
        d.lastMs = started;
        if (r.use) d.quietAtLast = showsNoWork(r.use);
        this.opts.meter.acknowledge(g);
      }
      d.total = ds.totalUj;
      d.active = ds.activeUj;
      d.idle = ds.idleUj;
      this.trackHealth(d, r);
    });
    if (!sampled && kept)
      return { ...kept, devices: plan.devices, processes: unbilled(kept.processes), containers: unbilled(kept.containers), vms: unbilled(kept.vms), pods: unbilled(kept.pods) };
    return {
      devices: plan.devices,
      processes: this.processes.commit(plan.processes, started),
      containers: this.containers.commit(plan.containers, started),
      vms: this.vms.commit(plan.vms, started),
      pods: this.pods.commit(plan.pods, started),
    };
  }

  /** An export showed this snapshot at monotonic `nowMs`: its terminated workloads start their retention. */
  markShown(s: GpuSnapshot, nowMs: number): void {
    this.processes.markShown(s.processes, nowMs);
    this.containers.markShown(s.containers, nowMs);
    this.vms.markShown(s.vms, nowMs);
    this.pods.markShown(s.pods, nowMs);
  }

  private idleBaseline(d: DeviceState): GpuDeviceSnapshot['idleBaseline'] {
    if (this.opts.idleWatts > 0) return { watts: this.opts.idleWatts, source: 'configured' };
    if (d.lowestIdle !== undefined) return { watts: d.lowestIdle, source: 'lowest' };
    return { watts: 0, source: 'unknown' };
  }

  /**
   * Kepler's idle rule: an interval with no compute work at either end (nothing listed, no
   * utilization sample) and a usable reading at both ends teaches the lowest idle power.
   */
  private learnIdle(d: DeviceState, r: GpuDeviceReading, ds: GpuDeviceSnapshot, started: number): void {
    if (this.opts.idleWatts > 0 || r.problem || d.lastMs === undefined || !r.use) return;
    const spanSec = (started - d.lastMs) / 1000;
    // Over less than a second the counter's granularity shows (and a minimum keeps the lowest
    // outlier); a counter that did not move at all is stuck, not a GPU drawing 0 W.
    if (spanSec < MIN_IDLE_SPAN_SEC || r.deltaUj <= 0) return;
    const before = d.lowestIdle;
    d.lowestIdle = lowestIdleWatts(d.lowestIdle, r.deltaUj / 1e6 / spanSec, d.quietAtLast && showsNoWork(r.use));
    if (before === undefined && d.lowestIdle !== undefined) {
      this.opts.logger.info('GPU idle power learned: the lowest power over an interval with no compute process', {
        gpu: ds.index,
        gpu_uuid: ds.uuid,
        watts: Math.round(d.lowestIdle * 100) / 100,
      });
    }
  }

  /** One WARN when a GPU's readings turn unusable, one INFO when they are usable again. */
  private trackHealth(d: DeviceState, r: GpuDeviceReading): void {
    const fields = { gpu: d.info.index, gpu_uuid: d.info.uuid };
    const bad = r.problem && r.problem.kind !== 'gpu_counter_reset' ? r.problem : undefined;
    if (r.problem?.kind === 'gpu_counter_reset')
      this.opts.logger.warn('GPU energy counter restarted (driver reload?); the energy since is counted', { ...fields, err: r.problem.detail });
    if (bad) {
      if (d.troubled === 0) this.opts.logger.warn('GPU reading unusable; its totals stay flat until it reads again', { ...fields, kind: bad.kind, err: bad.detail });
      else this.opts.logger.debug('GPU reading still unusable', { ...fields, kind: bad.kind, err: bad.detail });
      d.troubled++;
    } else if (d.troubled > 0) {
      this.opts.logger.info('GPU reading again', { ...fields, failed_refreshes: d.troubled });
      d.troubled = 0;
    }
  }
}

/** The sample's processes by pid (index into `processes`): a running one wins over an ended one with its pid. */
function processesByPid(processes: readonly WorkloadCpu<ProcessInfo>[]): Map<number, number> {
  const out = new Map<number, number>();
  processes.forEach((p, i) => {
    const prev = out.get(p.info.pid);
    if (prev === undefined || (processes[prev].ended && !p.ended)) out.set(p.info.pid, i);
  });
  return out;
}

function addRow(into: Map<string, number[]>, key: string, row: readonly number[]): void {
  const sum = into.get(key);
  if (sum) row.forEach((v, g) => (sum[g] += v));
  else into.set(key, [...row]);
}

/**
 * A level's GPU bill: the workloads with a share this interval or running totals (a GPU series
 * does not end while its workload runs), and per GPU what none of them got.
 */
function bill<I extends { key: string }>(
  account: LevelAccount<I>,
  workloads: readonly WorkloadCpu<I>[],
  sharesOf: (w: WorkloadCpu<I>) => readonly number[] | undefined,
  activeDeltaUj: readonly number[],
): PreparedBill<I> {
  const billed: WorkloadCpu<I>[] = [];
  const sharesUj: (readonly number[])[] = [];
  const unattributedUj = [...activeDeltaUj];
  const none = activeDeltaUj.map(() => 0);
  for (const w of workloads) {
    const row = sharesOf(w);
    if (!row && !account.has(w.info.key)) continue;
    billed.push(w);
    sharesUj.push(row ?? none);
    if (row) row.forEach((v, g) => (unattributedUj[g] -= v));
  }
  return account.prepareShares(billed, { sharesUj, unattributedUj });
}
