// Running energy totals of one workload level (processes, containers, VMs or pods): bills each
// interval's shares, keeps the unattributed remainder, hands ended workloads to the terminated
// tracker, and counts as dropped the energy that no export will ever show.
//
// Billing is two-phase so that a refresh completes or changes nothing: prepare() computes every
// new total without touching the account (and throws on a number it cannot use), commit()
// stores them and cannot fail.

import type { WorkloadCpu } from '../resource/workloads.js';
import { attributeLevel } from './attribution.js';
import type { LevelSnapshot, WorkloadEnergy } from './snapshot.js';
import { TerminatedTracker, type Removed } from './terminatedTracker.js';

/** One workload's account: its totals, and the totals an export last showed of it. */
interface Ledger {
  totals: readonly bigint[];
  shown: readonly bigint[] | undefined;
}

export interface LevelAccountOptions {
  zoneCount: number;
  /** 0 keeps no terminated workload, -1 keeps every one. */
  maxTerminated: number;
  minTerminatedEnergyUj: bigint;
  /** How long a terminated workload stays after an export first showed it, ms. */
  terminatedRetentionMs: number;
}

/** The outcome of one interval's billing, computed but not yet stored. */
export interface PreparedBill<I> {
  readonly billed: readonly WorkloadEnergy<I>[];
  readonly ended: readonly boolean[];
  readonly unattributedUj: readonly bigint[];
  readonly unattributedDeltaUj: readonly number[];
}

export class LevelAccount<I extends { key: string }> {
  private readonly ledgers = new Map<string, Ledger>();
  private unattributed: bigint[];
  private dropped: bigint[];
  private readonly terminated: TerminatedTracker<I, Ledger>;
  /** What the last commit() charged, ended workloads included (kept as terminated or not). */
  lastInterval: readonly WorkloadEnergy<I>[] = [];

  constructor(private readonly opts: LevelAccountOptions) {
    this.unattributed = new Array<bigint>(opts.zoneCount).fill(0n);
    this.dropped = new Array<bigint>(opts.zoneCount).fill(0n);
    this.terminated = new TerminatedTracker(opts.maxTerminated, opts.minTerminatedEnergyUj, opts.terminatedRetentionMs);
  }

  /** Pure with respect to the account: the shares of this interval and every new total. */
  prepare(workloads: readonly WorkloadCpu<I>[], activeDeltaUj: readonly number[], nodeActiveCpuSec: number): PreparedBill<I> {
    const { sharesUj, unattributedUj } = attributeLevel(
      activeDeltaUj,
      workloads.map((w) => w.cpuDeltaSec),
      nodeActiveCpuSec,
    );
    const zeros = new Array<bigint>(this.opts.zoneCount).fill(0n);
    const billed = workloads.map((w, i): WorkloadEnergy<I> => {
      const shares = sharesUj[i];
      const total = this.ledgers.get(w.info.key)?.totals ?? zeros;
      return {
        info: w.info,
        state: w.ended ? 'terminated' : 'running',
        cpuTotalSec: w.cpuTotalSec,
        // A new array each time: snapshots already published keep the totals they were given.
        energyUj: total.map((t, z) => (shares[z] ? t + BigInt(shares[z]) : t)),
        deltaUj: shares,
      };
    });
    return {
      billed,
      ended: workloads.map((w) => w.ended),
      unattributedUj: this.unattributed.map((u, z) => u + BigInt(unattributedUj[z])),
      unattributedDeltaUj: unattributedUj,
    };
  }

  /** Stores a prepared bill made at monotonic `nowMs`; returns the level's snapshot. */
  commit(p: PreparedBill<I>, nowMs: number): LevelSnapshot<I> {
    this.unattributed = [...p.unattributedUj];
    const dropped = [...this.dropped];
    const drop = (removed: Removed<I, Ledger>[]) => {
      for (const r of removed) {
        // What no export showed: all of it, or what it used since the last export that did.
        const shownUj = r.shown ? r.energy.energyUj : r.tag.shown;
        r.energy.energyUj.forEach((e, z) => (dropped[z] += e - (shownUj?.[z] ?? 0n)));
      }
    };
    drop(this.terminated.nextInterval(nowMs));
    const running: WorkloadEnergy<I>[] = [];
    p.billed.forEach((energy, i) => {
      const key = energy.info.key;
      let ledger = this.ledgers.get(key);
      if (ledger) ledger.totals = energy.energyUj;
      else ledger = { totals: energy.energyUj, shown: undefined };
      if (p.ended[i]) {
        this.ledgers.delete(key);
        drop(this.terminated.add(energy, ledger));
      } else {
        this.ledgers.set(key, ledger);
        running.push(energy);
      }
    });
    this.dropped = dropped;
    this.lastInterval = p.billed;
    return {
      workloads: running.concat(this.terminated.list()),
      unattributedUj: this.unattributed,
      unattributedDeltaUj: p.unattributedDeltaUj,
      droppedUj: this.dropped,
    };
  }

  bill(workloads: readonly WorkloadCpu<I>[], activeDeltaUj: readonly number[], nodeActiveCpuSec: number, nowMs = 0): LevelSnapshot<I> {
    return this.commit(this.prepare(workloads, activeDeltaUj, nodeActiveCpuSec), nowMs);
  }

  /** An export showed this level's snapshot at monotonic `nowMs`. */
  markShown(level: LevelSnapshot<I>, nowMs: number): void {
    const shownTerminated = new Set<unknown>();
    for (const w of level.workloads) {
      if (w.state === 'terminated') {
        shownTerminated.add(w.info);
        continue;
      }
      const ledger = this.ledgers.get(w.info.key);
      // The same workload only: its totals never fall below what an export showed of it. (A
      // refresh between render and acknowledgement may have replaced the one under this key.)
      if (ledger && ledger.totals.every((t, z) => t >= w.energyUj[z])) ledger.shown = w.energyUj;
    }
    if (shownTerminated.size) this.terminated.markShown(shownTerminated, nowMs);
  }
}
