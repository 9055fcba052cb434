// Running energy totals of one workload level (processes, containers, VMs or pods): bills each
// interval's shares, keeps the unattributed remainder, hands ended workloads to the terminated
// tracker, and counts as dropped the totals of every workload that leaves the exposition.
//
// Billing is two-phase so that a refresh completes or changes nothing: prepare() computes every
// new total without touching the account, commit() stores them and cannot fail.

import type { WorkloadCpu } from '../resource/workloads.js';
import { attributeLevel } from './attribution.js';
import type { LevelSnapshot, WorkloadEnergy } from './snapshot.js';
import { TerminatedTracker } from './terminatedTracker.js';

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
  /** Every workload charged this interval, ended ones included. */
  readonly billed: readonly WorkloadEnergy<I>[];
  readonly ended: readonly boolean[];
  readonly unattributedUj: readonly bigint[];
  readonly unattributedDeltaUj: readonly number[];
}

/** A running workload's totals, and the refresh that last billed it. */
interface Ledger {
  totals: readonly bigint[];
  seen: number;
}

export class LevelAccount<I extends { key: string }> {
  private readonly ledgers = new Map<string, Ledger>();
  private unattributed: bigint[];
  private dropped: bigint[];
  private readonly terminated: TerminatedTracker<I>;
  private generation = 0;

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
    const gen = ++this.generation;
    this.unattributed = [...p.unattributedUj];
    const dropped = [...this.dropped];
    // Whatever leaves the exposition takes its totals to dropped, so that at every scrape the
    // level's series + unattributed + dropped = node active, for every scraper alike.
    const drop = (energyUj: readonly bigint[]) => energyUj.forEach((e, z) => (dropped[z] += e));
    for (const w of this.terminated.nextInterval(nowMs)) drop(w.energyUj);
    const running: WorkloadEnergy<I>[] = [];
    p.billed.forEach((energy, i) => {
      const key = energy.info.key;
      if (p.ended[i]) {
        this.ledgers.delete(key);
        for (const w of this.terminated.add(energy)) drop(w.energyUj);
        return;
      }
      const ledger = this.ledgers.get(key);
      if (ledger) {
        ledger.totals = energy.energyUj;
        ledger.seen = gen;
      } else this.ledgers.set(key, { totals: energy.energyUj, seen: gen });
      running.push(energy);
    });
    // A workload the resources stopped reporting without saying it ended (its end was in a
    // refresh that failed) has ended all the same: it must not hold its energy out of the sums.
    if (this.ledgers.size > running.length) {
      for (const [key, ledger] of this.ledgers) {
        if (ledger.seen === gen) continue;
        this.ledgers.delete(key);
        drop(ledger.totals);
      }
    }
    this.dropped = dropped;
    return {
      workloads: running.concat(this.terminated.list()),
      unattributedUj: this.unattributed,
      unattributedDeltaUj: p.unattributedDeltaUj,
      droppedUj: this.dropped,
      billed: p.billed,
    };
  }

  /** An export showed this level's snapshot at monotonic `nowMs`: its terminated workloads start their retention. */
  markShown(level: LevelSnapshot<I>, nowMs: number): void {
    const shown = new Set<unknown>();
    for (const w of level.workloads) if (w.state === 'terminated') shown.add(w.info);
    if (shown.size) this.terminated.markShown(shown, nowMs);
  }
}
