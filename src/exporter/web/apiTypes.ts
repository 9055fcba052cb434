// The JSON of the live page's API (/api/v1/snapshot, /api/v1/history), as the exporter writes it
// and the page (web/page/) reads it. Types only, so the browser bundle can import them too.
// Watts are over the snapshot's interval (or a history point's); energies are joules since the
// exporter started. README, "The live page and its API", documents every field.

export const API_LEVELS = ['process', 'container', 'pod', 'vm'] as const;
export type ApiLevelName = (typeof API_LEVELS)[number];

export interface ApiMeter {
  /** The meter in use: rapl, hwmon, passthrough, estimator, fake. */
  name: string;
  /** What the meter says it is doing (kepler_exporter_meter_info's state), when it says. */
  state?: string;
  /** True when power is estimated from CPU usage, not measured. */
  estimated: boolean;
  /** The estimator's model (specpower, tdp, ...), when estimated. */
  model?: string;
  /** One sentence on what is estimated and how, when estimated. */
  notice?: string;
}

export interface ApiHealth {
  /** ok, degraded, meter_failing or stale: as /healthz. */
  status: string;
  /** `zone/index` of the zones that have been unreadable, or read without advancing, for 3 refreshes. */
  failingZones: string[];
  /** Platform sources in an outage (no fresh reading after failed polls), by name: redfish, acpi. */
  failingPlatform: string[];
}

export interface ApiZone {
  name: string;
  index: number;
  path: string;
  watts: number;
  activeWatts: number;
  idleWatts: number;
  joules: number;
}

export interface ApiGpu {
  index: number;
  uuid: string;
  name: string;
  watts: number;
  activeWatts: number;
  idleWatts: number;
  joules: number;
}

export interface ApiPlatformSource {
  /** redfish or acpi. */
  source: string;
  /** Unique per source: bmc/chassis/type/id. */
  id: string;
  /** As a person knows it: the chassis and the source's name. */
  name: string;
  watts: number;
  /** Seconds since the source was read. */
  ageSec: number;
}

export interface ApiWorkload {
  /**
   * The workload's id, unique in its level for the exporter's life: a process's pid and start time
   * (`pid:ticks`: a pid is reused), the container id, the pod UID, the VM id.
   */
  id: string;
  /** As a person knows it: `comm (pid)`, the container name, `namespace/name`, the VM name. */
  name: string;
  /** More on it, shown in smaller type: the container's pod, a process's container, the runtime. */
  detail: string;
  /**
   * CPU watts over the headline zones (Snapshot.headlineZones: package + dram, never core or
   * uncore, which package contains), plus its share of idle power when idle attribution is on,
   * plus its GPU watts.
   */
  watts: number;
  /** CPU watts per zone (active, and idle share when attributed), in the order of ApiSnapshot.zones. */
  zoneWatts: number[];
  gpuWatts: number;
  /** Energy since the exporter first saw it, over the same zones and GPUs as `watts`, joules. */
  joules: number;
  /** CPU seconds in the interval divided by its length: 1 = one core busy. */
  cpuCores: number;
}

export interface ApiLevel {
  /** Running workloads of the level (all of them, not only `top`). */
  count: number;
  /** Sum of `watts` over all running workloads of the level. */
  watts: number;
  /**
   * Watts over the headline zones and GPUs that no workload of the level carries: active CPU power
   * no workload explains, plus, with idle attribution on, the idle power given to none, plus the
   * GPUs' active power no workload explains. So `watts + unattributedWatts` is the node's `watts`
   * with idle attribution on, and the node's active watts (headline zones and GPUs) without it.
   */
  unattributedWatts: number;
  /** The N running workloads with the most watts, most first. */
  top: ApiWorkload[];
}

export interface ApiSnapshot {
  nodeName: string;
  version: string;
  meter: ApiMeter;
  health: ApiHealth;
  /** Sequence number of the refresh. */
  seq: number;
  /** Wall-clock time of the refresh, ms since the epoch. */
  timestampMs: number;
  /** Seconds the interval covers (0 for the first, baseline, refresh). */
  intervalSec: number;
  /** monitor.interval in seconds (0: refreshed only when scraped). */
  refreshIntervalSec: number;
  /** Node CPU usage of the interval, 0..1. */
  usageRatio: number;
  /** The zone names `watts` sums: package and dram, else psys, else the first zone. */
  headlineZones: string[];
  /** Node watts over the headline zones, plus every GPU. */
  watts: number;
  zones: ApiZone[];
  gpus: ApiGpu[];
  platform: ApiPlatformSource[];
  levels: Record<ApiLevelName, ApiLevel>;
}

/** A workload named in the history, by the key points refer to it with. */
export interface ApiHistoryWorkload {
  id: string;
  name: string;
  detail: string;
}

export interface ApiHistoryPoint {
  /** End of the point's interval, ms since the epoch (the wall clock at start, advanced by a monotonic clock). */
  t: number;
  /** Seconds the point covers. */
  sec: number;
  /** Per zone of ApiHistory.zones: active and idle watts. */
  active: number[];
  idle: number[];
  /** Per GPU of ApiHistory.gpus: active and idle watts. */
  gpu: number[];
  gpuIdle: number[];
  /** Per source of ApiHistory.platform: watts, null when it had no reading. */
  platform: (number | null)[];
  /** Per level, the top workloads of the point: [workload key in ApiHistory.workloads, watts]. */
  top: Record<ApiLevelName, [number, number][]>;
}

export interface ApiHistory {
  /** How far back points are kept, seconds. */
  windowSec: number;
  /** A point covers at least this many seconds (refreshes closer together are merged). */
  minStepSec: number;
  zones: { name: string; index: number }[];
  gpus: { index: number; name: string }[];
  platform: { id: string; name: string }[];
  /** The workloads the points name, by key (a decimal string of a number). */
  workloads: Record<string, ApiHistoryWorkload>;
  /** Oldest first; with ?since=T only those with t > T. */
  points: ApiHistoryPoint[];
}
