// Running energy totals of one workload level (processes, containers, VMs or pods): bills each
// interval's shares, keeps the unattributed remainder, hands ended workloads to the terminated
// tracker, and counts as dropped the totals of every workload that leaves the exposition.
//
// With monitor.idle.attribution, each workload also carries its share of the node's idle energy
// beside its active total, and the level keeps the idle no workload carries. When a workload's
// series ends, its idle total moves into the level's unattributed idle (there is no dropped idle
// family): in every snapshot, per zone, the workloads' idle + unattributed idle = node idle.
//
// Billing is two-phase so that a refresh completes or changes nothing: prepare() computes every
// new total without touching the account, commit() stores them and cannot fail.

import type { WorkloadCpu } from '../resource/workloads.js';
import { attributeLevel, type IdleBasis, type LevelShares } from './attribution.js';
import type { LevelIdleSnapshot, LevelSnapshot, WorkloadEnergy } from './snapshot.js';
import { TerminatedTracker } from './terminatedTracker.js';

export interface LevelAccountOptions {
  zoneCount: number;
  /** 0 keeps no terminated workload, -1 keeps every one. */
  maxTerminated: number;
  minTerminatedEnergyUj: bigint;
  /** How long a terminated workload stays after an export first showed it, ms. */
  terminatedRetentionMs: number;
  /** Whether workloads carry a share of the idle energy (monitor.idle.attribution other than none). */
  idle?: boolean;
}

/** This interval's idle energy per zone and how the level's workloads share it. */
export interface IdleBill {
  readonly deltaUj: readonly number[];
  readonly basis: IdleBasis;
}

/** The outcome of one interval's billing, computed but not yet stored. */
export interface PreparedBill<I> {
  /** Every workload charged this interval, ended ones included. */
  readonly billed: readonly WorkloadEnergy<I>[];
  readonly ended: readonly boolean[];
  readonly unattributedUj: readonly bigint[];
  readonly unattributedDeltaUj: readonly number[];
  /** With idle attribution: the unattributed idle before the ended workloads' totals join it (commit). */
  readonly idle?: LevelIdleSnapshot;
}

const isZero = (d: number) => d === 0;

export class LevelAccount<I extends { key: string }> {
  /**
   * Each running workload's entry in the last snapshot, by key: its totals (energyUj, idleUj), and
   * what is shown again, the same object, while it is billed nothing. One map entry per workload
   * and nothing else: at 5,000 processes a separate ledger object each was 0.3 MiB.
   */
  private readonly ledgers = new Map<string, WorkloadEnergy<I>>();
  private unattributed: bigint[];
  private dropped: bigint[];
  private unattributedIdle: bigint[] | undefined;
  private readonly terminated: TerminatedTracker<I>;

  constructor(private readonly opts: LevelAccountOptions) {
    this.unattributed = new Array<bigint>(opts.zoneCount).fill(0n);
    this.dropped = new Array<bigint>(opts.zoneCount).fill(0n);
    if (opts.idle) this.unattributedIdle = new Array<bigint>(opts.zoneCount).fill(0n);
    this.terminated = new TerminatedTracker(opts.maxTerminated, opts.minTerminatedEnergyUj, opts.terminatedRetentionMs);
  }

  /**
   * Pure with respect to the account: the shares of this interval and every new total. `idle` is
   * required when the account attributes idle energy, and ignored when it does not.
   */
  prepare(workloads: readonly WorkloadCpu<I>[], activeDeltaUj: readonly number[], nodeActiveCpuSec: number, idle?: IdleBill): PreparedBill<I> {
    const { sharesUj, unattributedUj } = attributeLevel(
      activeDeltaUj,
      workloads.map((w) => w.cpuDeltaSec),
      nodeActiveCpuSec,
    );
    return this.prepareShares(workloads, { sharesUj, unattributedUj }, idle);
  }

  /** Whether a workload has running totals here (it was billed and has not ended). */
  has(key: string): boolean {
    return this.ledgers.has(key);
  }

  /**
   * As prepare, with the interval's shares computed by the caller (GPU energy is not split by CPU
   * time): sharesUj[w][z] for each workload, and per zone what none of them explains. A running
   * workload with totals here must be among `workloads` (billed 0 if it used nothing), or its
   * series ends.
   */
  prepareShares(workloads: readonly WorkloadCpu<I>[], { sharesUj, unattributedUj }: LevelShares, idle?: IdleBill): PreparedBill<I> {
    const idleShares = this.unattributedIdle && idle ? attributeLevel(idle.deltaUj, idle.basis.weights, idle.basis.floor) : undefined;
    const zeros = new Array<bigint>(this.opts.zoneCount).fill(0n);
    const zeroDeltas = new Array<number>(this.opts.zoneCount).fill(0);
    // A new array when something was billed: snapshots already published keep the totals they
    // were given. Totals are never changed in place, so one that did not move is shared as it is
    // (most processes sleep through most intervals: no allocation for them).
    const add = (total: readonly bigint[], delta: readonly number[]) => (delta.some((d) => d !== 0) ? total.map((t, z) => (delta[z] ? t + BigInt(delta[z]) : t)) : total);
    const billed = workloads.map((w, i): WorkloadEnergy<I> => {
      const shares = sharesUj[i];
      const last = this.ledgers.get(w.info.key);
      const state = w.ended ? 'terminated' : 'running';
      // A running workload billed nothing again (asleep): last interval's entry is this one's too.
      // Snapshots are immutable, so two of them may share it; at thousands of sleeping processes
      // this spares an object per process per refresh, which would live an interval and be promoted.
      if (
        last &&
        !w.ended &&
        last.info === w.info &&
        w.cpuDeltaSec === 0 &&
        last.cpuDeltaSec === 0 &&
        last.cpuTotalSec === w.cpuTotalSec &&
        shares.every(isZero) &&
        last.deltaUj.every(isZero) &&
        (!this.unattributedIdle || ((idleShares?.sharesUj[i] ?? zeroDeltas).every(isZero) && (last.idleDeltaUj?.every(isZero) ?? false)))
      )
        return last;
      const energyUj = add(last?.energyUj ?? zeros, shares);
      if (!this.unattributedIdle) return { info: w.info, state, cpuTotalSec: w.cpuTotalSec, cpuDeltaSec: w.cpuDeltaSec, energyUj, deltaUj: shares };
      const idleDeltaUj = idleShares?.sharesUj[i] ?? zeroDeltas;
      return {
        info: w.info,
        state,
        cpuTotalSec: w.cpuTotalSec,
        cpuDeltaSec: w.cpuDeltaSec,
        energyUj,
        deltaUj: shares,
        idleUj: add(last?.idleUj ?? zeros, idleDeltaUj),
        idleDeltaUj,
      };
    });
    const prepared = {
      billed,
      ended: workloads.map((w) => w.ended),
      unattributedUj: this.unattributed.map((u, z) => u + BigInt(unattributedUj[z])),
      unattributedDeltaUj: unattributedUj,
    };
    if (!this.unattributedIdle) return prepared;
    // Without a bill (never from the monitor) the interval's idle is unknown here: nothing moves.
    const idleLeft = idleShares?.unattributedUj ?? zeroDeltas;
    return { ...prepared, idle: { unattributedUj: this.unattributedIdle.map((u, z) => u + BigInt(idleLeft[z])), unattributedDeltaUj: idleLeft } };
  }

  /** Stores a prepared bill made at monotonic `nowMs`; returns the level's snapshot. */
  commit(p: PreparedBill<I>, nowMs: number): LevelSnapshot<I> {
    this.unattributed = [...p.unattributedUj];
    const dropped = [...this.dropped];
    const unattributedIdle = p.idle ? [...p.idle.unattributedUj] : undefined;
    // Whatever leaves the exposition takes its totals to dropped, so that at every scrape the
    // level's series + unattributed + dropped = node active, for every scraper alike; and its
    // idle total to the unattributed idle, so that the series' idle + unattributed idle = node idle.
    const drop = (energyUj: readonly bigint[], idleUj: readonly bigint[] | undefined) => {
      energyUj.forEach((e, z) => (dropped[z] += e));
      if (unattributedIdle && idleUj) idleUj.forEach((e, z) => (unattributedIdle[z] += e));
    };
    for (const w of this.terminated.nextInterval(nowMs)) drop(w.energyUj, w.idleUj);
    // The running workloads are the billed ones less those that ended: while none ended (most
    // refreshes), the billed list itself, not a copy (at thousands of workloads each refresh's
    // copies were garbage that lived an interval and was promoted).
    let endedSome: WorkloadEnergy<I>[] | undefined;
    p.billed.forEach((energy, i) => {
      const key = energy.info.key;
      if (p.ended[i]) {
        endedSome ??= p.billed.slice(0, i);
        this.ledgers.delete(key);
        for (const w of this.terminated.add(energy)) drop(w.energyUj, w.idleUj);
        return;
      }
      this.ledgers.set(key, energy);
      endedSome?.push(energy);
    });
    const running: readonly WorkloadEnergy<I>[] = endedSome ?? p.billed;
    // A workload the resources stopped reporting without saying it ended (its end was in a
    // refresh that failed) has ended all the same: it must not hold its energy out of the sums.
    if (this.ledgers.size > running.length) {
      const seen = new Set(running.map((w) => w.info.key));
      for (const [key, last] of this.ledgers) {
        if (seen.has(key)) continue;
        this.ledgers.delete(key);
        drop(last.energyUj, last.idleUj);
      }
    }
    this.dropped = dropped;
    const terminated = this.terminated.list();
    const level: LevelSnapshot<I> = {
      // `running` itself when nothing is kept terminated: another copy of it each refresh is garbage.
      workloads: terminated.length > 0 ? [...running, ...terminated] : running,
      unattributedUj: this.unattributed,
      unattributedDeltaUj: p.unattributedDeltaUj,
      droppedUj: this.dropped,
      billed: p.billed,
    };
    if (!unattributedIdle || !p.idle) return level;
    this.unattributedIdle = unattributedIdle;
    return { ...level, idle: { unattributedUj: unattributedIdle, unattributedDeltaUj: p.idle.unattributedDeltaUj } };
  }

  /** An export showed this level's snapshot at monotonic `nowMs`: its terminated workloads start their retention. */
  markShown(level: LevelSnapshot<I>, nowMs: number): void {
    const shown = new Set<unknown>();
    for (const w of level.workloads) if (w.state === 'terminated') shown.add(w.info);
    if (shown.size) this.terminated.markShown(shown, nowMs);
  }
}

/** A level as it stands, with nothing billed in the interval: the same totals, no deltas. */
export function unbilled<I>(level: LevelSnapshot<I>): LevelSnapshot<I> {
  const out = {
    ...level,
    workloads: level.workloads.map((w) => ({ ...w, deltaUj: w.deltaUj.map(() => 0), ...(w.idleDeltaUj ? { idleDeltaUj: w.idleDeltaUj.map(() => 0) } : {}) })),
    unattributedDeltaUj: level.unattributedDeltaUj.map(() => 0),
    billed: [],
  };
  return level.idle ? { ...out, idle: { ...level.idle, unattributedDeltaUj: level.idle.unattributedDeltaUj.map(() => 0) } } : out;
}
