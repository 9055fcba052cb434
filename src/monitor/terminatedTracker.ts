// Workloads that ended, kept for one export with state="terminated" and their final totals
// (attribution.md section 4): at most maxTerminated (0 none, -1 unlimited), the highest-energy
// first, none under the energy threshold.

import type { WorkloadEnergy } from './snapshot.js';

/** A workload's energy for ranking: its largest zone (zones overlap, so they are not summed). */
export function rankEnergyUj(w: WorkloadEnergy<unknown>): bigint {
  let max = 0n;
  for (const e of w.energyUj) if (e > max) max = e;
  return max;
}

export class TerminatedTracker<I> {
  private items: WorkloadEnergy<I>[] = [];

  constructor(
    private readonly maxTerminated: number,
    private readonly minEnergyUj: bigint,
  ) {}

  add(w: WorkloadEnergy<I>): void {
    if (this.maxTerminated === 0 || rankEnergyUj(w) < this.minEnergyUj) return;
    this.items.push(w);
    if (this.maxTerminated > 0 && this.items.length > this.maxTerminated) {
      // Evict the lowest-energy one: rare enough that a sort per overflow is fine.
      this.items.sort((a, b) => (rankEnergyUj(b) > rankEnergyUj(a) ? 1 : rankEnergyUj(b) < rankEnergyUj(a) ? -1 : 0));
      this.items.length = this.maxTerminated;
    }
  }

  list(): readonly WorkloadEnergy<I>[] {
    return this.items;
  }

  /**
   * Starts a new interval: the ones kept from earlier intervals used no energy in it, so their
   * deltas (and watts) become 0; their totals stay. Otherwise a workload that ended would keep
   * reporting its last power for every refresh until a scrape, and a level's watts would add up
   * to more than the node's.
   */
  nextInterval(): void {
    this.items = this.items.map((w) => (w.deltaUj.some((d) => d !== 0) ? { ...w, deltaUj: w.deltaUj.map(() => 0) } : w));
  }

  /** Drops the ones an exporter has now shown (matched by info: nextInterval copies entries). */
  remove(exportedInfos: ReadonlySet<unknown>): void {
    if (exportedInfos.size) this.items = this.items.filter((w) => !exportedInfos.has(w.info));
  }
}
