// The page's copy of the exporter's power history (/api/v1/history), and the chart series cut from
// it. The page fetches the whole ring once, then only the points after its last one (?since=), and
// appends them here, dropping what falls out of the window. Workloads are held by their id, not by
// the response's keys, so answers can be merged whatever keys each one used. Pure, no DOM.

import type { ApiHistory, ApiLevelName } from '../../src/exporter/web/apiTypes.js';
import { API_LEVELS } from '../../src/exporter/web/apiTypes.js';

export interface HistoryPoint {
  /** End of the point's interval, wall clock ms. */
  t: number;
  sec: number;
  active: number[];
  idle: number[];
  gpu: number[];
  platform: (number | null)[];
  /** Per level: workload id -> watts, for the workloads in the point's top. */
  top: Record<ApiLevelName, Map<string, number>>;
}

export interface HistoryState {
  windowSec: number;
  zones: { name: string; index: number }[];
  gpus: { index: number; name: string }[];
  platform: { id: string; name: string }[];
  /** Name and detail by workload id, for the workloads the points name. */
  names: Map<string, { name: string; detail: string }>;
  /** Oldest first, strictly increasing t. */
  points: HistoryPoint[];
}

/** What the series of the charts are: a change (a GPU or platform source appeared) means new charts. */
export function layoutKey(h: Pick<HistoryState, 'zones' | 'gpus' | 'platform'>): string {
  return JSON.stringify([h.zones.map((z) => [z.name, z.index]), h.gpus.map((g) => g.index), h.platform.map((p) => p.id)]);
}

/**
 * `state` with the points of `answer` after its last one appended and those older than the window
 * dropped. An answer with another layout (zones, GPUs, platform sources) replaces the state: its
 * arrays index other series. Returns a new state; `state` is not changed.
 */
export function mergeHistory(state: HistoryState | undefined, answer: ApiHistory): HistoryState {
  const keep = state !== undefined && layoutKey(state) === layoutKey(answer);
  const names = new Map(keep ? state.names : []);
  for (const w of Object.values(answer.workloads)) names.set(w.id, { name: w.name, detail: w.detail });
  const points = keep ? state.points.slice() : [];
  let last = points.length > 0 ? points[points.length - 1].t : -Infinity;
  for (const p of answer.points) {
    if (p.t <= last) continue; // already held (an answer may overlap the previous one)
    const top = {} as Record<ApiLevelName, Map<string, number>>;
    for (const level of API_LEVELS) {
      top[level] = new Map();
      for (const [key, watts] of p.top[level] ?? []) {
        const id = answer.workloads[String(key)]?.id;
        if (id !== undefined) top[level].set(id, watts);
      }
    }
    points.push({ t: p.t, sec: p.sec, active: p.active, idle: p.idle, gpu: p.gpu, platform: p.platform, top });
    last = p.t;
  }
  const from = points.length > 0 ? points[points.length - 1].t - answer.windowSec * 1000 : 0;
  const firstKept = points.findIndex((p) => p.t > from);
  const trimmed = firstKept > 0 ? points.slice(firstKept) : points;
  return {
    windowSec: answer.windowSec,
    zones: answer.zones,
    gpus: answer.gpus,
    platform: answer.platform,
    names: firstKept > 0 || names.size > 4 * trimmed.length ? referencedNames(names, trimmed) : names,
    points: trimmed,
  };
}

/** The names of only the workloads some point still names: the window bounds the page's memory. */
function referencedNames(names: HistoryState['names'], points: HistoryPoint[]): HistoryState['names'] {
  const out: HistoryState['names'] = new Map();
  for (const p of points) {
    for (const level of API_LEVELS) {
      for (const id of p.top[level].keys()) {
        const n = names.get(id);
        if (n) out.set(id, n);
      }
    }
  }
  return out;
}

/** The `since` of the next incremental request: the last point's t, or undefined for the whole ring. */
export function sinceOf(state: HistoryState | undefined): number | undefined {
  return state && state.points.length > 0 ? state.points[state.points.length - 1].t : undefined;
}

/** Seconds between the first point's start and the last point's end (0 without points). */
export function spanSec(state: HistoryState): number {
  const n = state.points.length;
  if (n === 0) return 0;
  return (state.points[n - 1].t - state.points[0].t) / 1000 + state.points[0].sec;
}

/** The x values of every chart: point times in seconds since the epoch, as uPlot reads them. */
export function timesSec(state: HistoryState): number[] {
  return state.points.map((p) => p.t / 1000);
}

/** One zone's active watts, and active + idle (the total, drawn above it), per point. */
export function zoneSeries(state: HistoryState, zone: number): { active: number[]; total: number[] } {
  return {
    active: state.points.map((p) => p.active[zone] ?? 0),
    total: state.points.map((p) => (p.active[zone] ?? 0) + (p.idle[zone] ?? 0)),
  };
}

/** Watts per GPU, one array per GPU of state.gpus. */
export function gpuSeries(state: HistoryState): number[][] {
  return state.gpus.map((_g, i) => state.points.map((p) => p.gpu[i] ?? 0));
}

/** Watts per platform source, null where the source had no reading (a gap in its line). */
export function platformSeries(state: HistoryState): (number | null)[][] {
  return state.platform.map((_s, i) => state.points.map((p) => p.platform[i] ?? null));
}

/**
 * Watts of each workload in `ids` at each point of `level`, null where it was not in that point's
 * top (not running, or below the top): a gap, not a zero, since its watts there are not known.
 */
export function workloadSeries(state: HistoryState, level: ApiLevelName, ids: string[]): (number | null)[][] {
  return ids.map((id) => state.points.map((p) => p.top[level].get(id) ?? null));
}

/**
 * The `n` workloads of `level` with the most energy over the window's points, most first: the
 * chart's choice before a snapshot says which are on top now.
 */
export function topOverWindow(state: HistoryState, level: ApiLevelName, n: number): string[] {
  const joules = new Map<string, number>();
  for (const p of state.points) for (const [id, w] of p.top[level]) joules.set(id, (joules.get(id) ?? 0) + w * p.sec);
  return [...joules.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([id]) => id);
}
