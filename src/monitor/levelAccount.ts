// Running energy totals of one workload level (processes, containers, VMs or pods): bills each
// interval's shares, keeps the unattributed remainder, and hands ended workloads to the
// terminated tracker.

import type { WorkloadCpu } from '../resource/workloads.js';
import { attributeLevel } from './attribution.js';
import type { LevelSnapshot, WorkloadEnergy } from './snapshot.js';
import { TerminatedTracker } from './terminatedTracker.js';

export class LevelAccount<I extends { key: string }> {
  private readonly totals = new Map<string, bigint[]>();
  private unattributed: bigint[];
  readonly terminated: TerminatedTracker<I>;
  /** What the last bill() charged, ended workloads included (kept as terminated or not). */
  lastInterval: readonly WorkloadEnergy<I>[] = [];

  constructor(
    private readonly zoneCount: number,
    maxTerminated: number,
    minTerminatedEnergyUj: bigint,
  ) {
    this.unattributed = new Array<bigint>(zoneCount).fill(0n);
    this.terminated = new TerminatedTracker<I>(maxTerminated, minTerminatedEnergyUj);
  }

  bill(workloads: readonly WorkloadCpu<I>[], activeDeltaUj: readonly number[], nodeActiveCpuSec: number): LevelSnapshot<I> {
    const { sharesUj, unattributedUj } = attributeLevel(
      activeDeltaUj,
      workloads.map((w) => w.cpuDeltaSec),
      nodeActiveCpuSec,
    );
    this.unattributed = this.unattributed.map((u, z) => u + BigInt(unattributedUj[z]));
    this.terminated.nextInterval();
    const running: WorkloadEnergy<I>[] = [];
    const billed: WorkloadEnergy<I>[] = [];
    workloads.forEach((w, i) => {
      const shares = sharesUj[i];
      let total = this.totals.get(w.info.key);
      if (!total) total = new Array<bigint>(this.zoneCount).fill(0n);
      // A new array each time: snapshots already published keep the totals they were given.
      const next = total.map((t, z) => (shares[z] ? t + BigInt(shares[z]) : t));
      const energy: WorkloadEnergy<I> = {
        info: w.info,
        state: w.ended ? 'terminated' : 'running',
        cpuTotalSec: w.cpuTotalSec,
        energyUj: next,
        deltaUj: shares,
      };
      billed.push(energy);
      if (w.ended) {
        this.totals.delete(w.info.key);
        this.terminated.add(energy);
      } else {
        this.totals.set(w.info.key, next);
        running.push(energy);
      }
    });
    this.lastInterval = billed;
    return {
      workloads: running.concat(this.terminated.list()),
      unattributedUj: this.unattributed,
      unattributedDeltaUj: unattributedUj,
    };
  }
}
