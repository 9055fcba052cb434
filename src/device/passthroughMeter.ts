// In a VM: the energy the hypervisor's kepler-ts measured for this VM, read from the powercap tree
// it writes for it (Scaphandre's layout, mounted at passthrough.dir), so the guest attributes a
// measurement rather than an estimate (issue 17). The tree is read by RaplMeter unchanged.
//
// A tree can stop moving while the guest works (the host's exporter stopped, the mount went
// away): a zone whose counter has not advanced for STALE_READINGS readings spanning at least as
// many refresh intervals while the guest was busy is stale, and the estimator's zone of the same
// name stands in until the counter moves again. Each zone keeps its own running total, so the
// hand-over and the hand-back are neither a jump nor a step back for anything that reads it.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../logger/logger.js';
import { cpuInterval, parseProcStat, type CpuTimes } from '../resource/procStat.js';
import { counterDelta, MeterUnavailableError, type EnergyMeter, type EnergyZone, type MeterNotice } from './energyZone.js';
import { monotonicMs, WRAP_UJ, type Clock } from './integratedPowerZone.js';
import { RaplMeter } from './raplMeter.js';
import { listMeterDir } from './sysfsFiles.js';

/** Readings in a row without an advance before a zone may be stale. */
export const STALE_READINGS = 3;
/** CPU time above which the guest counts as busy, in CPUs (5 % of one). */
export const BUSY_CPUS = 0.05;
/** /proc/stat's tick rate: USER_HZ, 100 on every Linux architecture kepler-ts runs on. */
const USER_HZ = 100;
/** Used for the span of a stale tree when monitor.interval is 0 (refresh on scrape): Kepler's default. */
const DEFAULT_INTERVAL_MS = 5000;
/** Zones read within this many ms of each other share one /proc/stat reading. */
const STAT_REUSE_MS = 2;

export type PassthroughStatus = 'passthrough' | 'passthrough-stale';

export interface PassthroughMeterOptions {
  /** passthrough.dir: the folder holding the tree (intel-rapl:0, intel-rapl:0:0, ...). */
  dir: string;
  procfs: string;
  /** monitor.interval; 0 (refresh on scrape) counts as DEFAULT_INTERVAL_MS. */
  intervalMs: number;
  /** Stands in for stale zones, by zone name; undefined or unavailable: stale zones stay flat. */
  estimator?: EnergyMeter;
  clock?: Clock;
  /** Reads /proc/stat; injectable for tests. */
  readProcStat?: () => string;
  /** Whether the guest was busy over a window; replaces the /proc/stat test (for tests). */
  busy?: () => boolean;
  logger?: Logger;
}

export class PassthroughMeter implements EnergyMeter {
  readonly name = 'passthrough';
  private zoneList: PassthroughZone[] = [];
  private found: MeterNotice[] = [];
  private stale = false;

  constructor(private readonly opts: PassthroughMeterOptions) {}

  zones(): EnergyZone[] {
    const { dir } = this.opts;
    // Said here rather than by RaplMeter, whose reasons are about a machine's RAPL.
    const entries = listMeterDir(dir, 'no energy from the hypervisor: its kepler-ts does not write a tree for this VM, or the folder is not mounted');
    if (entries.length === 0) throw new MeterUnavailableError(`${dir}: empty (the hypervisor's kepler-ts has not written this VM's tree yet, or the folder is not mounted)`);
    let inner: EnergyZone[];
    try {
      inner = new RaplMeter({ sysfs: '', zoneFilter: [], powercapDir: dir, pathPrefix: 'passthrough:' }).zones();
    } catch (err) {
      if (err instanceof MeterUnavailableError) throw new MeterUnavailableError(`passthrough tree ${err.message}`, { cause: err });
      throw err;
    }
    const notices: MeterNotice[] = [];
    const fallbacks = this.estimatorZones(notices);
    const clock = this.opts.clock ?? monotonicMs;
    const probe = this.busyProbe(clock);
    const spanMs = STALE_READINGS * (this.opts.intervalMs > 0 ? this.opts.intervalMs : DEFAULT_INTERVAL_MS);
    // Shared by the zones: the tree is alive while any of its counters moves (a host without a dram
    // measurement writes dram = 0 for good; that zone alone must not make the tree stale).
    const tree = { lastMoveMs: clock() };
    this.zoneList = inner.map((z) => {
      const fallback = fallbacks?.get(z.name);
      if (fallbacks && !fallback) notices.push({ level: 'info', message: `passthrough: the estimator has no ${z.name} zone: it stays flat while the tree is stale` });
      // Zones have distinct names (entries of one name are summed by RaplMeter), so the folder alone tells them apart.
      return new PassthroughZone(z, `passthrough:${dir}`, fallback, { clock, probe, spanMs, tree, onChange: (zone) => this.update(zone) });
    });
    this.found = notices;
    return this.zoneList;
  }

  notices(): MeterNotice[] {
    return this.found;
  }

  status(): PassthroughStatus {
    return this.stale ? 'passthrough-stale' : 'passthrough';
  }

  /** Logs the tree's changes once each: stale when a first zone is, moving again when none is any more. */
  private update(zone: string): void {
    const stale = this.zoneList.some((z) => z.stale);
    if (stale === this.stale) return;
    this.stale = stale;
    if (stale) this.opts.logger?.warn('passthrough tree stale: estimated until it moves', { dir: this.opts.dir, zone });
    else this.opts.logger?.info('passthrough tree moves again: measured', { dir: this.opts.dir, zone });
  }

  /** The estimator's zones by name, or undefined (said in `notices`) when it cannot stand in. */
  private estimatorZones(notices: MeterNotice[]): Map<string, EnergyZone> | undefined {
    const est = this.opts.estimator;
    if (!est) {
      notices.push({ level: 'warn', message: 'passthrough: no estimator: a stale tree stays flat until it moves' });
      return undefined;
    }
    try {
      return new Map(est.zones().map((z) => [z.name, z]));
    } catch (err) {
      if (!(err instanceof MeterUnavailableError)) throw err;
      notices.push({ level: 'warn', message: `passthrough: the estimator is unavailable (${err.message}): a stale tree stays flat until it moves` });
      return undefined;
    }
  }

  private busyProbe(clock: Clock): BusyProbe {
    const injected = this.opts.busy;
    if (injected) return { sample: () => undefined, busy: () => injected() };
    const statPath = join(this.opts.procfs, 'stat');
    const read = this.opts.readProcStat ?? (() => readFileSync(statPath, 'utf8'));
    let last: CpuTimes | undefined;
    let lastMs = -Infinity;
    return {
      sample: () => {
        const now = clock();
        if (!last || now - lastMs >= STAT_REUSE_MS) {
          // An unreadable /proc/stat leaves the guest's load unknown: never stale on a guess.
          try {
            last = parseProcStat(read());
          } catch {
            last = undefined;
          }
          lastMs = now;
        }
        return last;
      },
      busy: (from, to, elapsedMs) => (from && to ? guestBusy(from as CpuTimes, to as CpuTimes, elapsedMs) : false),
    };
  }
}

/** A wrap implying more than this is a restarted host, not energy: no VM draws 5 kW. */
const MAX_WRAP_WATTS = 5000;

/** Pure: whether the guest used more than BUSY_CPUS of CPU time between two /proc/stat readings. */
export function guestBusy(from: CpuTimes, to: CpuTimes, elapsedMs: number): boolean {
  if (elapsedMs <= 0) return false;
  return cpuInterval(from, to).activeTicks / USER_HZ / (elapsedMs / 1000) > BUSY_CPUS;
}

/** The guest's load at one reading, and whether it was busy between two. */
interface BusyProbe {
  sample(): unknown;
  busy(from: unknown, to: unknown, elapsedMs: number): boolean;
}

interface Mark {
  ms: number;
  cpu: unknown;
}

/**
 * Pure: the readings since the counter last moved, trimmed to the latest window that still holds
 * STALE_READINGS readings after its start and spans `spanMs`, so that a guest that has just become
 * busy after a long idle spell is judged on the last intervals, not diluted by the idle ones.
 */
export function trimWindow<T extends { ms: number }>(marks: readonly T[], nowMs: number, spanMs: number): T[] {
  let start = 0;
  while (marks.length - (start + 1) > STALE_READINGS && nowMs - marks[start + 1].ms >= spanMs) start++;
  return marks.slice(start);
}

interface ZoneContext {
  clock: Clock;
  probe: BusyProbe;
  spanMs: number;
  /** When any counter of the tree last moved (monotonic ms). */
  tree: { lastMoveMs: number };
  onChange: (zone: string) => void;
}

/**
 * A zone of the tree with the estimator standing in while it is stale. Its counter is its own:
 * the tree's progress (wraps undone) plus the estimator's during stale periods, wrapping at
 * WRAP_UJ (exact in double arithmetic), never going back.
 */
export class PassthroughZone implements EnergyZone {
  readonly name: string;
  readonly index: number;
  stale = false;
  private total = 0;
  private last: number | undefined;
  /** When the counter last moved (monotonic ms). */
  private lastMoveMs: number | undefined;
  /** When it went stale (monotonic ms). */
  private staleSinceMs = 0;
  private lastEstimate: number | undefined;
  /** The reading at which the counter last moved, then each reading since. */
  private marks: Mark[] = [];

  constructor(
    private readonly tree: EnergyZone,
    readonly path: string,
    private readonly estimate: EnergyZone | undefined,
    private readonly ctx: ZoneContext,
  ) {
    this.name = tree.name;
    this.index = tree.index;
  }

  energy(): number {
    const now = this.ctx.clock();
    let cur: number | undefined;
    try {
      cur = this.tree.energy();
    } catch {
      // A tree gone (the host's exporter restarting, the mount lost) is a counter that does not move.
      cur = undefined;
    }
    // Read on every reading, so that the estimator's integration covers one interval when it is needed.
    const estimated = this.estimatorProgress();
    const mark: Mark = { ms: now, cpu: this.ctx.probe.sample() };
    if (this.stale) {
      // The estimator covers the whole stale period up to this reading; the tree's change across it
      // (a restarted host starts at 0) is not energy of this interval: start again from its value.
      this.add(estimated);
      // Back when this counter moves, or any of the tree's does (a zone the host leaves at 0 never will).
      if (cur !== undefined && (cur !== this.last || this.ctx.tree.lastMoveMs > this.staleSinceMs)) {
        this.stale = false;
        this.last = cur;
        this.lastMoveMs = now;
        this.ctx.tree.lastMoveMs = now;
        this.marks = [mark];
        this.ctx.onChange(this.name);
      }
      return this.total;
    }
    if (cur !== undefined && cur !== this.last) {
      if (this.last !== undefined) this.add(this.step(this.last, cur, now - (this.lastMoveMs ?? now)));
      this.last = cur;
      this.lastMoveMs = now;
      this.marks = [mark];
      this.ctx.tree.lastMoveMs = now;
      return this.total;
    }
    this.marks = trimWindow([...this.marks, mark], now, this.ctx.spanMs);
    const start = this.marks[0];
    const treeStill = now - this.ctx.tree.lastMoveMs >= this.ctx.spanMs;
    if (treeStill && this.marks.length > STALE_READINGS && now - start.ms >= this.ctx.spanMs && this.ctx.probe.busy(start.cpu, mark.cpu, now - start.ms)) {
      this.stale = true;
      this.staleSinceMs = now;
      this.add(estimated);
      this.ctx.onChange(this.name);
    }
    return this.total;
  }

  maxEnergy(): number {
    return WRAP_UJ;
  }

  /**
   * The tree's energy from `last` to `cur` over `elapsedMs`. Going back is a wrap at the tree's
   * range only when the wrap's energy is a power a VM can draw; otherwise the host's exporter
   * restarted and its counters began again at 0: what they show is the energy since.
   */
  private step(last: number, cur: number, elapsedMs: number): number {
    const max = this.tree.maxEnergy();
    const d = counterDelta(last, cur, max);
    if (cur >= last) return d ?? 0;
    const wattsIfWrap = d === null ? Infinity : d / 1e6 / Math.max(1, elapsedMs / 1000);
    return wattsIfWrap <= MAX_WRAP_WATTS ? (d ?? 0) : cur;
  }

  private add(uj: number): void {
    this.total = (this.total + uj) % WRAP_UJ;
  }

  /** µJ the estimator's zone advanced since its last reading; 0 without one or when it cannot be read. */
  private estimatorProgress(): number {
    if (!this.estimate) return 0;
    try {
      const cur = this.estimate.energy();
      const d = this.lastEstimate === undefined ? 0 : (counterDelta(this.lastEstimate, cur, this.estimate.maxEnergy()) ?? 0);
      this.lastEstimate = cur;
      return d;
    } catch {
      this.lastEstimate = undefined;
      return 0;
    }
  }
}
