// The live page's memory (/api/v1/history): node power per zone, GPU and platform source, and the
// top workloads of each level, over the last 15 minutes, in a bounded ring.
//
// The bound holds whatever the node runs: a point covers at least minStep (refreshes closer
// together are merged into one point, their energy summed), so there are at most
// window / minStep + 1 points; each names at most `topPerLevel` workloads per level, and a name
// lives only while a point refers to it. 5,000 workloads coming and going cost what the top few
// cost (`npm run bench`, section history, measures it).

import { watts, type Snapshot, type WorkloadEnergy } from '../../monitor/snapshot.js';
import { API_LEVELS, type ApiHistory, type ApiHistoryPoint, type ApiHistoryWorkload, type ApiLevelName } from './apiTypes.js';
import type { PlatformReading } from '../../device/platform/platformSource.js';
import { gpuByKey, headlineDeltaUj, headlineZoneIndexes, levelOf, platformSourceId, platformSourceName, topK, workloadNamers, type WorkloadLabel } from './snapshotView.js';

export interface PowerHistoryOptions {
  /** How far back points are kept. */
  windowMs?: number;
  /** The shortest span a point covers. */
  minStepMs?: number;
  /** Workloads kept per level and point. */
  topPerLevel?: number;
}

/** Longest name or detail kept: a process's exe path can be long, and names are what fills memory. */
const MAX_LABEL = 120;

interface Point {
  t: number;
  sec: number;
  active: Float64Array;
  idle: Float64Array;
  gpu: Float64Array;
  gpuIdle: Float64Array;
  /** Platform watts by index into `platformIds`; NaN when the source had no reading. */
  platform: Float64Array;
  /** Per level: the top workloads and their watts, most first. */
  top: Record<ApiLevelName, { workloads: NamedWorkload[]; watts: Float64Array }>;
}

/** A workload some point names; it lives while `refs` points do. */
interface NamedWorkload extends ApiHistoryWorkload {
  /** The workload's key in the snapshot (the same string, not a copy). */
  key: string;
  /** The number the API names it by. */
  num: number;
  refs: number;
}

/** Energy gathered for the point being built, over one refresh or several. */
interface Pending {
  startMs: number;
  endMs: number;
  sec: number;
  activeUj: number[];
  idleUj: number[];
  gpuUj: number[];
  gpuIdleUj: number[];
  /** Per level, energy by workload key (only when refreshes are merged), with the latest info. */
  levels: Record<ApiLevelName, Map<string, { uj: number; info: unknown }>> | undefined;
  /** The latest snapshot: its platform readings and how it names workloads. */
  last: Snapshot;
}

export class PowerHistory {
  readonly windowMs: number;
  readonly minStepMs: number;
  readonly maxPoints: number;
  private readonly topPerLevel: number;
  private readonly points: Point[] = [];
  private zones: { name: string; index: number }[] = [];
  private gpus: { index: number; name: string }[] = [];
  private readonly platformIds: string[] = [];
  private readonly platformNames = new Map<string, string>();
  /** Workloads the points name, per level by key: what a name costs is most of what the ring holds. */
  private readonly named: Record<ApiLevelName, Map<string, NamedWorkload>> = { process: new Map(), container: new Map(), pod: new Map(), vm: new Map() };
  private nextNumber = 1;
  private pending: Pending | undefined;
  private wallMinusMonotonic: number | undefined;

  constructor(opts: PowerHistoryOptions = {}) {
    this.windowMs = opts.windowMs ?? 15 * 60_000;
    this.minStepMs = opts.minStepMs ?? 3000;
    this.topPerLevel = opts.topPerLevel ?? 8;
    this.maxPoints = Math.ceil(this.windowMs / this.minStepMs) + 1;
  }

  /** The monitor's listener: adds the snapshot's interval to the history. */
  readonly onSnapshot = (s: Snapshot): void => {
    if (s.elapsedSec <= 0) return; // the baseline refresh: no interval yet
    if (this.zones.length === 0) {
      this.zones = s.zones.map((z) => ({ name: z.name, index: z.index }));
      this.gpus = (s.gpu?.devices ?? []).map((d) => ({ index: d.index, name: d.name }));
    }
    const single = this.pending === undefined && s.elapsedSec * 1000 >= this.minStepMs;
    if (single) {
      // The usual case (monitor.interval >= minStep): the point is this refresh, its top workloads
      // taken straight from the snapshot, with no per-workload bookkeeping.
      this.close(this.gather(undefined, s, false));
      return;
    }
    this.pending = this.gather(this.pending, s, true);
    if (this.pending.sec * 1000 >= this.minStepMs) {
      this.close(this.pending);
      this.pending = undefined;
    }
  };

  /** Points with t > sinceMs (all without it), and the workloads they name. */
  view(sinceMs = -Infinity): ApiHistory {
    const points = this.points.filter((p) => p.t > sinceMs);
    const workloads: Record<string, ApiHistoryWorkload> = {};
    const out = points.map((p): ApiHistoryPoint => {
      const top = {} as ApiHistoryPoint['top'];
      for (const level of API_LEVELS) {
        const { workloads: named, watts: w } = p.top[level];
        top[level] = named.map((n, i): [number, number] => {
          workloads[n.num] = { id: n.id, name: n.name, detail: n.detail };
          return [n.num, w[i]];
        });
      }
      return {
        t: p.t,
        sec: p.sec,
        active: Array.from(p.active),
        idle: Array.from(p.idle),
        gpu: Array.from(p.gpu),
        gpuIdle: Array.from(p.gpuIdle),
        platform: Array.from(p.platform, (v) => (Number.isNaN(v) ? null : v)),
        top,
      };
    });
    return {
      windowSec: this.windowMs / 1000,
      minStepSec: this.minStepMs / 1000,
      zones: this.zones,
      gpus: this.gpus,
      platform: this.platformIds.map((id) => ({ id, name: this.platformNames.get(id) ?? id })),
      workloads,
      points: out,
    };
  }

  /** How much it holds: points, and workloads named by them. */
  size(): { points: number; workloads: number } {
    return { points: this.points.length, workloads: API_LEVELS.reduce((a, l) => a + this.named[l].size, 0) };
  }

  private gather(into: Pending | undefined, s: Snapshot, perWorkload: boolean): Pending {
    const p: Pending = into ?? {
      startMs: this.timeOf(s) - s.elapsedSec * 1000,
      endMs: this.timeOf(s),
      sec: 0,
      activeUj: s.zones.map(() => 0),
      idleUj: s.zones.map(() => 0),
      gpuUj: this.gpus.map(() => 0),
      gpuIdleUj: this.gpus.map(() => 0),
      levels: undefined,
      last: s,
    };
    p.endMs = this.timeOf(s);
    p.sec += s.elapsedSec;
    p.last = s;
    s.zones.forEach((z, i) => {
      p.activeUj[i] += z.activeDeltaUj;
      p.idleUj[i] += z.idleDeltaUj;
    });
    s.gpu?.devices.forEach((d, i) => {
      p.gpuUj[i] += d.activeDeltaUj;
      p.gpuIdleUj[i] += d.idleDeltaUj;
    });
    if (perWorkload) {
      p.levels ??= { process: new Map(), container: new Map(), pod: new Map(), vm: new Map() };
      for (const level of API_LEVELS) {
        const acc = p.levels[level];
        for (const { w, uj } of this.headlineEnergy(s, level)) {
          const e = acc.get(w.info.key);
          if (e) {
            e.uj += uj;
            e.info = w.info;
          } else acc.set(w.info.key, { uj, info: w.info });
        }
      }
    }
    return p;
  }

  /** The running workloads of a level with their interval energy over the headline zones and GPUs. */
  private headlineEnergy(s: Snapshot, level: ApiLevelName): { w: WorkloadEnergy<{ key: string }>; uj: number }[] {
    const headline = headlineZoneIndexes(s);
    const gpu = gpuByKey(s, level);
    const out: { w: WorkloadEnergy<{ key: string }>; uj: number }[] = [];
    for (const w of levelOf(s, level).workloads as readonly WorkloadEnergy<{ key: string }>[]) {
      if (w.state !== 'running') continue;
      const uj = headlineDeltaUj(w, headline, gpu.get(w.info.key)?.deltaUj);
      if (uj > 0) out.push({ w, uj });
    }
    return out;
  }

  private close(p: Pending): void {
    const namers = workloadNamers(p.last) as Record<ApiLevelName, (info: unknown) => WorkloadLabel>;
    const top = {} as Point['top'];
    for (const level of API_LEVELS) {
      const energies = p.levels ? [...p.levels[level].values()] : this.headlineEnergy(p.last, level).map(({ w, uj }) => ({ uj, info: w.info }));
      const best = topByEnergy(energies, this.topPerLevel);
      top[level] = {
        workloads: best.map((e) => this.name(level, e.info as { key: string }, namers[level])),
        watts: Float64Array.from(best, (e) => watts(e.uj, p.sec)),
      };
    }
    const readings = p.last.platform.flatMap((src) => src.state.readings.map(({ reading }) => reading));
    const at = readings.map((r) => this.platformIndex(r));
    const platform = new Float64Array(this.platformIds.length).fill(NaN);
    readings.forEach((r, i) => (platform[at[i]] = r.watts));
    this.points.push({
      t: p.endMs,
      sec: p.sec,
      active: Float64Array.from(p.activeUj, (uj) => watts(uj, p.sec)),
      idle: Float64Array.from(p.idleUj, (uj) => watts(uj, p.sec)),
      gpu: Float64Array.from(p.gpuUj, (uj) => watts(uj, p.sec)),
      gpuIdle: Float64Array.from(p.gpuIdleUj, (uj) => watts(uj, p.sec)),
      platform,
      top,
    });
    this.evict(p.endMs);
  }

  /** Drops the points beyond the ring's size or older than the window, and the names only they used. */
  private evict(nowMs: number): void {
    let drop = 0;
    while (drop < this.points.length && (this.points.length - drop > this.maxPoints || this.points[drop].t <= nowMs - this.windowMs)) drop++;
    for (const p of this.points.splice(0, drop)) {
      for (const level of API_LEVELS) {
        for (const n of p.top[level].workloads) if (--n.refs === 0) this.named[level].delete(n.key);
      }
    }
  }

  /**
   * A snapshot's time on the wall clock as it read at the first snapshot, advanced by the monotonic
   * clock: points stay in order, and ?since= keeps finding the new ones, when NTP steps the clock back.
   */
  private timeOf(s: Snapshot): number {
    this.wallMinusMonotonic ??= s.timestampMs - s.monotonicMs;
    return this.wallMinusMonotonic + s.monotonicMs;
  }

  /** A platform source's column, added the first time it is seen (sources are few: PSUs, chassis). */
  private platformIndex(r: PlatformReading): number {
    const id = platformSourceId(r);
    const i = this.platformIds.indexOf(id);
    if (i >= 0) return i;
    this.platformNames.set(id, platformSourceName(r));
    return this.platformIds.push(id) - 1;
  }

  /** A workload as the points name it; its label follows the latest (a pod may be learned late). */
  private name(level: ApiLevelName, info: { key: string }, namer: (info: unknown) => WorkloadLabel): NamedWorkload {
    const label = namer(info);
    const name = label.name.length > MAX_LABEL ? label.name.slice(0, MAX_LABEL) : label.name;
    const detail = label.detail.length > MAX_LABEL ? label.detail.slice(0, MAX_LABEL) : label.detail;
    const known = this.named[level].get(info.key);
    if (known) {
      known.name = name;
      known.detail = detail;
      known.refs++;
      return known;
    }
    const n: NamedWorkload = { id: label.id, name, detail, key: info.key, num: this.nextNumber++, refs: 1 };
    this.named[level].set(info.key, n);
    return n;
  }
}

/** The `k` entries with the most energy, most first; none without energy. */
export function topByEnergy<E extends { uj: number }>(entries: Iterable<E>, k: number): E[] {
  const withEnergy: E[] = [];
  for (const e of entries) if (e.uj > 0) withEnergy.push(e);
  return topK(withEnergy, k, (a, b) => b.uj - a.uj);
}
