// Kepler 0.7's two pseudo containers, `kernel_processes` and `system_processes`, hold the energy
// no container explains: the container level's unattributed energy, split each interval by what
// kernel threads were billed at process level. Kept here, beside the 0.7 collector, as a
// snapshot listener: the monitor knows nothing of the 0.7 family.
//
// With monitor.idle.attribution the same goes for idle (mode="idle"): kernel_processes gets, each
// interval, the part of the container level's unattributed idle that kernel threads were given at
// process level, and system_processes the rest of the container level's unattributed idle total,
// which also holds the idle of containers whose series ended. So the real and pseudo containers'
// idle add up to the node's idle exactly.

import type { Snapshot } from '../../monitor/snapshot.js';

/** Per zone, totals since start; kernelUj + systemUj = the container level's unattributed energy. */
export interface OutsideContainers {
  readonly kernelUj: readonly bigint[];
  readonly systemUj: readonly bigint[];
  /** With idle attribution: kernelIdleUj + systemIdleUj = the container level's unattributed idle. */
  readonly kernelIdleUj?: readonly bigint[];
  readonly systemIdleUj?: readonly bigint[];
}

/**
 * The container level's unattributed energy of one interval (everything that ran outside a
 * container, plus what nothing explains), split for Kepler 0.7's pseudo containers: the part
 * kernel threads were billed at process level goes to `kernel_processes` (never more than there
 * is), the rest to `system_processes`. Per zone; kernel + system = unattributed exactly. Pure.
 */
export function splitOutsideContainers(unattributedUj: readonly number[], kernelThreadsUj: readonly number[]): { kernelUj: number[]; systemUj: number[] } {
  const kernelUj = unattributedUj.map((u, z) => Math.min(Math.max(u, 0), Math.max(kernelThreadsUj[z] ?? 0, 0)));
  return { kernelUj, systemUj: unattributedUj.map((u, z) => u - kernelUj[z]) };
}

/** Accumulates the split over every published snapshot (monitor.onSnapshot). */
export class OutsideContainersAccount {
  private totals: OutsideContainers | undefined;
  private seq = 0;

  /** Register with the monitor before its first refresh: every interval must be seen. */
  readonly onSnapshot = (s: Snapshot): void => {
    if (s.seq <= this.seq) return;
    this.seq = s.seq;
    const zeros = () => s.zones.map(() => 0n);
    const prev = this.totals ?? { kernelUj: zeros(), systemUj: zeros() };
    // This interval's charges, with kernel threads that ended in it whether or not they are kept
    // for a terminated export (under minTerminatedEnergyThreshold they are not).
    const kernelThreadsUj = s.zones.map(() => 0);
    for (const w of s.processes.billed) {
      if (w.info.kernelThread) w.deltaUj.forEach((d, z) => (kernelThreadsUj[z] += d));
    }
    const { kernelUj, systemUj } = splitOutsideContainers(s.containers.unattributedDeltaUj, kernelThreadsUj);
    // New arrays: what a render already read keeps its values.
    const totals: OutsideContainers = {
      kernelUj: prev.kernelUj.map((t, z) => t + BigInt(kernelUj[z])),
      systemUj: prev.systemUj.map((t, z) => t + BigInt(systemUj[z])),
    };
    const idle = s.containers.idle;
    if (!idle) {
      this.totals = totals;
      return;
    }
    const kernelThreadsIdleUj = s.zones.map(() => 0);
    for (const w of s.processes.billed) {
      if (w.info.kernelThread && w.idleDeltaUj) w.idleDeltaUj.forEach((d, z) => (kernelThreadsIdleUj[z] += d));
    }
    // The kernel part of each interval's unattributed idle, never more than it: so the system
    // part, the rest of the unattributed idle total, never goes down.
    const kernelIdle = splitOutsideContainers(idle.unattributedDeltaUj, kernelThreadsIdleUj).kernelUj;
    const kernelIdleUj = (prev.kernelIdleUj ?? zeros()).map((t, z) => t + BigInt(kernelIdle[z]));
    this.totals = { ...totals, kernelIdleUj, systemIdleUj: idle.unattributedUj.map((u, z) => u - kernelIdleUj[z]) };
  };

  /** The totals as of the latest snapshot seen. */
  current(zoneCount: number): OutsideContainers {
    return this.totals ?? { kernelUj: new Array<bigint>(zoneCount).fill(0n), systemUj: new Array<bigint>(zoneCount).fill(0n) };
  }
}
