// The arithmetic of GPU attribution, per GPU and interval: who used the GPU and with what weight
// (its compute mode decides), the active energy apportioned over them in whole µJ, and the idle
// power learned from intervals with no compute process. Pure functions: no I/O, no clock.

import type { GpuReading } from '../device/gpu/gpuMeter.js';
import type { GpuSharing } from './snapshot.js';
import { apportion } from './attribution.js';

/** What attribution reads of a GPU reading. */
export type GpuUse = Pick<GpuReading, 'computeMode' | 'mig' | 'processes' | 'utilization' | 'instanceActivity'>;

export interface GpuWeights {
  readonly sharing: GpuSharing;
  /** Weight of each pid in the interval's active energy; only pids with a weight > 0. */
  readonly weights: ReadonlyMap<number, number>;
}

/**
 * Each process's weight in a GPU's active energy of one interval:
 * - MIG: per GPU instance, by its graphics engine activity (dcgm-exporter) when every instance
 *   with a process has one and they are not all 0, else equally; within an instance, its
 *   processes equally (NVML gives no per-process utilization under MIG).
 * - Exclusive compute mode: the process holding the GPU (the running processes, equally).
 * - Time-slicing (default mode): each process's SM utilization over the interval, the samples of
 *   processes that ended within it included; the running processes equally when there are no
 *   samples (or they are all 0).
 * Empty when the processes cannot be listed, or none ran: the energy stays unattributed.
 */
export function gpuWeights(use: GpuUse): GpuWeights {
  const running = use.processes ?? [];
  if (use.mig) return { sharing: 'mig', weights: migWeights(running, use.instanceActivity) };
  if (use.computeMode === 'exclusive') return { sharing: 'exclusive', weights: equally(running.map((p) => p.pid)) };
  const weights = new Map<number, number>();
  for (const u of use.utilization ?? []) if (u.smUtil > 0) weights.set(u.pid, (weights.get(u.pid) ?? 0) + u.smUtil);
  return { sharing: 'time-slicing', weights: weights.size > 0 ? weights : equally(running.map((p) => p.pid)) };
}

function equally(pids: readonly number[]): Map<number, number> {
  return new Map(pids.map((pid) => [pid, 1]));
}

function migWeights(running: NonNullable<GpuReading['processes']>, activity: ReadonlyMap<number, number> | undefined): Map<number, number> {
  const byInstance = new Map<number, number[]>();
  for (const p of running) {
    const gi = p.gpuInstanceId ?? -1;
    const pids = byInstance.get(gi);
    if (pids) pids.push(p.pid);
    else byInstance.set(gi, [p.pid]);
  }
  const known = activity !== undefined && [...byInstance.keys()].every((gi) => Number.isFinite(activity.get(gi)) && (activity.get(gi) ?? 0) >= 0);
  const measured = known && [...byInstance.keys()].some((gi) => (activity.get(gi) ?? 0) > 0);
  const weights = new Map<number, number>();
  for (const [gi, pids] of byInstance) {
    const instance = measured ? (activity?.get(gi) ?? 0) : 1;
    for (const pid of pids) weights.set(pid, (weights.get(pid) ?? 0) + instance / pids.length);
  }
  return weights;
}

/**
 * Weights as whole numbers for apportion (exact in BigInt), summing to about this: fine enough that
 * each share is within 1 µJ of its exact ratio for any interval below 1e15 µJ (a GW for a second).
 */
const WEIGHT_SCALE = 1e15;

/**
 * A GPU's active energy of one interval over the weighted pids, in whole µJ: the shares add up to
 * `activeUj` exactly when there is any weight > 0; nothing is shared otherwise.
 */
export function apportionGpu(activeUj: number, weights: ReadonlyMap<number, number>): Map<number, number> {
  const pids = [...weights.keys()].filter((pid) => (weights.get(pid) ?? 0) > 0);
  let sum = 0;
  for (const pid of pids) sum += weights.get(pid) ?? 0;
  if (pids.length === 0 || !(sum > 0) || activeUj <= 0) return new Map();
  const shares = apportion(
    activeUj,
    pids.map((pid) => ((weights.get(pid) ?? 0) / sum) * WEIGHT_SCALE),
  );
  return new Map(pids.map((pid, i) => [pid, shares[i]]));
}

/**
 * Kepler's idle rule, one interval at a time: the lowest power seen over an interval in which no
 * compute process ran (none listed at either end, no utilization sample). Undefined until one.
 */
export function lowestIdleWatts(lowest: number | undefined, intervalWatts: number, idleInterval: boolean): number | undefined {
  if (!idleInterval || !Number.isFinite(intervalWatts) || intervalWatts < 0) return lowest;
  return lowest === undefined ? intervalWatts : Math.min(lowest, intervalWatts);
}

/** Whether a reading shows no compute work: no process listed and no utilization sample. */
export function showsNoWork(use: GpuUse): boolean {
  return use.processes !== undefined && use.processes.length === 0 && (use.utilization ?? []).every((u) => u.smUtil <= 0);
}
