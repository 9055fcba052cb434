// The page's copy of the exporter's power history (/api/v1/history), and the chart series cut from
// it. The page fetches the whole ring once, then only the points after its last one (?since=), and
// appends them here, dropping what falls out of the window. Workloads are held by level and id, not
// by the response's keys, so answers can be merged whatever keys each one used; columns (zones,
// GPUs, platform sources) are held by their ids, so an answer whose columns differ (a platform
// source appeared, the exporter restarted) is merged rather than replacing what is held. Pure, no DOM.

import type { ApiHistory, ApiLevelName } from '../../src/exporter/web/apiTypes.js';
import { API_LEVELS } from '../../src/exporter/web/apiTypes.js';

export interface HistoryPoint {
  /** End of the point's interval, wall clock ms. */
  t: number;
  sec: number;
  /** Per column of HistoryState (zones, gpus, platform): watts, null (or missing) when not known. */
  active: (number | null)[];
  idle: (number | null)[];
  /** GPU active and idle watts, as `active` and `idle` for the zones. */
  gpu: (number | null)[];
  gpuIdle: (number | null)[];
  platform: (number | null)[];
  /** Per level: workload id -> watts, for the workloads in the point's top. */
  top: Record<ApiLevelName, Map<string, number>>;
}

type Zone = ApiHistory['zones'][number];
type Gpu = ApiHistory['gpus'][number];
type PlatformColumn = ApiHistory['platform'][number];
type WorkloadName = { name: string; detail: string };

export interface HistoryState {
  windowSec: number;
  zones: Zone[];
  gpus: Gpu[];
  platform: PlatformColumn[];
  /** Per level, name and detail by workload id, for the workloads the points name. */
  names: Record<ApiLevelName, Map<string, WorkloadName>>;
  /** Oldest first, strictly increasing t. */
  points: HistoryPoint[];
  /**
   * An answer's columns could not be matched with those held (two with the same id): the state
   * holds only that answer, the next request asks for the whole ring, and its answer replaces it.
   */
  refetch?: boolean;
}

/** What the series of the charts are: a change (a GPU or platform source appeared) means new charts. */
export function layoutKey(h: Pick<HistoryState, 'zones' | 'gpus' | 'platform'>): string {
  return JSON.stringify([h.zones.map((z) => [z.name, z.index]), h.gpus.map((g) => g.index), h.platform.map((p) => p.id)]);
}

/** A column's identity, the same in every answer of every exporter of the node. */
const zoneId = (z: Zone) => `${z.name}/${z.index}`;
const gpuId = (g: Gpu) => String(g.index);
const platformId = (p: PlatformColumn) => p.id;

/**
 * `state` with the points of `answer` after its last one appended and those older than the window
 * dropped. The exporter only appends columns (a platform source first read late), so a point's
 * arrays may be shorter than the columns: what is missing is null. When the answer's columns differ
 * from those held, the held points are moved to the answer's columns by id; a column the answer no
 * longer has (the exporter restarted without it) is kept while a held point has a value in it.
 * Returns a new state; `state` is not changed.
 */
export function mergeHistory(state: HistoryState | undefined, answer: ApiHistory): HistoryState {
  if (state === undefined || state.refetch) return merge(undefined, answer);
  if (layoutKey(state) === layoutKey(answer)) return merge(state, answer);
  // A column only the held points have is kept while one that stays in the window has a value there.
  const lastT = Math.max(state.points[state.points.length - 1]?.t ?? -Infinity, answer.points[answer.points.length - 1]?.t ?? -Infinity);
  const staying = state.points.filter((p) => p.t > lastT - answer.windowSec * 1000);
  const zones = mergeColumns(state.zones, answer.zones, zoneId, staying, (p) => p.active);
  const gpus = mergeColumns(state.gpus, answer.gpus, gpuId, staying, (p) => p.gpu);
  const platform = mergeColumns(state.platform, answer.platform, platformId, staying, (p) => p.platform);
  if (!zones || !gpus || !platform) return { ...merge(undefined, answer), refetch: true };
  const points = state.points.map((p) => ({
    ...p,
    active: zones.remap(p.active),
    idle: zones.remap(p.idle),
    gpu: gpus.remap(p.gpu),
    gpuIdle: gpus.remap(p.gpuIdle),
    platform: platform.remap(p.platform),
  }));
  return merge({ ...state, points, zones: zones.columns, gpus: gpus.columns, platform: platform.columns }, answer);
}

/**
 * The columns after an answer: the answer's, in its order (so its points need no moving), then
 * those only the held points have, while one of them has a value there. `remap` moves a held
 * point's values to them. Undefined when ids repeat: the columns cannot be matched.
 */
function mergeColumns<C>(
  held: C[],
  answered: C[],
  id: (c: C) => string,
  points: HistoryPoint[],
  values: (p: HistoryPoint) => (number | null)[],
): { columns: C[]; remap: (v: (number | null)[]) => (number | null)[] } | undefined {
  const heldIds = held.map(id);
  const answeredIds = answered.map(id);
  if (new Set(heldIds).size !== heldIds.length || new Set(answeredIds).size !== answeredIds.length) return undefined;
  const extra = held.filter((_c, i) => !answeredIds.includes(heldIds[i]) && points.some((p) => (values(p)[i] ?? null) !== null));
  const columns = [...answered, ...extra];
  const from = columns.map((c) => heldIds.indexOf(id(c)));
  // The usual change: columns appended. The held arrays are right as they are.
  if (from.every((j, i) => j === i || (j < 0 && i >= held.length))) return { columns, remap: (v) => v };
  return { columns, remap: (v) => from.map((j) => (j >= 0 ? (v[j] ?? null) : null)) };
}

/** The answer's points appended to `state`'s (whose columns are the answer's, extra ones after). */
function merge(state: HistoryState | undefined, answer: ApiHistory): HistoryState {
  const names = emptyNames();
  if (state) for (const level of API_LEVELS) for (const [id, n] of state.names[level]) names[level].set(id, n);
  const points = state ? state.points.slice() : [];
  let last = points.length > 0 ? points[points.length - 1].t : -Infinity;
  for (const p of answer.points) {
    if (p.t <= last) continue; // already held (an answer may overlap the previous one)
    const top = {} as HistoryPoint['top'];
    for (const level of API_LEVELS) {
      top[level] = new Map();
      for (const [key, watts] of p.top[level] ?? []) {
        const w = answer.workloads[String(key)];
        if (w === undefined) continue;
        top[level].set(w.id, watts);
        names[level].set(w.id, { name: w.name, detail: w.detail });
      }
    }
    // gpuIdle: an exporter from before it was written sends none.
    points.push({ t: p.t, sec: p.sec, active: p.active, idle: p.idle, gpu: p.gpu, gpuIdle: p.gpuIdle ?? [], platform: p.platform, top });
    last = p.t;
  }
  const from = points.length > 0 ? points[points.length - 1].t - answer.windowSec * 1000 : 0;
  const firstKept = points.findIndex((p) => p.t > from);
  const trimmed = firstKept > 0 ? points.slice(firstKept) : points;
  const held = API_LEVELS.reduce((a, l) => a + names[l].size, 0);
  return {
    windowSec: answer.windowSec,
    zones: state ? state.zones : answer.zones,
    gpus: state ? state.gpus : answer.gpus,
    platform: state ? state.platform : answer.platform,
    names: firstKept > 0 || held > 4 * trimmed.length ? referencedNames(names, trimmed) : names,
    points: trimmed,
  };
}

function emptyNames(): HistoryState['names'] {
  return { process: new Map(), container: new Map(), pod: new Map(), vm: new Map() };
}

/** The names of only the workloads some point still names: the window bounds the page's memory. */
function referencedNames(names: HistoryState['names'], points: HistoryPoint[]): HistoryState['names'] {
  const out = emptyNames();
  for (const p of points) {
    for (const level of API_LEVELS) {
      for (const id of p.top[level].keys()) {
        const n = names[level].get(id);
        if (n) out[level].set(id, n);
      }
    }
  }
  return out;
}

/** The `since` of the next incremental request: the last point's t, or undefined for the whole ring. */
export function sinceOf(state: HistoryState | undefined): number | undefined {
  if (!state || state.refetch || state.points.length === 0) return undefined;
  return state.points[state.points.length - 1].t;
}

/** Seconds between the first point's start and the last point's end (0 without points). */
export function spanSec(state: HistoryState): number {
  const n = state.points.length;
  if (n === 0) return 0;
  return (state.points[n - 1].t - state.points[0].t) / 1000 + state.points[0].sec;
}

/** A point further than this many times its own length from the one before follows a gap. */
export const GAP_FACTOR = 2.5;

/** Whether `p` follows `prev` after a gap (the exporter did not answer, or restarted). */
function gapBefore(prev: HistoryPoint, p: HistoryPoint): boolean {
  return p.t - prev.t > GAP_FACTOR * Math.max(p.sec, 1) * 1000;
}

/**
 * One value per point, with a null inserted before a point that follows a gap, so the line breaks
 * there instead of crossing it. Every series and timesSec insert the same nulls.
 */
function perPoint<T>(state: HistoryState, value: (p: HistoryPoint) => T): (T | null)[] {
  const out: (T | null)[] = [];
  state.points.forEach((p, i) => {
    if (i > 0 && gapBefore(state.points[i - 1], p)) out.push(null);
    out.push(value(p));
  });
  return out;
}

/**
 * The x values of every chart: point times in seconds since the epoch, as uPlot reads them; a gap
 * is at the start of the interval of the point after it.
 */
export function timesSec(state: HistoryState): number[] {
  const out: number[] = [];
  state.points.forEach((p, i) => {
    if (i > 0 && gapBefore(state.points[i - 1], p)) out.push((p.t - p.sec * 1000) / 1000);
    out.push(p.t / 1000);
  });
  return out;
}

/** Active watts, and active + idle (the total, drawn above it); null where neither is known. */
function stacked(active: (number | null)[], idle: (number | null)[]): { active: number | null; total: number | null } {
  if (active.every((v) => v === null || v === undefined) && idle.every((v) => v === null || v === undefined)) return { active: null, total: null };
  const a = active.reduce<number>((s, v) => s + (v ?? 0), 0);
  return { active: a, total: a + idle.reduce<number>((s, v) => s + (v ?? 0), 0) };
}

/** One zone's active watts, and active + idle (the total, drawn above it), per point. */
export function zoneSeries(state: HistoryState, zone: number): { active: (number | null)[]; total: (number | null)[] } {
  const values = perPoint(state, (p) => stacked([p.active[zone] ?? null], [p.idle[zone] ?? null]));
  return { active: values.map((v) => v?.active ?? null), total: values.map((v) => v?.total ?? null) };
}

/** The GPUs' active watts, and active + idle, summed over state.gpus, per point: as a zone's. */
export function gpuSeries(state: HistoryState): { active: (number | null)[]; total: (number | null)[] } {
  const values = perPoint(state, (p) =>
    stacked(
      state.gpus.map((_g, i) => p.gpu[i] ?? null),
      state.gpus.map((_g, i) => p.gpuIdle[i] ?? null),
    ),
  );
  return { active: values.map((v) => v?.active ?? null), total: values.map((v) => v?.total ?? null) };
}

/** Watts per platform source, null where the source had no reading (a gap in its line). */
export function platformSeries(state: HistoryState): (number | null)[][] {
  return state.platform.map((_s, i) => perPoint(state, (p) => p.platform[i] ?? null));
}

/**
 * Watts of each workload of `level` in `ids` at each point, null where it was not in that point's
 * top (not running, or below the top): a gap, not a zero, since its watts there are not known.
 */
export function workloadSeries(state: HistoryState, level: ApiLevelName, ids: string[]): (number | null)[][] {
  return ids.map((id) => perPoint(state, (p) => p.top[level].get(id) ?? null));
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
