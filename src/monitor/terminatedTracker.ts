// Workloads that ended, kept with state="terminated" and their final totals (attribution.md
// section 4, with a retention): at most maxTerminated of them (0 none, any negative value unlimited), the
// highest-energy first, none under the energy threshold. Each is kept until a scrape has shown
// it and `retentionMs` has passed since, so that every scraper of an HA pair sees it.

import type { WorkloadEnergy } from './snapshot.js';

/** A workload's energy for ranking: its largest zone (zones overlap, so they are not summed). */
export function rankEnergyUj(w: WorkloadEnergy<unknown>): bigint {
  let max = 0n;
  for (const e of w.energyUj) if (e > max) max = e;
  return max;
}

interface Kept<I> {
  energy: WorkloadEnergy<I>;
  /** Monotonic ms of the first export that showed it as terminated. */
  firstShownMs?: number;
}

export class TerminatedTracker<I> {
  private items: Kept<I>[] = [];

  constructor(
    private readonly maxTerminated: number,
    private readonly minEnergyUj: bigint,
    private readonly retentionMs: number,
  ) {}

  /** Keeps `w` if it qualifies; returns whatever is not kept (w itself, or an evicted one). */
  add(w: WorkloadEnergy<I>): WorkloadEnergy<I>[] {
    if (this.maxTerminated === 0 || rankEnergyUj(w) < this.minEnergyUj) return [w];
    this.items.push({ energy: w });
    if (this.maxTerminated < 0 || this.items.length <= this.maxTerminated) return [];
    // Evict the lowest-energy ones: rare enough that a sort per overflow is fine.
    this.items.sort((a, b) => {
      const ra = rankEnergyUj(a.energy);
      const rb = rankEnergyUj(b.energy);
      return rb > ra ? 1 : rb < ra ? -1 : 0;
    });
    return this.items.splice(this.maxTerminated).map((k) => k.energy);
  }

  list(): WorkloadEnergy<I>[] {
    return this.items.map((k) => k.energy);
  }

  /**
   * Starts a new interval at `nowMs`: drops the ones shown at least `retentionMs` ago (returned),
   * and zeroes the deltas of the rest. Those used no energy in this interval; their totals stay.
   * Otherwise a workload that ended would keep reporting its last power until it is dropped,
   * and a level's watts would add up to more than the node's.
   */
  nextInterval(nowMs: number): WorkloadEnergy<I>[] {
    const removed: WorkloadEnergy<I>[] = [];
    const kept: Kept<I>[] = [];
    for (const k of this.items) {
      if (k.firstShownMs !== undefined && nowMs - k.firstShownMs >= this.retentionMs) {
        removed.push(k.energy);
        continue;
      }
      if (k.energy.deltaUj.some((d) => d !== 0) || k.energy.idleDeltaUj?.some((d) => d !== 0)) k.energy = withoutDeltas(k.energy);
      kept.push(k);
    }
    this.items = kept;
    return removed;
  }

  /** An exporter showed these workloads (matched by info: nextInterval copies entries) at `nowMs`. */
  markShown(shownInfos: ReadonlySet<unknown>, nowMs: number): void {
    for (const k of this.items) if (k.firstShownMs === undefined && shownInfos.has(k.energy.info)) k.firstShownMs = nowMs;
  }
}

/** The workload with its totals and no energy in the interval (its idle share included). */
function withoutDeltas<I>(w: WorkloadEnergy<I>): WorkloadEnergy<I> {
  const out = { ...w, deltaUj: w.deltaUj.map(() => 0) };
  return w.idleDeltaUj ? { ...out, idleDeltaUj: w.idleDeltaUj.map(() => 0) } : out;
}
