// The refresh loop (attribution.md section 1): every monitor.interval, and on a scrape that finds
// the last snapshot older than monitor.staleness, read the meter's zones and the resources,
// split and attribute the energy, and publish one immutable Snapshot. Refreshes never overlap:
// a refresh runs synchronously to completion (its reads are synchronous), so a scrape arriving
// meanwhile is queued behind it by the event loop and then finds a fresh snapshot.
//
// A refresh completes or changes nothing in the monitor: read (zones, resources), prepare (every
// new total, in locals), commit (store, publish). A reading the monitor cannot use (a counter
// that went backwards, a step no hardware makes) drops that zone's interval, is counted, and
// leaves the zone's totals flat.
//
// Idle (monitor.idle): with the baseline model, a zone's idle energy is its zero-load power over
// the interval, capped at the interval's energy: pinned (monitor.idle.watts), else the meter's
// own (the estimator knows it), else learned from the zone's readings (IdleBaseline, fed each
// accepted interval in commit, read in prepare: an interval is never split by a baseline that
// already contains it). Until the learner has a first interval, Kepler's usage-ratio split is
// used, and the snapshot says so. With an attribution policy, each level's workloads share the
// idle energy too (levelAccount.ts).

import { counterDelta, type EnergyZone } from '../device/energyZone.js';
import type { GpuMeter } from '../device/gpu/gpuMeter.js';
import type { PlatformSource } from '../device/platform/platformSource.js';
import type { Logger } from '../logger/logger.js';
import type { ContainerInfo, PodInfo, ProcessInfo, ResourceErrorKind, ResourceSample, VmInfo, WorkloadCpu } from '../resource/workloads.js';
import { implausibility } from './counterPlausibility.js';
import { idleBasis, splitActiveIdle, splitByBaseline, splitOverParts, type ActiveIdle, type IdleAttribution, type IdleWeighed } from './attribution.js';
import { IdleBaseline } from './idleBaseline.js';
import { GpuAccount, type GpuDeviceReading, type GpuPlan } from './gpuAccount.js';
import { LevelAccount, unbilled, type IdleBill, type PreparedBill } from './levelAccount.js';
import {
  REFRESH_ERROR_KINDS,
  watts,
  type IdleBaselineSnapshot,
  type IdleModel,
  type RefreshErrorKind,
  type RefreshHealth,
  type Snapshot,
  type ZonePartSnapshot,
  type ZoneSnapshot,
} from './snapshot.js';

export { implausibility } from './counterPlausibility.js';

export interface ResourceSource {
  refresh(): ResourceSample;
}

/** monitor.idle, with what the meter knows of its own idle power. */
export interface IdleOptions {
  model: IdleModel;
  attribution: IdleAttribution;
  /** monitor.idle.watts: zero-load watts per zone name, node total. */
  pinnedWatts?: Readonly<Record<string, number>>;
  /** The meter's own zero-load watts per zone name (the estimator's), for the zones nothing pins. */
  meterWatts?: Readonly<Record<string, number>>;
}

/** A zone's zero-load power that needs no learning. */
export interface KnownIdle {
  readonly watts: number;
  readonly source: 'pinned' | 'estimator';
}

/**
 * Per zone (in the order given), the zero-load power known without learning: pinned, else the
 * meter's. Both are node totals per zone name: where several zones share a name (hwmon sensors
 * with one label), each gets an equal part. Undefined where it must be learned. Pure.
 */
export function knownIdleWatts(
  zoneNames: readonly string[],
  pinned: Readonly<Record<string, number>> = {},
  meter: Readonly<Record<string, number>> = {},
): (KnownIdle | undefined)[] {
  const count = new Map<string, number>();
  for (const n of zoneNames) count.set(n, (count.get(n) ?? 0) + 1);
  const usable = (w: number | undefined) => w !== undefined && Number.isFinite(w) && w >= 0;
  return zoneNames.map((n) => {
    const share = 1 / (count.get(n) ?? 1);
    if (Object.hasOwn(pinned, n) && usable(pinned[n])) return { watts: pinned[n] * share, source: 'pinned' };
    if (Object.hasOwn(meter, n) && usable(meter[n])) return { watts: meter[n] * share, source: 'estimator' };
    return undefined;
  });
}

const DEFAULT_IDLE: IdleOptions = { model: 'baseline', attribution: 'none' };

export interface PowerMonitorOptions {
  zones: EnergyZone[];
  resources: ResourceSource;
  intervalMs: number;
  stalenessMs: number;
  maxTerminated: number;
  minTerminatedEnergyThresholdJ: number;
  /** How long terminated workloads stay after an export first showed them; 0 (default): until the next refresh. */
  terminatedRetentionMs?: number;
  /** A zone's interval implying more watts than this is dropped as implausible; 0 or absent: no ceiling. */
  maxZoneWatts?: number;
  /** monitor.idle; absent: the defaults (baseline model, no attribution). */
  idle?: IdleOptions;
  /** GPU power (experimental.gpu): the GPU meter and each GPU's configured idle watts (0: learned). */
  gpu?: { meter: GpuMeter; idleWatts: number };
  /** Platform power sources, read without waiting (they poll in the background): copied into each snapshot. */
  platform?: readonly PlatformSource[];
  logger: Logger;
  /** Monotonic ms; injectable for tests. */
  clock?: () => number;
  wallClock?: () => number;
}

const NO_SAMPLE: ResourceSample = { baseline: true, nodeActiveCpuSec: 0, nodeTotalCpuSec: 0, usageRatio: 0, processes: [], containers: [], vms: [], pods: [], errors: {} };

const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

interface ZoneState {
  zone: EnergyZone;
  /** Last usable counter reading, and when it was taken (monotonic ms). */
  last?: number;
  lastMs?: number;
  /** A summed zone's part counters taken with `last` (EnergyZone.partCounters). */
  lastParts?: readonly number[];
  total: bigint;
  active: bigint;
  idle: bigint;
  /** A summed zone's parts and their totals; undefined for a single counter. */
  parts?: readonly ZonePartSnapshot[];
  /** Baseline model: the zone's zero-load power when known without learning, else its learner. */
  knownIdle?: KnownIdle;
  learner?: IdleBaseline;
  /** The source of the last interval's baseline, to log its changes. */
  idleSource?: string;
  /** Consecutive refreshes in which the zone could not be read (for health). */
  failures: number;
  /** Consecutive refreshes of at least a second in which it read but did not advance (for health). */
  stalls: number;
  /** Consecutive refreshes whose reading was unusable, whatever the reason (for the WARN/INFO pair). */
  troubled: number;
}

/** One zone's reading in this refresh, not yet applied. */
interface ZoneReading {
  /** The counter value to continue from; undefined when the zone could not be read. */
  counter?: number;
  /** A summed zone's part counters read with `counter`. */
  partCounters?: readonly number[];
  deltaUj: number;
  /** A summed zone's parts' deltas, adding up to deltaUj; undefined when deltaUj is 0. */
  partDeltasUj?: number[];
  problem?: { kind: RefreshErrorKind; detail: string };
  /** Parts of a summed zone that went backwards (counted as counter_backwards; the rest is used). */
  droppedParts?: number;
}

/** Everything a refresh will store, computed before anything is. */
interface Plan {
  readings: ZoneReading[];
  sample: ResourceSample;
  /** False when the resources could not be sampled: the zones then keep their last readings. */
  sampled: boolean;
  /**
   * Whether the interval's usage ratio is a measurement the idle learner may use: /proc/stat was
   * read at both ends and covered some CPU time, and the ratio needed no repair. A ratio of 0
   * reported for want of one would teach it a zero-load power that is not.
   */
  usageMeasured: boolean;
  /** /proc/stat could not be read: the next interval's usage ratio covers more time than its energy. */
  procStatFailed: boolean;
  zones: ZoneSnapshot[];
  processes: PreparedBill<ProcessInfo>;
  containers: PreparedBill<ContainerInfo>;
  vms: PreparedBill<VmInfo>;
  pods: PreparedBill<PodInfo>;
  gpu?: GpuPlan;
  errors: Record<RefreshErrorKind, number>;
}

export class PowerMonitor {
  private readonly clock: () => number;
  private readonly wallClock: () => number;
  private readonly zones: ZoneState[];
  private readonly processes: LevelAccount<ProcessInfo>;
  private readonly containers: LevelAccount<ContainerInfo>;
  private readonly vms: LevelAccount<VmInfo>;
  private readonly pods: LevelAccount<PodInfo>;
  private readonly idle: IdleOptions;
  private readonly gpu: GpuAccount | undefined;
  private current: Snapshot | undefined;
  private lastRefreshMs: number | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private seq = 0;
  /** The last sampled refresh could not read /proc/stat (see Plan.procStatFailed). */
  private procStatFailed = false;
  private errors = Object.fromEntries(REFRESH_ERROR_KINDS.map((k) => [k, 0])) as Record<RefreshErrorKind, number>;
  private readonly bucketCounts = DURATION_BUCKETS.map(() => 0);
  private durationSum = 0;
  private readonly listeners: ((s: Snapshot) => void)[] = [];

  constructor(private readonly opts: PowerMonitorOptions) {
    this.clock = opts.clock ?? (() => performance.now());
    this.wallClock = opts.wallClock ?? Date.now;
    this.idle = opts.idle ?? DEFAULT_IDLE;
    const baseline = this.idle.model === 'baseline';
    const known = knownIdleWatts(
      opts.zones.map((z) => z.name),
      this.idle.pinnedWatts,
      this.idle.meterWatts,
    );
    this.zones = opts.zones.map((zone, i) => ({
      zone,
      total: 0n,
      active: 0n,
      idle: 0n,
      parts: zone.parts?.map((p) => ({ index: p.index, path: p.path, totalUj: 0n, activeUj: 0n, idleUj: 0n })),
      ...(baseline && known[i] ? { knownIdle: known[i] } : {}),
      ...(baseline && !known[i] ? { learner: new IdleBaseline() } : {}),
      failures: 0,
      stalls: 0,
      troubled: 0,
    }));
    const account = {
      zoneCount: opts.zones.length,
      maxTerminated: opts.maxTerminated,
      minTerminatedEnergyUj: BigInt(Math.round(opts.minTerminatedEnergyThresholdJ * 1e6)),
      terminatedRetentionMs: opts.terminatedRetentionMs ?? 0,
      idle: this.idle.attribution !== 'none',
    };
    this.processes = new LevelAccount(account);
    this.containers = new LevelAccount(account);
    this.vms = new LevelAccount(account);
    this.pods = new LevelAccount(account);
    if (opts.gpu) {
      this.gpu = new GpuAccount({
        meter: opts.gpu.meter,
        idleWatts: opts.gpu.idleWatts,
        maxWatts: opts.maxZoneWatts ?? 0,
        // Every workload that used a GPU is kept as terminated (monitor.minTerminatedEnergyThreshold
        // weighs CPU energy): so its GPU series lasts at least as long as its CPU series, which
        // the 0.7 family's rows, built from the CPU level, rely on to read its GPU energy.
        levels: { maxTerminated: account.maxTerminated, minTerminatedEnergyUj: 0n, terminatedRetentionMs: account.terminatedRetentionMs },
        logger: opts.logger,
      });
    }
  }

  /** Takes the baseline refresh and starts the periodic loop (unless interval is 0). */
  start(): void {
    this.running = true;
    try {
      this.refresh(); // schedules the next one
    } catch {
      // counted and logged by refresh(), which also scheduled the next one
    }
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

  /**
   * The latest snapshot, refreshed first when older than monitor.staleness. When that refresh
   * fails, the previous snapshot is served (its error counts brought up to date): a scrape still
   * answers, and the failure shows in kepler_exporter_refresh_errors_total{kind="refresh"}.
   */
  freshSnapshot(): Snapshot {
    if (this.current === undefined || this.lastRefreshMs === undefined || this.clock() - this.lastRefreshMs > this.opts.stalenessMs) {
      try {
        return this.refresh();
      } catch (err) {
        if (this.current === undefined) throw err;
        return { ...this.current, health: { ...this.current.health, errors: { ...this.errors } } };
      }
    }
    return this.current;
  }

  latest(): Snapshot | undefined {
    return this.current;
  }

  /** An exporter has shown this snapshot: the terminated workloads in it start their retention. */
  acknowledgeExport(s: Snapshot): void {
    const now = this.clock();
    this.processes.markShown(s.processes, now);
    this.containers.markShown(s.containers, now);
    this.vms.markShown(s.vms, now);
    this.pods.markShown(s.pods, now);
    if (s.gpu) this.gpu?.markShown(s.gpu, now);
  }

  /** One refresh; throws (changing nothing, the failure counted) when it cannot complete. */
  refresh(): Snapshot {
    const started = this.clock();
    let snap: Snapshot;
    try {
      const readings = this.readZones(started);
      const gpuReadings = this.gpu?.read(started);
      const sample = this.sampleResources();
      snap = this.commit(this.prepare(readings, sample, started, gpuReadings), started);
    } catch (err) {
      this.errors = { ...this.errors, refresh: this.errors.refresh + 1 };
      this.opts.logger.error('refresh failed; totals unchanged', { err });
      this.schedule();
      throw err;
    }
    this.publish(snap);
    this.schedule();
    return snap;
  }

  /** Step 1: every zone's reading and its delta since the last usable one; no state changes. */
  private readZones(nowMs: number): ZoneReading[] {
    return this.zones.map((z) => {
      const r = this.withParts(z, this.readZone(z, nowMs));
      const droppedParts = z.zone.takeDroppedReadings?.() ?? 0;
      return droppedParts ? { ...r, droppedParts } : r;
    });
  }

  /**
   * A summed zone's reading with its parts' counters, and when it has energy to bill, each part's
   * delta since the parts' last usable counters (the zone's `last`, taken with them).
   */
  private withParts(z: ZoneState, r: ZoneReading): ZoneReading {
    if (r.counter === undefined || !z.zone.partCounters) return r;
    const partCounters = z.zone.partCounters();
    const last = z.lastParts;
    if (r.deltaUj === 0 || !last) return { ...r, partCounters };
    const max = z.zone.maxEnergy();
    return { ...r, partCounters, partDeltasUj: partCounters.map((c, k) => counterDelta(last[k] ?? c, c, max) ?? 0) };
  }

  private readZone(z: ZoneState, nowMs: number): ZoneReading {
    let cur: number;
    try {
      cur = z.zone.energy();
    } catch (err) {
      // A zone that vanishes or turns unreadable keeps its totals and resumes from its last reading.
      return { deltaUj: 0, problem: { kind: 'zone_read', detail: errorMessage(err) } };
    }
    if (!Number.isSafeInteger(cur) || cur < 0) {
      return { deltaUj: 0, problem: { kind: 'zone_read', detail: `reading ${cur} is not a whole number of µJ` } };
    }
    if (z.last === undefined || z.lastMs === undefined) return { counter: cur, deltaUj: 0 };
    const max = z.zone.maxEnergy();
    const d = counterDelta(z.last, cur, max);
    // Either way the new reading is the one to continue from: the counter stays flat.
    if (d === null) return { counter: cur, deltaUj: 0, problem: { kind: 'counter_backwards', detail: `${z.last} -> ${cur} µJ with no known range` } };
    const why = implausibility(d, max, (nowMs - z.lastMs) / 1000, this.opts.maxZoneWatts);
    if (why) return { counter: cur, deltaUj: 0, problem: { kind: 'counter_implausible', detail: `${z.last} -> ${cur} µJ: ${why}` } };
    return { counter: cur, deltaUj: d };
  }

  /** Step 2: the resources' CPU times of the interval; undefined when the informer threw. */
  private sampleResources(): ResourceSample | undefined {
    try {
      return this.opts.resources.refresh();
    } catch (err) {
      // The informer counts per-process problems itself; reaching here is a bug, not a bad process.
      this.opts.logger.error('resource refresh failed', { err });
      return undefined;
    }
  }

  /** Step 3: every total this refresh will publish, computed in locals. */
  private prepare(readings: ZoneReading[], sampled: ResourceSample | undefined, started: number, gpuReadings?: readonly GpuDeviceReading[]): Plan {
    const errors = { ...this.errors };
    for (const [kind, n] of Object.entries(sampled?.errors ?? {}) as [ResourceErrorKind, number][]) errors[kind] += n;
    // Without a sample the interval's usage is unknown: nothing is billed, and the zones keep
    // their last readings (see commit) so that the next refresh bills this interval's energy.
    if (!sampled) errors.resources++;
    const sample = sampled ? usableSample(sampled, () => errors.resources++) : NO_SAMPLE;
    for (const r of readings) {
      if (r.problem) errors[r.problem.kind]++;
      errors.counter_backwards += r.droppedParts ?? 0;
    }

    const activeDeltaUj: number[] = [];
    const idleDeltaUj: number[] = [];
    const zones = this.zones.map((z, i): ZoneSnapshot => {
      const dE = sample.baseline ? 0 : readings[i].deltaUj;
      // The zone's energy covers the time since its last usable reading (more than the interval
      // when it could not be read at the last refresh): its idle is the baseline over that time.
      const spanSec = z.lastMs === undefined ? 0 : (started - z.lastMs) / 1000;
      const { split, baseline } = this.splitZone(z, dE, spanSec, sample.usageRatio);
      const { activeUj, idleUj } = split;
      activeDeltaUj.push(activeUj);
      idleDeltaUj.push(idleUj);
      const zs: ZoneSnapshot = {
        name: z.zone.name,
        index: z.zone.index,
        path: z.zone.path,
        totalUj: z.total + BigInt(dE),
        activeUj: z.active + BigInt(activeUj),
        idleUj: z.idle + BigInt(idleUj),
        deltaUj: dE,
        activeDeltaUj: activeUj,
        idleDeltaUj: idleUj,
        ...(baseline ? { idleBaseline: baseline } : {}),
      };
      if (!z.parts) return zs;
      // Each socket's share of exactly this interval's energy: the sockets add up to the zone.
      const shares = dE > 0 ? splitOverParts(split, readings[i].partDeltasUj ?? z.parts.map(() => 0)) : undefined;
      const parts = z.parts.map((p, k) => {
        const sh = shares?.[k];
        if (!sh) return p;
        return { ...p, totalUj: p.totalUj + BigInt(sh.activeUj + sh.idleUj), activeUj: p.activeUj + BigInt(sh.activeUj), idleUj: p.idleUj + BigInt(sh.idleUj) };
      });
      return { ...zs, parts };
    });

    const cpu = sample.nodeActiveCpuSec;
    // Pods are sums of containers, so they share the container level's denominator: with their
    // own (smaller when skew puts the containers' CPU above the node's), a pod would be billed
    // more than its containers together.
    let containerCpu = 0;
    for (const c of sample.containers) containerCpu += c.cpuDeltaSec;
    const podCpu = Math.max(cpu, containerCpu);
    const policy = this.idle.attribution;
    const idle = (weighed: readonly IdleWeighed[], floorCpu: number): IdleBill | undefined =>
      policy === 'none' ? undefined : { deltaUj: idleDeltaUj, basis: idleBasis(policy, weighed, floorCpu) };
    // Only containers and pods have CPU requests; mapped only when the policy reads them.
    const withRequests = (ws: readonly WorkloadCpu<{ cpuRequestCores: number }>[]): readonly IdleWeighed[] =>
      policy === 'request' ? ws.map((w) => ({ cpuDeltaSec: w.cpuDeltaSec, cpuTotalSec: w.cpuTotalSec, cpuRequestCores: w.info.cpuRequestCores })) : ws;
    const gpu = this.gpu && gpuReadings ? this.gpu.prepare(gpuReadings, sample, started) : undefined;
    for (const [kind, n] of Object.entries(gpu?.errors ?? {}) as [RefreshErrorKind, number][]) errors[kind] += n;
    return {
      readings,
      sample,
      zones,
      gpu,
      processes: this.processes.prepare(sample.processes, activeDeltaUj, cpu, idle(sample.processes, cpu)),
      containers: this.containers.prepare(sample.containers, activeDeltaUj, cpu, idle(withRequests(sample.containers), cpu)),
      vms: this.vms.prepare(sample.vms, activeDeltaUj, cpu, idle(sample.vms, cpu)),
      pods: this.pods.prepare(sample.pods, activeDeltaUj, podCpu, idle(withRequests(sample.pods), podCpu)),
      sampled: sampled !== undefined,
      usageMeasured:
        sampled !== undefined &&
        !sampled.baseline &&
        !sampled.errors.proc_stat &&
        sampled.nodeTotalCpuSec > 0 &&
        Number.isFinite(sampled.nodeTotalCpuSec) &&
        sampled.usageRatio >= 0 &&
        sampled.usageRatio <= 1,
      procStatFailed: (sampled?.errors.proc_stat ?? 0) > 0,
      errors,
    };
  }

  /**
   * A zone's interval split into active and idle by the idle model, and the baseline it used
   * (baseline model only). Reads the learner, never feeds it (commit does).
   */
  private splitZone(z: ZoneState, deltaUj: number, spanSec: number, usageRatio: number): { split: ActiveIdle; baseline?: IdleBaselineSnapshot } {
    if (this.idle.model === 'usage-ratio') return { split: splitActiveIdle(deltaUj, usageRatio) };
    const base = z.knownIdle ?? z.learner?.estimate();
    if (base) return { split: splitByBaseline(deltaUj, base.watts, spanSec), baseline: { watts: base.watts, source: base.source } };
    // Nothing learned yet (the first interval): Kepler's split, and the snapshot says so.
    const split = splitActiveIdle(deltaUj, usageRatio);
    return { split, baseline: { watts: watts(split.idleUj, spanSec), source: 'usage-ratio' } };
  }

  /**
   * Feeds each zone's learner with this interval, when it is one: the zone read usably, the
   * usage ratio was measured (Plan.usageMeasured), and the zone's energy covers the same time as
   * the usage ratio (not when the zone resumes after an unreadable refresh, nor the interval after
   * /proc/stat could not be read). Called in commit, before the readings move on.
   */
  private learn(plan: Plan, started: number): void {
    const after = this.procStatFailed;
    if (plan.sampled) this.procStatFailed = plan.procStatFailed;
    if (!plan.sampled || !plan.usageMeasured || after || this.lastRefreshMs === undefined) return;
    this.zones.forEach((z, i) => {
      const r = plan.readings[i];
      if (!z.learner || r.counter === undefined || r.problem || r.droppedParts || z.lastMs === undefined || z.lastMs !== this.lastRefreshMs) return;
      const spanSec = (started - z.lastMs) / 1000;
      if (spanSec > 0) z.learner.observe(plan.sample.usageRatio, r.deltaUj / 1e6 / spanSec, spanSec, started / 1000);
    });
  }

  /** Says when a zone's idle baseline changes source (lowest -> fitted, say): a few lines in a node's life. */
  private logIdleSources(zones: readonly ZoneSnapshot[]): void {
    this.zones.forEach((z, i) => {
      const b = zones[i].idleBaseline;
      if (!b || b.source === z.idleSource) return;
      const first = z.idleSource === undefined;
      z.idleSource = b.source;
      if (first || b.source === 'usage-ratio') return; // the start-up line says it
      this.opts.logger.info('idle baseline', { zone: z.zone.name, path: z.zone.path, source: b.source, watts: Math.round(b.watts * 100) / 100 });
    });
  }

  /** Step 4: stores the plan and builds the snapshot. Nothing here can fail. */
  private commit(plan: Plan, started: number): Snapshot {
    const elapsedSec = this.lastRefreshMs === undefined ? 0 : (started - this.lastRefreshMs) / 1000;
    this.learn(plan, started);
    this.logIdleSources(plan.zones);
    this.zones.forEach((z, i) => {
      const r = plan.readings[i];
      if (r.counter !== undefined && plan.sampled) {
        z.last = r.counter;
        z.lastMs = started;
        z.lastParts = r.partCounters;
      }
      const zs = plan.zones[i];
      z.total = zs.totalUj;
      z.active = zs.activeUj;
      z.idle = zs.idleUj;
      if (zs.parts) z.parts = zs.parts;
      this.trackZoneHealth(z, r, plan.sample.baseline ? undefined : elapsedSec);
    });
    this.errors = plan.errors;
    // Without a sample the workloads are unknown, not gone: the levels keep their totals, with
    // nothing billed in this interval (a listener adding up deltas must not count any twice).
    const kept = this.current;
    const processes = plan.sampled || !kept ? this.processes.commit(plan.processes, started) : unbilled(kept.processes);
    const containers = plan.sampled || !kept ? this.containers.commit(plan.containers, started) : unbilled(kept.containers);
    const vms = plan.sampled || !kept ? this.vms.commit(plan.vms, started) : unbilled(kept.vms);
    const pods = plan.sampled || !kept ? this.pods.commit(plan.pods, started) : unbilled(kept.pods);
    const gpu = plan.gpu && this.gpu?.commit(plan.gpu, started, plan.sampled, kept?.gpu);

    // The whole refresh, attribution included.
    const duration = (this.clock() - started) / 1000;
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
      zoneFailures: this.zones.map((z) => z.failures),
      zoneStalls: this.zones.map((z) => z.stalls),
    };
    const snap: Snapshot = {
      seq: ++this.seq,
      timestampMs: this.wallClock(),
      monotonicMs: started,
      elapsedSec: plan.sample.baseline ? 0 : elapsedSec,
      usageRatio: plan.sample.usageRatio,
      idleModel: this.idle.model,
      idleAttribution: this.idle.attribution,
      zones: plan.zones,
      processes,
      containers,
      vms,
      pods,
      ...(gpu ? { gpu } : {}),
      platform: (this.opts.platform ?? []).map((p) => ({ name: p.name, errorKinds: p.errorKinds, state: p.state() })),
      health,
    };
    this.current = snap;
    // Without a sample nothing was billed: the next refresh covers this interval too, and its
    // watts are measured over both.
    if (plan.sampled) this.lastRefreshMs = started;
    return snap;
  }

  private publish(snap: Snapshot): void {
    for (const l of this.listeners) {
      try {
        l(snap);
      } catch (err) {
        this.opts.logger.error('snapshot listener failed', { err });
      }
    }
  }

  /**
   * One WARN when a zone's readings turn unusable, one INFO when they are usable again: not a line
   * per refresh. Health counts apart the refreshes a zone could not be read (a restart may pick
   * another meter) and those it read without advancing over at least a second (a frozen counter
   * or a sensor stuck at 0 W; a restart would not help). `elapsedSec` is undefined for a baseline.
   */
  private trackZoneHealth(z: ZoneState, r: ZoneReading, elapsedSec: number | undefined): void {
    const fields = { zone: z.zone.name, path: z.zone.path };
    if (r.problem) {
      if (z.troubled === 0) this.opts.logger.warn('zone reading unusable; its totals stay flat until it reads again', { ...fields, kind: r.problem.kind, err: r.problem.detail });
      else this.opts.logger.debug('zone reading still unusable', { ...fields, kind: r.problem.kind, err: r.problem.detail });
      z.troubled++;
    } else if (z.troubled > 0) {
      this.opts.logger.info('zone reading again', { ...fields, failed_refreshes: z.troubled });
      z.troubled = 0;
    }
    z.failures = r.problem?.kind === 'zone_read' ? z.failures + 1 : 0;
    if (elapsedSec !== undefined && elapsedSec >= 1 && !r.problem) z.stalls = r.deltaUj === 0 ? z.stalls + 1 : 0;
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
      } catch {
        // counted, logged and rescheduled by refresh()
      }
    }, this.opts.intervalMs);
    this.timer.unref();
  }
}

/**
 * The sample with every CPU time a finite number >= 0 and the usage ratio within [0, 1]: an
 * informer bug must neither make the arithmetic throw half way nor bill NaN. Each value replaced
 * is reported through `replaced`.
 */
function usableSample(s: ResourceSample, replaced: () => void): ResourceSample {
  const ok = (v: number) => Number.isFinite(v) && v >= 0;
  const okLevel = (ws: readonly { cpuDeltaSec: number; cpuTotalSec: number }[]) => ws.every((w) => ok(w.cpuDeltaSec) && ok(w.cpuTotalSec));
  const ratioOk = s.usageRatio >= 0 && s.usageRatio <= 1;
  if (ok(s.nodeActiveCpuSec) && ok(s.nodeTotalCpuSec) && ratioOk && okLevel(s.processes) && okLevel(s.containers) && okLevel(s.vms) && okLevel(s.pods)) return s;
  const fix = (v: number) => {
    if (ok(v)) return v;
    replaced();
    return 0;
  };
  const fixLevel = <W extends { cpuDeltaSec: number; cpuTotalSec: number }>(ws: readonly W[]): W[] =>
    ws.map((w) => ({ ...w, cpuDeltaSec: fix(w.cpuDeltaSec), cpuTotalSec: fix(w.cpuTotalSec) }));
  if (!ratioOk) replaced();
  return {
    ...s,
    nodeActiveCpuSec: fix(s.nodeActiveCpuSec),
    nodeTotalCpuSec: fix(s.nodeTotalCpuSec),
    usageRatio: ratioOk ? s.usageRatio : 0,
    processes: fixLevel(s.processes),
    containers: fixLevel(s.containers),
    vms: fixLevel(s.vms),
    pods: fixLevel(s.pods),
  };
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
