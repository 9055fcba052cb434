// A snapshot as the live page shows it (/api/v1/snapshot): node power per zone, GPU and platform,
// and per level the top workloads by watts with names a person knows. Pure: the web API caches
// one view per snapshot, so a page polling every second costs one pass over the workloads per
// refresh, whatever the number of pages.

import type { Health } from '../../monitor/health.js';
import { watts, type LevelSnapshot, type Snapshot, type WorkloadEnergy } from '../../monitor/snapshot.js';
import type { ContainerInfo, PodInfo, ProcessInfo, VmInfo } from '../../resource/workloads.js';
import { headlineZoneNames } from '../../util/powerZones.js';
import type { ApiLevel, ApiLevelName, ApiMeter, ApiPlatformSource, ApiSnapshot, ApiWorkload } from './apiTypes.js';

/** What the view needs besides the snapshot: facts fixed at start-up, and the health of now. */
export interface ViewContext {
  nodeName: string;
  version: string;
  meter: ApiMeter;
  refreshIntervalSec: number;
  health: Health;
  /** Monotonic ms of now, on the snapshot's clock: the age of platform readings. */
  nowMonotonicMs: number;
}

/** A workload's identity as shown: its level id, its name, and a detail line. */
export interface WorkloadLabel {
  id: string;
  name: string;
  detail: string;
}

type Namer<I> = (info: I) => WorkloadLabel;

/** How each level names its workloads; a container is shown with its pod when the pod is known. */
export function workloadNamers(s: Snapshot): { [L in ApiLevelName]: Namer<LevelInfo[L]> } {
  let pods: Map<string, PodInfo> | undefined;
  const podOf = (id: string) => {
    pods ??= new Map(s.pods.workloads.map((w) => [w.info.id, w.info]));
    return pods.get(id);
  };
  return {
    process: (p: ProcessInfo) => ({
      id: p.key,
      name: `${p.comm || '?'} (${p.pid})`,
      detail: p.kernelThread ? 'kernel thread' : p.type === 'container' ? `container ${p.containerId.slice(0, 12)}` : p.type === 'vm' ? `vm ${p.vmId}` : p.exe,
    }),
    container: (c: ContainerInfo) => {
      const pod = c.podId ? podOf(c.podId) : undefined;
      // Without Kubernetes a pod UID may be known (from the cgroup path) with no name to show.
      const podName = pod?.name ? `${pod.namespace}/${pod.name}` : '';
      return { id: c.id, name: c.name || c.id.slice(0, 12), detail: [podName, c.runtime, c.id.slice(0, 12)].filter(Boolean).join(' · ') };
    },
    pod: (p: PodInfo) => ({ id: p.id, name: p.name ? `${p.namespace}/${p.name}` : p.id, detail: p.id }),
    vm: (v: VmInfo) => ({ id: v.id, name: v.name || v.id, detail: [v.hypervisor, v.id !== v.name ? v.id : ''].filter(Boolean).join(' · ') }),
  };
}

interface LevelInfo {
  process: ProcessInfo;
  container: ContainerInfo;
  pod: PodInfo;
  vm: VmInfo;
}

/** The snapshot's level of each API level name. */
export function levelOf<L extends ApiLevelName>(s: Snapshot, level: L): LevelSnapshot<LevelInfo[L]> {
  const levels: { [K in ApiLevelName]: LevelSnapshot<LevelInfo[K]> } = { process: s.processes, container: s.containers, pod: s.pods, vm: s.vms };
  return levels[level];
}

/** GPU level of an API level name (GPU power has no VM level of its own in every snapshot). */
function gpuLevelOf(s: Snapshot, level: ApiLevelName): LevelSnapshot<{ key: string }> | undefined {
  if (!s.gpu) return undefined;
  return { process: s.gpu.processes, container: s.gpu.containers, pod: s.gpu.pods, vm: s.gpu.vms }[level];
}

/** Index of the zones the headline sums (package + dram, never core or uncore). */
export function headlineZoneIndexes(s: Snapshot): number[] {
  const names = new Set(headlineZoneNames(s.zones.map((z) => z.name)));
  return s.zones.flatMap((z, i) => (names.has(z.name) ? [i] : []));
}

/** Per running workload of a level: its GPU delta (µJ, summed over GPUs) and total, by key. */
export function gpuByKey(s: Snapshot, level: ApiLevelName): Map<string, { deltaUj: number; totalUj: bigint }> {
  const out = new Map<string, { deltaUj: number; totalUj: bigint }>();
  for (const w of gpuLevelOf(s, level)?.workloads ?? []) {
    if (w.state !== 'running') continue;
    out.set(w.info.key, { deltaUj: w.deltaUj.reduce((a, b) => a + b, 0), totalUj: w.energyUj.reduce((a, b) => a + b, 0n) });
  }
  return out;
}

/** A workload's interval energy over the headline zones, idle share included, plus its GPUs: µJ. */
export function headlineDeltaUj(w: WorkloadEnergy<unknown>, headline: readonly number[], gpuDeltaUj = 0): number {
  let uj = gpuDeltaUj;
  for (const z of headline) uj += w.deltaUj[z] + (w.idleDeltaUj?.[z] ?? 0);
  return uj;
}

/**
 * The `k` best entries of `entries` by `better` (negative: a comes first), best first. One pass
 * and k comparisons at most per entry: a node may run thousands, the page shows ten.
 */
export function topK<E>(entries: Iterable<E>, k: number, better: (a: E, b: E) => number): E[] {
  const best: E[] = [];
  if (k <= 0) return best;
  for (const e of entries) {
    if (best.length === k && better(e, best[k - 1]) >= 0) continue;
    let i = Math.min(best.length, k - 1);
    while (i > 0 && better(e, best[i - 1]) < 0) i--;
    best.splice(i, 0, e);
    if (best.length > k) best.pop();
  }
  return best;
}

function levelView<L extends ApiLevelName>(s: Snapshot, level: L, top: number, name: Namer<LevelInfo[L]>, headline: readonly number[]): ApiLevel {
  const snap = levelOf(s, level);
  const gpuLevel = gpuLevelOf(s, level);
  const gpu = gpuByKey(s, level);
  const sec = s.elapsedSec;
  let count = 0;
  let sumUj = 0;
  const ranked: { w: WorkloadEnergy<LevelInfo[L]>; uj: number }[] = [];
  for (const w of snap.workloads) {
    if (w.state !== 'running') continue;
    const uj = headlineDeltaUj(w, headline, gpu.get(w.info.key)?.deltaUj);
    count++;
    sumUj += uj;
    ranked.push({ w, uj });
  }
  // Most watts first; among equals (a quiet node: all 0 W), most CPU first.
  const best = topK(ranked, top, (a, b) => b.uj - a.uj || b.w.cpuDeltaSec - a.w.cpuDeltaSec);
  const rows = best.map(({ w, uj }): ApiWorkload => {
    const g = gpu.get(w.info.key);
    let totalUj = g?.totalUj ?? 0n;
    for (const z of headline) totalUj += w.energyUj[z] + (w.idleUj?.[z] ?? 0n);
    return {
      ...name(w.info),
      watts: watts(uj, sec),
      zoneWatts: w.deltaUj.map((d, z) => watts(d + (w.idleDeltaUj?.[z] ?? 0), sec)),
      gpuWatts: watts(g?.deltaUj ?? 0, sec),
      joules: Number(totalUj) / 1e6,
      cpuCores: sec > 0 ? w.cpuDeltaSec / sec : 0,
    };
  });
  // Power no workload of the level carries: active CPU no workload explains, the idle power given
  // to none (idle attribution on; off, no workload carries idle and the page shows it apart), and
  // the GPUs' active power no workload explains.
  let unattributedUj = 0;
  for (const z of headline) unattributedUj += (snap.unattributedDeltaUj[z] ?? 0) + (snap.idle?.unattributedDeltaUj[z] ?? 0);
  for (const d of gpuLevel?.unattributedDeltaUj ?? []) unattributedUj += d;
  return { count, watts: watts(sumUj, sec), unattributedWatts: watts(unattributedUj, sec), top: rows };
}

function platformView(s: Snapshot, nowMonotonicMs: number): ApiPlatformSource[] {
  return s.platform.flatMap((p) =>
    p.state.readings.map(({ reading: r, readAtMs }) => ({
      source: r.source,
      id: platformSourceId(r),
      name: platformSourceName(r),
      watts: r.watts,
      ageSec: Math.max(0, (nowMonotonicMs - readAtMs) / 1000),
    })),
  );
}

/** A platform reading's identity: unique per source, BMC, chassis, type and id. */
export function platformSourceId(r: { source: string; bmcId: string; chassisId: string; sourceType: string; sourceId: string }): string {
  return [r.source, r.bmcId, r.chassisId, r.sourceType, r.sourceId].join('/');
}

/** A platform reading as a person knows it: its chassis and the source's name. */
export function platformSourceName(r: { chassisId: string; sourceName: string; sourceId: string }): string {
  return `${r.chassisId} ${r.sourceName || r.sourceId}`.trim();
}

/** Every level's running count, sums and top `top` workloads: the one pass over the workloads. */
export function levelsView(s: Snapshot, top: number): Record<ApiLevelName, ApiLevel> {
  const headline = headlineZoneIndexes(s);
  const namers = workloadNamers(s);
  return {
    process: levelView(s, 'process', top, namers.process, headline),
    container: levelView(s, 'container', top, namers.container, headline),
    pod: levelView(s, 'pod', top, namers.pod, headline),
    vm: levelView(s, 'vm', top, namers.vm, headline),
  };
}

/** The snapshot as /api/v1/snapshot shows it, with its levels from levelsView (cached per snapshot by the caller). */
export function snapshotView(s: Snapshot, ctx: ViewContext, levels: Record<ApiLevelName, ApiLevel>): ApiSnapshot {
  const sec = s.elapsedSec;
  const headline = headlineZoneIndexes(s);
  const gpus = (s.gpu?.devices ?? []).map((d) => ({
    index: d.index,
    uuid: d.uuid,
    name: d.name,
    watts: watts(d.deltaUj, sec),
    activeWatts: watts(d.activeDeltaUj, sec),
    idleWatts: watts(d.idleDeltaUj, sec),
    joules: Number(d.totalUj) / 1e6,
  }));
  const nodeUj = headline.reduce((a, z) => a + s.zones[z].deltaUj, 0) + (s.gpu?.devices ?? []).reduce((a, d) => a + d.deltaUj, 0);
  return {
    nodeName: ctx.nodeName,
    version: ctx.version,
    meter: ctx.meter,
    health: {
      status: ctx.health.status,
      failingZones: ctx.health.failingZones,
      // In an outage: no fresh reading after failed polls (before its first poll a source has neither).
      failingPlatform: s.platform.filter((p) => p.state.readings.length === 0 && Object.values(p.state.errors).some((n) => n > 0)).map((p) => p.name),
    },
    seq: s.seq,
    timestampMs: s.timestampMs,
    intervalSec: sec,
    refreshIntervalSec: ctx.refreshIntervalSec,
    usageRatio: s.usageRatio,
    headlineZones: headline.map((z) => s.zones[z].name),
    watts: watts(nodeUj, sec),
    zones: s.zones.map((z) => ({
      name: z.name,
      index: z.index,
      path: z.path,
      watts: watts(z.deltaUj, sec),
      activeWatts: watts(z.activeDeltaUj, sec),
      idleWatts: watts(z.idleDeltaUj, sec),
      joules: Number(z.totalUj) / 1e6,
    })),
    gpus,
    platform: platformView(s, ctx.nowMonotonicMs),
    levels,
  };
}
