// The immutable result of one refresh. Exporters read only snapshots; the monitor never changes
// one after publishing it.

import { RESOURCE_ERROR_KINDS, type ContainerInfo, type PodInfo, type ProcessInfo, type VmInfo } from '../resource/workloads.js';
import type { PlatformState } from '../device/platform/platformSource.js';
import type { IdleAttribution } from './attribution.js';

export type WorkloadState = 'running' | 'terminated';

/** The idle model of the node (monitor.idle.model). */
export type IdleModel = 'baseline' | 'usage-ratio';

/**
 * Where a zone's idle power of an interval came from (model baseline): pinned by
 * monitor.idle.watts, the estimator's own zero-load power, a fit of power against usage
 * (IdleBaseline), the lowest power seen while the usage has not varied enough for a fit, or
 * Kepler's usage-ratio split while nothing has been learned yet (the first interval).
 */
export type IdleSource = 'pinned' | 'estimator' | 'fitted' | 'lowest' | 'usage-ratio';

/** A zone's idle baseline as the interval used it (kepler_node_cpu_idle_baseline_watts). */
export interface IdleBaselineSnapshot {
  /** Zero-load watts of the zone (node total); with source usage-ratio, the idle watts the split gave. */
  readonly watts: number;
  readonly source: IdleSource;
}

/** A meter's energy, split into active and idle: a CPU zone's or a GPU's. total = active + idle. */
export interface EnergySplit {
  /** Totals since the exporter started, exact µJ (they pass 2^53 within days at 10 kW). */
  readonly totalUj: bigint;
  readonly activeUj: bigint;
  readonly idleUj: bigint;
  /** This interval's energy, µJ. */
  readonly deltaUj: number;
  readonly activeDeltaUj: number;
  readonly idleDeltaUj: number;
}

export interface ZoneSnapshot extends EnergySplit {
  readonly name: string;
  readonly index: number;
  readonly path: string;
  /** With monitor.idle.model baseline: the baseline the interval's idle came from; absent with usage-ratio. */
  readonly idleBaseline?: IdleBaselineSnapshot;
  /**
   * A summed zone's parts (one per socket), in the meter's order; absent for a single counter.
   * In every snapshot the parts add up to the zone exactly, in total, active and idle.
   */
  readonly parts?: readonly ZonePartSnapshot[];
}

/** One socket of a summed zone: totals since the exporter started, exact µJ. */
export interface ZonePartSnapshot {
  /** The socket (the part's own zone index). */
  readonly index: number;
  readonly path: string;
  readonly totalUj: bigint;
  readonly activeUj: bigint;
  readonly idleUj: bigint;
}

export interface WorkloadEnergy<I> {
  readonly info: I;
  readonly state: WorkloadState;
  readonly cpuTotalSec: number;
  /** CPU seconds it used in this interval (0 for one that ended in it). */
  readonly cpuDeltaSec: number;
  /** Per zone, in the order of Snapshot.zones. */
  readonly energyUj: readonly bigint[];
  readonly deltaUj: readonly number[];
  /**
   * Per zone, with monitor.idle.attribution other than none: its share of the node's idle energy,
   * totals since start (kepler_<level>_cpu_idle_joules_total) and this interval's. Apart from
   * energyUj, which stays Kepler's active-only energy.
   */
  readonly idleUj?: readonly bigint[];
  readonly idleDeltaUj?: readonly number[];
}

/** A level's idle energy that no workload carries, with monitor.idle.attribution other than none. */
export interface LevelIdleSnapshot {
  /**
   * Per zone, totals since start (kepler_node_cpu_unattributed_idle_joules_total): the idle
   * energy the policy gave no workload of the level (no CPU time, no request, rounding), plus the
   * idle totals of the level's workloads whose series ended (they leave the exposition, their
   * idle stays in the sum). So in every snapshot, per zone: the level's workloads' idle + this =
   * node idle, exactly.
   */
  readonly unattributedUj: readonly bigint[];
  /** This interval's idle energy the policy gave no workload (without the ended workloads' totals). */
  readonly unattributedDeltaUj: readonly number[];
}

export interface LevelSnapshot<I> {
  /** Running workloads, then the terminated ones kept for one export. */
  readonly workloads: readonly WorkloadEnergy<I>[];
  /** Per zone: active energy no workload of this level explains (kepler_node_cpu_unattributed_joules_total). */
  readonly unattributedUj: readonly bigint[];
  readonly unattributedDeltaUj: readonly number[];
  /**
   * Per zone: totals since start of the workloads of this level that left the exposition
   * (kepler_node_cpu_dropped_joules_total): ended and not kept (under
   * minTerminatedEnergyThreshold, beyond maxTerminated), or kept and past their retention. With
   * it, in every snapshot: the level's workloads + unattributed + dropped = node active, per zone.
   */
  readonly droppedUj: readonly bigint[];
  /** Every workload billed this interval, ended ones included whether kept or not. */
  readonly billed: readonly WorkloadEnergy<I>[];
  /** Present with monitor.idle.attribution other than none. */
  readonly idle?: LevelIdleSnapshot;
}

/**
 * Every kind of problem a refresh counts: the resource layer's, then the monitor's own. All are
 * exported from the start, at 0, so that rate() and alerts work before the first occurrence.
 */
export const REFRESH_ERROR_KINDS = [
  ...RESOURCE_ERROR_KINDS,
  'zone_read',
  'counter_backwards', // an interval dropped: a counter went backwards with no known range
  'counter_implausible', // an interval dropped: a step beyond the counter's range or above monitor.maxZoneWatts
  'gpu_read', // a GPU's energy could not be read (an NVML error): its totals stay flat
  'gpu_counter_reset', // a GPU's energy counter restarted (driver reload): the energy since the restart is billed
  'resources', // the resource refresh threw, or gave a CPU time that is not a finite number >= 0 (a bug, not a bad process)
  'refresh', // the refresh itself threw
] as const;
export type RefreshErrorKind = (typeof REFRESH_ERROR_KINDS)[number];

export interface RefreshHealth {
  readonly refreshes: number;
  /** Seconds the last refresh took. */
  readonly lastDurationSec: number;
  /** Cumulative histogram of refresh durations: counts per upper bound (seconds), plus sum. */
  readonly durationBuckets: readonly { le: number; count: number }[];
  readonly durationSumSec: number;
  /** Problems since start, by kind (process_vanished, zone_read, cgroup_fallback, ...). */
  readonly errors: Readonly<Record<RefreshErrorKind, number>>;
  /** Per zone, in the order of Snapshot.zones: consecutive refreshes whose zone could not be read. */
  readonly zoneFailures: readonly number[];
  /** Per zone: consecutive refreshes (of at least a second) in which a readable zone did not advance. */
  readonly zoneStalls: readonly number[];
}

/** Where a GPU's idle power of an interval came from. */
export type GpuIdleSource = 'configured' | 'lowest' | 'unknown';

/** How a GPU's active energy of an interval was split between its processes. */
export type GpuSharing = 'time-slicing' | 'exclusive' | 'mig';

/** One GPU (a zone of the GPU levels: workloads' energyUj[g] is on Snapshot.gpu.devices[g]). */
export interface GpuDeviceSnapshot extends EnergySplit {
  readonly index: number;
  readonly uuid: string;
  readonly name: string;
  readonly vendor: string;
  /**
   * Zero-load watts the interval's idle came from: experimental.gpu.idlePower (configured), the
   * lowest power seen over an interval with no compute process (lowest), or none seen yet
   * (unknown: 0 W, all of the energy active).
   */
  readonly idleBaseline: { readonly watts: number; readonly source: GpuIdleSource };
  readonly sharing: GpuSharing;
}

/**
 * The GPUs and their workloads, present when a GPU meter is in use. The levels' zones are the
 * GPUs: in every snapshot, per GPU and level, workloads + unattributed + dropped = active, exactly.
 */
export interface GpuSnapshot {
  readonly devices: readonly GpuDeviceSnapshot[];
  readonly processes: LevelSnapshot<ProcessInfo>;
  readonly containers: LevelSnapshot<ContainerInfo>;
  readonly vms: LevelSnapshot<VmInfo>;
  readonly pods: LevelSnapshot<PodInfo>;
}

/** A platform source (redfish, acpi) as the refresh found it. */
export interface PlatformSourceSnapshot {
  readonly name: 'redfish' | 'acpi';
  /** Its error kinds, exported from the start at 0. */
  readonly errorKinds: readonly string[];
  readonly state: PlatformState;
}

export interface Snapshot {
  readonly seq: number;
  /** Wall-clock time of the refresh, ms since the epoch. */
  readonly timestampMs: number;
  /** Monotonic time of the refresh, ms. */
  readonly monotonicMs: number;
  /** Length of the interval this snapshot's deltas cover, seconds; 0 for the first (baseline). */
  readonly elapsedSec: number;
  readonly usageRatio: number;
  /** monitor.idle.model and monitor.idle.attribution, as the monitor applies them. */
  readonly idleModel: IdleModel;
  readonly idleAttribution: IdleAttribution;
  readonly zones: readonly ZoneSnapshot[];
  readonly processes: LevelSnapshot<ProcessInfo>;
  readonly containers: LevelSnapshot<ContainerInfo>;
  readonly vms: LevelSnapshot<VmInfo>;
  readonly pods: LevelSnapshot<PodInfo>;
  /** GPU power (experimental.gpu.enabled with a readable GPU); absent otherwise. */
  readonly gpu?: GpuSnapshot;
  /** Platform power sources (Redfish, ACPI power_meter): their latest readings; empty without any. */
  readonly platform: readonly PlatformSourceSnapshot[];
  readonly health: RefreshHealth;
}

/** Watts of an interval's energy; 0 for the baseline snapshot. */
export function watts(deltaUj: number, elapsedSec: number): number {
  return elapsedSec > 0 ? deltaUj / 1e6 / elapsedSec : 0;
}
