// The refresh loop (attribution.md section 1): every monitor.interval, and on a scrape that finds
// the last snapshot older than monitor.staleness, read the meter's zones and the resources,
// split and attribute the energy, and publish one immutable Snapshot. Refreshes never overlap:
// a refresh runs synchronously to completion (its reads are synchronous), so a scrape arriving
// meanwhile is queued behind it by the event loop and then finds a fresh snapshot.

import { counterDelta, type EnergyZone } from '../device/energyZone.js';
import type { Logger } from '../logger/logger.js';
import type { ContainerInfo, PodInfo, ProcessInfo, ResourceErrorKind, ResourceSample, VmInfo } from '../resource/workloads.js';
import { splitActiveIdle, splitOutsideContainers } from './attribution.js';
import { LevelAccount } from './levelAccount.js';
import { REFRESH_ERROR_KINDS, type OutsideContainers, type RefreshErrorKind, type RefreshHealth, type Snapshot, type ZoneSnapshot } from './snapshot.js';

export interface ResourceSource {
  refresh(): ResourceSample;
}

export interface PowerMonitorOptions {
  zones: EnergyZone[];
  resources: ResourceSource;
  intervalMs: number;
  stalenessMs: number;
  maxTerminated: number;
  minTerminatedEnergyThresholdJ: number;
  logger: Logger;
  /** Monotonic ms; injectable for tests. */
  clock?: () => number;
  wallClock?: () => number;
}

const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

interface ZoneState {
  zone: EnergyZone;
  last?: number;
  total: bigint;
  active: bigint;
  idle: bigint;
}

export class PowerMonitor {
  private readonly clock: () => number;
  private readonly wallClock: () => number;
  private readonly zones: ZoneState[];
  private readonly processes: LevelAccount<ProcessInfo>;
  private readonly containers: LevelAccount<ContainerInfo>;
  private readonly vms: LevelAccount<VmInfo>;
  private readonly pods: LevelAccount<PodInfo>;
  private outside: { kernelUj: bigint[]; systemUj: bigint[] };
  private current: Snapshot | undefined;
  private lastRefreshMs: number | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private seq = 0;
  private readonly errors = Object.fromEntries(REFRESH_ERROR_KINDS.map((k) => [k, 0])) as Record<RefreshErrorKind, number>;
  private readonly bucketCounts = DURATION_BUCKETS.map(() => 0);
  private durationSum = 0;
  private readonly listeners: ((s: Snapshot) => void)[] = [];

  constructor(private readonly opts: PowerMonitorOptions) {
    this.clock = opts.clock ?? (() => performance.now());
    this.wallClock = opts.wallClock ?? Date.now;
    this.zones = opts.zones.map((zone) => ({ zone, total: 0n, active: 0n, idle: 0n }));
    const n = opts.zones.length;
    const minUj = BigInt(Math.round(opts.minTerminatedEnergyThresholdJ * 1e6));
    this.processes = new LevelAccount(n, opts.maxTerminated, minUj);
    this.containers = new LevelAccount(n, opts.maxTerminated, minUj);
    this.vms = new LevelAccount(n, opts.maxTerminated, minUj);
    this.pods = new LevelAccount(n, opts.maxTerminated, minUj);
    this.outside = { kernelUj: new Array<bigint>(n).fill(0n), systemUj: new Array<bigint>(n).fill(0n) };
  }

  /** Takes the baseline refresh and starts the periodic loop (unless interval is 0). */
  start(): void {
    this.running = true;
    this.refresh(); // schedules the next one
  }

  stop(): void {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Called after each published snapshot (the stdout exporter uses it). */
  onSnapshot(listener: (s: Snapshot) => void): void {
    this.listeners.push(listener);
  }

  /** The latest snapshot, refreshed first when older than monitor.staleness. */
  freshSnapshot(): Snapshot {
    if (this.current === undefined || this.lastRefreshMs === undefined || this.clock() - this.lastRefreshMs > this.opts.stalenessMs) {
      return this.refresh();
    }
    return this.current;
  }

  latest(): Snapshot | undefined {
    return this.current;
  }

  /** An exporter has shown these terminated workloads: drop them from the next snapshots. */
  acknowledgeExport(s: Snapshot): void {
    const shown = new Set<unknown>();
    for (const level of [s.processes, s.containers, s.vms, s.pods]) {
      for (const w of level.workloads) if (w.state === 'terminated') shown.add(w.info);
    }
    if (shown.size === 0) return;
    this.processes.terminated.remove(shown);
    this.containers.terminated.remove(shown);
    this.vms.terminated.remove(shown);
    this.pods.terminated.remove(shown);
  }

  refresh(): Snapshot {
    const started = this.clock();
    const elapsedSec = this.lastRefreshMs === undefined ? 0 : (started - this.lastRefreshMs) / 1000;
    const deltas = this.zones.map((z) => this.readZone(z));
    let sample: ResourceSample;
    try {
      sample = this.opts.resources.refresh();
    } catch (err) {
      // The informer counts per-process problems itself; reaching here is a bug, not a bad process.
      this.opts.logger.error('resource refresh failed', { err });
      this.countError('resources');
      sample = { baseline: true, nodeActiveCpuSec: 0, nodeTotalCpuSec: 0, usageRatio: 0, processes: [], containers: [], vms: [], pods: [], errors: {} };
    }
    for (const [kind, n] of Object.entries(sample.errors) as [ResourceErrorKind, number][]) this.countError(kind, n);

    const zoneSnaps: ZoneSnapshot[] = [];
    const activeDeltaUj: number[] = [];
    this.zones.forEach((z, i) => {
      const dE = sample.baseline ? 0 : deltas[i];
      const { activeUj, idleUj } = splitActiveIdle(dE, sample.usageRatio);
      z.total += BigInt(dE);
      z.active += BigInt(activeUj);
      z.idle += BigInt(idleUj);
      activeDeltaUj.push(activeUj);
      zoneSnaps.push({
        name: z.zone.name,
        index: z.zone.index,
        path: z.zone.path,
        totalUj: z.total,
        activeUj: z.active,
        idleUj: z.idle,
        deltaUj: dE,
        activeDeltaUj: activeUj,
        idleDeltaUj: idleUj,
      });
    });

    const cpu = sample.nodeActiveCpuSec;
    // Pods are sums of containers, so they share the container level's denominator: with their
    // own (smaller when skew puts the containers' CPU above the node's), a pod would be billed
    // more than its containers together.
    let containerCpu = 0;
    for (const c of sample.containers) containerCpu += c.cpuDeltaSec;
    const finished = this.clock();
    const duration = (finished - started) / 1000;
    this.durationSum += duration;
    DURATION_BUCKETS.forEach((le, i) => {
      if (duration <= le) this.bucketCounts[i]++;
    });
    const health: RefreshHealth = {
      refreshes: this.seq + 1,
      lastDurationSec: duration,
      durationBuckets: DURATION_BUCKETS.map((le, i) => ({ le, count: this.bucketCounts[i] })),
      durationSumSec: this.durationSum,
      errors: { ...this.errors },
    };
    const processes = this.processes.bill(sample.processes, activeDeltaUj, cpu); // before the split below reads it
    const containers = this.containers.bill(sample.containers, activeDeltaUj, cpu);
    const snap: Snapshot = {
      seq: ++this.seq,
      timestampMs: this.wallClock(),
      monotonicMs: started,
      elapsedSec: sample.baseline ? 0 : elapsedSec,
      usageRatio: sample.usageRatio,
      zones: zoneSnaps,
      processes,
      containers,
      vms: this.vms.bill(sample.vms, activeDeltaUj, cpu),
      pods: this.pods.bill(sample.pods, activeDeltaUj, Math.max(cpu, containerCpu)),
      outsideContainers: this.accumulateOutsideContainers(containers.unattributedDeltaUj),
      health,
    };
    this.current = snap;
    this.lastRefreshMs = started;
    for (const l of this.listeners) {
      try {
        l(snap);
      } catch (err) {
        this.opts.logger.error('snapshot listener failed', { err });
      }
    }
    this.schedule();
    return snap;
  }

  /** Adds this interval's energy outside containers, split between kernel threads and the rest. */
  private accumulateOutsideContainers(containerUnattributedUj: readonly number[]): OutsideContainers {
    // This interval's charges, with kernel threads that ended in it whether or not they are kept
    // for a terminated export (under minTerminatedEnergyThreshold they are not).
    const kernelThreadsUj = containerUnattributedUj.map(() => 0);
    for (const w of this.processes.lastInterval) {
      if (w.info.kernelThread) w.deltaUj.forEach((d, z) => (kernelThreadsUj[z] += d));
    }
    const { kernelUj, systemUj } = splitOutsideContainers(containerUnattributedUj, kernelThreadsUj);
    // New arrays: published snapshots keep the totals they were given.
    this.outside = {
      kernelUj: this.outside.kernelUj.map((t, z) => t + BigInt(kernelUj[z])),
      systemUj: this.outside.systemUj.map((t, z) => t + BigInt(systemUj[z])),
    };
    return this.outside;
  }

  /** One zone's energy since the previous refresh, µJ; 0 (and an error counted) when unusable. */
  private readZone(z: ZoneState): number {
    let cur: number;
    try {
      cur = z.zone.energy();
    } catch (err) {
      // A zone that vanishes or turns unreadable keeps its totals and resumes from its last reading.
      this.countError('zone_read');
      this.opts.logger.debug('zone read failed', { zone: z.zone.name, path: z.zone.path, err });
      return 0;
    }
    const prev = z.last;
    z.last = cur;
    if (prev === undefined) return 0;
    const d = counterDelta(prev, cur, z.zone.maxEnergy());
    if (d === null) {
      this.countError('counter_backwards');
      return 0;
    }
    return d;
  }

  private countError(kind: RefreshErrorKind, n = 1): void {
    this.errors[kind] += n;
  }

  /**
   * Arms the periodic refresh one interval after the latest refresh, whatever caused it: when
   * Prometheus scrapes at about the monitor interval, its scrape-triggered refreshes replace the
   * timer's instead of doubling them.
   */
  private schedule(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.running || this.opts.intervalMs <= 0) return;
    this.timer = setTimeout(() => {
      try {
        this.refresh();
      } catch (err) {
        this.opts.logger.error('refresh failed', { err });
        this.countError('refresh');
        this.schedule();
      }
    }, this.opts.intervalMs);
    this.timer.unref();
  }
}
