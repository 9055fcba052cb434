// From the scrapes of a Kepler-compatible endpoint to what `kepler-ts top` shows: the node's power
// per zone, the meter, and per level (process, container, pod, vm) the running workloads with
// their watts and energy. Pure.
//
// It reads what the endpoint exports, not what kepler-ts would: Kepler 0.11's names and labels
// (metrics.md), ours on top of them (the meter's name, the unattributed energy, the refresh time),
// and Kepler 0.7's legacy family (one counter per RAPL domain, split by `mode`). Watts come from
// the `_watts` gauges where a family has them, measured by the exporter over its own interval;
// where only `_joules_total` counters exist they come from the energy over a window of scrapes
// divided by its length (CounterHistory). A workload's headline watts are the sum over the
// headline zones (headlineZoneNames: package + dram, never core or uncore, which package already
// contains) plus its GPUs.

import { headlineZoneNames } from '../util/powerZones.js';
import type { Exposition, Sample } from './exposition.js';

export const LEVELS = ['process', 'container', 'pod', 'vm'] as const;
export type Level = (typeof LEVELS)[number];

/** One scrape. */
export interface Scrape {
  exposition: Exposition;
  /** When the answer arrived, ms since the epoch. */
  atMs: number;
  /** When the exporter says it refreshed what it answered (kepler-ts's kepler_exporter_last_refresh_timestamp_seconds), ms since the epoch. */
  refreshedAtMs?: number;
}

/** A scrape, with the exporter's refresh time when it exports one. */
export function scrapeAt(exposition: Exposition, receivedAtMs: number): Scrape {
  const refreshed = exposition.samples.find((s) => s.name === 'kepler_exporter_last_refresh_timestamp_seconds');
  if (!refreshed || !Number.isFinite(refreshed.value) || refreshed.value <= 0) return { exposition, atMs: receivedAtMs };
  return { exposition, atMs: receivedAtMs, refreshedAtMs: refreshed.value * 1000 };
}

// ---------- rates from counters ----------

/** The label that identifies a workload at each level, in both families. */
const KEY_LABEL: Record<Level, string> = { process: 'pid', container: 'container_id', pod: 'pod_id', vm: 'vm_id' };

/** A series' labels as a stable key. */
function labelKey(labels: Record<string, string>): string {
  return Object.keys(labels)
    .sort()
    .map((k) => `${k}=${JSON.stringify(labels[k])}`)
    .join(',');
}

const WORKLOAD_FAMILY = /^kepler_(process|container|pod|vm)_/;
/** Besides the level's key: what tells a workload's series apart. */
const WORKLOAD_IDENTITY = ['zone', 'gpu', 'gpu_uuid', 'mode', 'state'];

/**
 * What a counter is followed by from one scrape to the next. A workload's series by its id, zone,
 * GPU, mode and state only: its other labels (a container's name, its pod, a process's comm) can
 * be learnt after the series began, and a series under new labels is the same counter going on,
 * not a new one whose whole total was counted in one interval. Any other series by all its labels.
 */
function seriesId(s: Sample): string {
  const m = WORKLOAD_FAMILY.exec(s.name);
  if (!m) return `${s.name}{${labelKey(s.labels)}}`;
  const keys = [KEY_LABEL[m[1] as Level], ...WORKLOAD_IDENTITY];
  return `${s.name}{${keys.map((k) => `${k}=${JSON.stringify(s.labels[k] ?? '')}`).join(',')}}`;
}

const isCounter = (s: Sample): boolean => s.name.startsWith('kepler_') && s.name.endsWith('_joules_total');

/** A scrape's energy counters by series (seriesId). */
export function counterValues(s: Scrape): Map<string, number> {
  const out = new Map<string, number>();
  for (const x of s.exposition.samples) if (isCounter(x)) out.set(seriesId(x), x.value);
  return out;
}

/** What tells one state of the exporter's data from the next: its refresh time when it says it, else its counters. */
function fingerprint(s: Scrape): string {
  if (s.refreshedAtMs !== undefined) return `refreshed at ${s.refreshedAtMs}`;
  const parts: string[] = [];
  for (const x of s.exposition.samples) if (isCounter(x)) parts.push(String(x.value));
  return parts.join(',');
}

/** Rates from counters average over at least this long, once the counters have been watched this long. */
export const RATE_WINDOW_MS = 10_000;
/** States kept at most, whatever the clock does. */
const MAX_STATES = 1000;

/** The older end of a rate: each counter's value then (by seriesId), and the seconds from then to the latest data. */
export interface RateBase {
  values: ReadonlyMap<string, number>;
  seconds: number;
}

interface CounterState {
  fingerprint: string;
  values: Map<string, number>;
  /** When the exporter's data became this state, ms since the epoch; undefined: not known (the first state seen, without the exporter's refresh time). */
  sinceMs?: number;
  /** When the last scrape that saw it arrived. */
  lastSeenMs: number;
}

/**
 * The states of an exporter's counters as successive scrapes saw them, and the base of the rates
 * from them. An exporter refreshes on its own interval (Kepler: 5 s), which is not the scrape's:
 * a scrape sees a state that began at some time since the scrape before it. Timed by the first
 * scrape that saw it, an exporter refreshing every 3 s scraped every 2 s reads a steady 100 W as
 * 73.6, 147.3, ... So each change is timed at the midpoint between the last scrape that saw the
 * old state and the first that saw the new one (off by at most half the time between them), and a
 * rate spans at least RATE_WINDOW_MS (or the last two changes where they are further apart), of
 * which that error is a small part. Where the exporter exports its refresh time, that is when each
 * state began, exactly. Without it, the first state's start is not known: a rate needs two changes.
 */
export class CounterHistory {
  private readonly states: CounterState[];
  /** The latest scrape: what is drawn (gauges, labels, the meter's state); the counters only give the rates. */
  latest: Scrape;

  constructor(
    first: Scrape,
    private readonly windowMs = RATE_WINDOW_MS,
  ) {
    this.latest = first;
    this.states = [{ fingerprint: fingerprint(first), values: counterValues(first), sinceMs: first.refreshedAtMs, lastSeenMs: first.atMs }];
  }

  observe(s: Scrape): void {
    this.latest = s;
    const last = this.states[this.states.length - 1];
    const fp = fingerprint(s);
    if (fp === last.fingerprint) {
      last.lastSeenMs = Math.max(last.lastSeenMs, s.atMs);
      return;
    }
    this.states.push({ fingerprint: fp, values: counterValues(s), sinceMs: s.refreshedAtMs ?? (last.lastSeenMs + s.atMs) / 2, lastSeenMs: s.atMs });
    const base = this.baseIndex();
    const drop = Math.max(base ?? 0, this.states.length - MAX_STATES);
    if (drop > 0) this.states.splice(0, drop);
  }

  /** The newest state at least the window before the latest, else the oldest timed one; undefined: none yet. */
  private baseIndex(): number | undefined {
    const latest = this.states[this.states.length - 1].sinceMs;
    if (latest === undefined) return undefined;
    let found: number | undefined;
    for (let i = this.states.length - 2; i >= 0; i--) {
      const t = this.states[i].sinceMs;
      // Not timed, or after the latest (the clock went back): nothing older is usable either.
      if (t === undefined || t >= latest) break;
      found = i;
      if (latest - t >= this.windowMs) break;
    }
    return found;
  }

  /** Where the rates start; undefined until the counters have moved enough to time a change (watts not known yet). */
  base(): RateBase | undefined {
    const i = this.baseIndex();
    if (i === undefined) return undefined;
    const from = this.states[i];
    const to = this.states[this.states.length - 1];
    return { values: from.values, seconds: ((to.sinceMs ?? 0) - (from.sinceMs ?? 0)) / 1000 };
  }
}

export interface ZonePower {
  zone: string;
  watts?: number;
  activeWatts?: number;
  idleWatts?: number;
}

export interface GpuPower {
  gpu: string;
  name: string;
  watts?: number;
  activeWatts?: number;
  idleWatts?: number;
}

export interface Row {
  /** The workload's identity at its level: pid, container_id, pod_id or vm_id. */
  key: string;
  /** As a person knows it: comm, container name (with its pod), namespace/pod, VM name. */
  name: string;
  /** Short: the pid, 12 hex of a container id, the first group of a UUID. */
  id: string;
  /** Watts per headline zone, in the order of Reading.headlineZones; undefined: not known yet. */
  zoneWatts: (number | undefined)[];
  gpuWatts?: number;
  /** Headline zones plus GPUs; undefined: not known (counters only: not moved yet, or a series new since the rate's base). */
  watts?: number;
  /** Joules since the exporter started billing the workload: headline zones plus GPUs. */
  energyJ: number;
}

export interface LevelRows {
  /** Whether the endpoint exports anything at this level. */
  exported: boolean;
  /** Running workloads only: a terminated series holds its last values until it is dropped. */
  rows: Row[];
  /** Power no running workload of the level explains (kepler-ts's unattributed counters), when known. */
  unattributed?: Row;
}

export interface Reading {
  /** kepler-ts 0.1.0, Kepler v0.11.0, Kepler (0.7 metrics). */
  exporter: string;
  /** rapl, hwmon, estimator... or unknown. */
  meter: string;
  nodeName: string;
  atMs: number;
  /** Where the watts come from: the exporter's gauges, or counters over a window of scrapes. */
  source: 'gauges' | 'counters';
  /** Counters only, and they have not moved enough yet to time a change: watts are not known yet. */
  waiting: boolean;
  zones: ZonePower[];
  headlineZones: string[];
  usageRatio?: number;
  gpus: GpuPower[];
  /** The machine's power per platform source (and chassis), each the whole machine: never to be added up. */
  platform: PlatformPower[];
  levels: Record<Level, LevelRows>;
}

export interface PlatformPower {
  /** The source (redfish, acpi), with the chassis where a source reads several. */
  name: string;
  watts?: number;
}

// ---------- series and their power ----------

class Index {
  private readonly byName = new Map<string, Sample[]>();

  constructor(readonly exposition: Exposition) {
    for (const s of exposition.samples) {
      const list = this.byName.get(s.name);
      if (list) list.push(s);
      else this.byName.set(s.name, [s]);
    }
  }

  get(name: string): Sample[] {
    return this.byName.get(name) ?? [];
  }

  /** Whether the exposition has the family: samples, or at least its TYPE (kepler-ts declares empty families). */
  has(name: string): boolean {
    return this.byName.has(name) || this.exposition.types.has(name);
  }

  hasAny(names: readonly string[]): boolean {
    return names.some((n) => this.has(n));
  }
}

/** One series of a power family: its labels, its watts and its energy, each when known. */
interface Quantity {
  labels: Record<string, string>;
  watts?: number;
  joules?: number;
}

class Rates {
  readonly cur: Index;
  private readonly base: RateBase | undefined;
  /** Set once a family had to be read from counters. */
  usedCounters = false;

  constructor(current: Scrape, base: RateBase | undefined) {
    this.cur = new Index(current.exposition);
    this.base = base && base.seconds > 0 ? base : undefined;
  }

  /** Watts of a counter series since the base; undefined without one, or for a series new since it. */
  rate(s: Sample): number | undefined {
    if (!this.base) return undefined;
    const before = this.base.values.get(seriesId(s));
    // New since the base: how much of its total fell in the window is not known (as Prometheus's
    // rate() leaves a series' first sample without one). A counter that went down was reset (the
    // exporter restarted): what it holds now is what it counted since.
    if (before === undefined) return undefined;
    return (s.value < before ? s.value : s.value - before) / this.base.seconds;
  }

  /**
   * The series of `<base>_watts` and `<base>_joules_total`, merged by labels. Watts from the gauge
   * when the endpoint exports it, else from the counter's rate.
   */
  family(base: string, keep: (labels: Record<string, string>) => boolean = () => true): Quantity[] {
    const out = new Map<string, Quantity>();
    const at = (labels: Record<string, string>): Quantity => {
      const key = labelKey(labels);
      let q = out.get(key);
      if (!q) out.set(key, (q = { labels }));
      return q;
    };
    const gauges = this.cur.has(`${base}_watts`);
    if (!gauges && this.cur.get(`${base}_joules_total`).length > 0) this.usedCounters = true;
    for (const s of this.cur.get(`${base}_joules_total`)) {
      if (!keep(s.labels)) continue;
      const q = at(s.labels);
      q.joules = s.value;
      if (!gauges) q.watts = this.rate(s);
    }
    if (gauges) for (const s of this.cur.get(`${base}_watts`)) if (keep(s.labels)) at(s.labels).watts = s.value;
    return [...out.values()];
  }

  /** Whether there is a base to take rates from. */
  get hasBase(): boolean {
    return this.base !== undefined;
  }
}

const add = (a: number | undefined, b: number | undefined): number | undefined => (a === undefined ? b : b === undefined ? a : a + b);

// ---------- the node ----------

/** The entry of `map` at `key`, made by `make` the first time. */
function entry<K, V>(map: Map<K, V>, key: K, make: () => V): V {
  let v = map.get(key);
  if (v === undefined) map.set(key, (v = make()));
  return v;
}

type PowerField = 'watts' | 'activeWatts' | 'idleWatts';

/** Adds each series' watts into the entry it belongs to. */
function sumInto(series: readonly Quantity[], field: PowerField, of: (labels: Record<string, string>) => Partial<Record<PowerField, number>>): void {
  for (const q of series) {
    const e = of(q.labels);
    e[field] = add(e[field], q.watts);
  }
}

/** Node zones of the current family, summed by zone name (one series per socket where an exporter does not aggregate). */
function currentZones(r: Rates): ZonePower[] {
  const zones = new Map<string, ZonePower>();
  const of = (l: Record<string, string>): ZonePower => entry(zones, l.zone ?? '', () => ({ zone: l.zone ?? '' }));
  sumInto(r.family('kepler_node_cpu'), 'watts', of);
  sumInto(r.family('kepler_node_cpu_active'), 'activeWatts', of);
  sumInto(r.family('kepler_node_cpu_idle'), 'idleWatts', of);
  return [...zones.values()];
}

function currentGpus(r: Rates): GpuPower[] {
  const gpus = new Map<string, GpuPower>();
  const of = (l: Record<string, string>): GpuPower => {
    const g = entry(gpus, l.gpu ?? l.gpu_uuid ?? '', () => ({ gpu: l.gpu ?? l.gpu_uuid ?? '', name: '' }));
    g.name ||= l.gpu_name ?? '';
    return g;
  };
  sumInto(r.family('kepler_node_gpu'), 'watts', of);
  sumInto(r.family('kepler_node_gpu_active'), 'activeWatts', of);
  sumInto(r.family('kepler_node_gpu_idle'), 'idleWatts', of);
  return [...gpus.values()];
}

/** Kepler 0.7's CPU domains: kepler_<level>_<domain>_joules_total. */
const LEGACY_CPU_DOMAINS = ['package', 'core', 'uncore', 'dram', 'other'];
const LEGACY_DOMAINS = [...LEGACY_CPU_DOMAINS, 'gpu', 'platform'];

/** Kepler 0.7's node: kepler_node_<domain>_joules_total{package=<socket or GPU>, mode=dynamic|idle}. */
function legacyNode(r: Rates, domain: string, of: (labels: Record<string, string>) => ZonePower | GpuPower): void {
  const series = r.family(`kepler_node_${domain}`);
  sumInto(series, 'watts', of);
  sumInto(
    series.filter((q) => q.labels.mode === 'dynamic'),
    'activeWatts',
    of,
  );
  sumInto(
    series.filter((q) => q.labels.mode === 'idle'),
    'idleWatts',
    of,
  );
}

function legacyZones(r: Rates): ZonePower[] {
  const zones = new Map<string, ZonePower>();
  for (const zone of LEGACY_CPU_DOMAINS) legacyNode(r, zone, () => entry(zones, zone, (): ZonePower => ({ zone })));
  // Kepler 0.7 exports every domain, with zeros where the meter has none (uncore and other on most servers).
  const all = [...zones.values()];
  const measured = all.filter((z) => r.cur.get(`kepler_node_${z.zone}_joules_total`).some((s) => s.value > 0));
  return measured.length > 0 ? measured : all;
}

function legacyGpus(r: Rates): GpuPower[] {
  const gpus = new Map<string, GpuPower>();
  legacyNode(r, 'gpu', (l) => entry(gpus, l.package ?? '', (): GpuPower => ({ gpu: l.package ?? '', name: '' })));
  return [...gpus.values()];
}

/**
 * Redfish's readings of a chassis, whole first: EnvironmentMetrics and PowerControl read the
 * chassis, the power supplies share it (their sum is the chassis' power). kepler-ts exports one
 * kind per chassis; Kepler may export a PowerControl beside the supplies it adds up.
 */
const CHASSIS_WHOLE_FIRST = ['EnvironmentMetrics', 'PowerControl', 'PowerSupply'];

/**
 * Platform power, per source: each source (Redfish, ACPI's power meter) measures the whole
 * machine, so sources are shown side by side, never added. Within a source, per chassis, the
 * readings of the first kind of CHASSIS_WHOLE_FIRST it has, summed (anything else: all of its
 * readings). Kepler 0.7: its platform domain, all modes.
 */
function platformPower(r: Rates, legacy: boolean): PlatformPower[] {
  if (legacy) {
    if (!r.cur.get('kepler_node_platform_joules_total').some((s) => s.value > 0)) return [];
    const watts = r.family('kepler_node_platform').reduce<number | undefined>((a, q) => add(a, q.watts), undefined);
    return [{ name: firstLabels(r, 'kepler_node_info')?.platform_power_source || 'platform', watts }];
  }
  const sources = new Map<string, Map<string, Quantity[]>>();
  for (const q of r.family('kepler_platform')) {
    const chassis = entry(sources, q.labels.source || 'platform', () => new Map<string, Quantity[]>());
    entry(chassis, `${q.labels.bmc_id ?? ''}/${q.labels.chassis_id ?? ''}`, () => []).push(q);
  }
  const out: PlatformPower[] = [];
  for (const [source, chassis] of sources) {
    for (const [key, readings] of chassis) {
      const kind = CHASSIS_WHOLE_FIRST.find((k) => readings.some((q) => q.labels.source_type === k));
      const chosen = kind === undefined ? readings : readings.filter((q) => q.labels.source_type === kind);
      const watts = chosen.reduce<number | undefined>((a, q) => add(a, q.watts), undefined);
      out.push({ name: chassis.size === 1 ? source : `${source} ${key.startsWith('/') ? key.slice(1) : key}`, watts });
    }
  }
  return out;
}

// ---------- who and what ----------

function firstLabels(r: Rates, name: string): Record<string, string> | undefined {
  return r.cur.get(name)[0]?.labels;
}

function describeExporter(r: Rates, legacy: boolean): string {
  const build = firstLabels(r, 'kepler_build_info') ?? firstLabels(r, 'kepler_exporter_build_info');
  const version = build?.version ?? '';
  if (build && 'nodeversion' in build) return `kepler-ts ${version}`.trim();
  if (legacy) return version ? `Kepler ${version} (0.7 metrics)` : 'Kepler (0.7 metrics)';
  return `Kepler ${version}`.trim();
}

/**
 * The meter: kepler-ts names it (kepler_exporter_meter_info, with its state when it has one);
 * against Kepler, the kind of the zones' sysfs paths, or Kepler 0.7's components_power_source.
 */
function describeMeter(r: Rates, legacy: boolean): string {
  const info = firstLabels(r, 'kepler_exporter_meter_info');
  if (info?.meter) return info.state ? `${info.meter} (${info.state})` : info.meter;
  if (legacy) return firstLabels(r, 'kepler_node_info')?.components_power_source || 'unknown';
  const paths = [...r.cur.get('kepler_node_cpu_joules_total'), ...r.cur.get('kepler_node_cpu_watts')].map((s) => s.labels.path ?? '');
  if (paths.some((p) => p.includes('intel-rapl'))) return 'rapl';
  if (paths.some((p) => p.includes('hwmon'))) return 'hwmon';
  return 'unknown';
}

function nodeName(r: Rates, legacy: boolean): string {
  for (const name of ['kepler_node_cpu_joules_total', 'kepler_node_cpu_watts', 'kepler_node_cpu_usage_ratio', 'kepler_node_package_joules_total', 'kepler_node_info']) {
    const l = firstLabels(r, name);
    if (l?.node_name) return l.node_name;
    if (legacy && l?.instance) return l.instance;
  }
  for (const s of r.cur.exposition.samples) if (s.name.startsWith('kepler_') && s.labels.node_name) return s.labels.node_name;
  return '';
}

// ---------- workloads ----------

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** An id as people quote it: 12 hex of a container id (as docker ps), the first group of a UUID. */
export function shortId(id: string): string {
  if (/^[0-9a-f]{13,}$/i.test(id)) return id.slice(0, 12);
  if (UUID.test(id)) return id.slice(0, 8);
  return id;
}

interface PodName {
  name: string;
  namespace: string;
}

/** Pod names by pod_id, from the pod level's series (any state: a container's pod may have ended first). */
function podNames(r: Rates): Map<string, PodName> {
  const out = new Map<string, PodName>();
  for (const name of ['kepler_pod_cpu_joules_total', 'kepler_pod_cpu_watts']) {
    for (const s of r.cur.get(name)) if (s.labels.pod_id && s.labels.pod_name) out.set(s.labels.pod_id, { name: s.labels.pod_name, namespace: s.labels.pod_namespace ?? '' });
  }
  return out;
}

const podText = (p: PodName): string => (p.namespace ? `${p.namespace}/${p.name}` : p.name);

function displayName(level: Level, labels: Record<string, string>, pods: Map<string, PodName>): { name: string; id: string } {
  const key = labels[KEY_LABEL[level]] ?? '';
  switch (level) {
    case 'process':
      return { name: labels.comm ?? labels.command ?? '', id: key };
    case 'container': {
      const name = labels.container_name || shortId(key);
      // Kepler 0.11 joins through pod_id; Kepler 0.7 wrote the pod on the container's series, and
      // its pseudo containers (system_processes, kernel_processes) name themselves as their pod.
      const pod =
        pods.get(labels.pod_id ?? '') ?? (labels.pod_name && labels.pod_name !== name ? { name: labels.pod_name, namespace: labels.container_namespace ?? '' } : undefined);
      return { name: pod ? `${name} (${podText(pod)})` : name, id: shortId(key) };
    }
    case 'pod':
      return { name: labels.pod_name ? podText({ name: labels.pod_name, namespace: labels.pod_namespace ?? '' }) : key, id: shortId(key) };
    case 'vm':
      return { name: labels.vm_name || key, id: shortId(key) };
  }
}

interface LevelSource {
  /** CPU series with their zone in `zone`. */
  cpu: Quantity[];
  gpu: Quantity[];
  exported: boolean;
}

const running = (l: Record<string, string>): boolean => l.state === undefined || l.state === 'running';

const currentCpuFamilies = (level: Level | 'node'): string[] => [`kepler_${level}_cpu_joules_total`, `kepler_${level}_cpu_watts`];
/** Kepler 0.7 on a GPU node exports kepler_<level>_gpu_joules_total too, under the same names: only the CPU families tell the two apart. */
const currentFamilies = (level: Level | 'node'): string[] => [...currentCpuFamilies(level), `kepler_${level}_gpu_joules_total`, `kepler_${level}_gpu_watts`];

function currentLevel(r: Rates, level: Level): LevelSource {
  return {
    cpu: r.family(`kepler_${level}_cpu`, running),
    gpu: r.family(`kepler_${level}_gpu`, running),
    exported: r.cur.hasAny(currentFamilies(level)),
  };
}

const legacyFamilies = (level: Level | 'node'): string[] => LEGACY_DOMAINS.map((d) => `kepler_${level}_${d}_joules_total`);

/** Kepler 0.7: one family per domain, `mode` dynamic (active, what the current family bills) or idle. It had no pod level. */
function legacyLevel(r: Rates, level: Level, zones: readonly string[]): LevelSource {
  const dynamic = (l: Record<string, string>) => l.mode === undefined || l.mode === 'dynamic';
  const cpu = zones.flatMap((zone) => r.family(`kepler_${level}_${zone}`, dynamic).map((q) => ({ ...q, labels: { ...q.labels, zone } })));
  return { cpu, gpu: r.family(`kepler_${level}_gpu`, dynamic), exported: r.cur.hasAny(legacyFamilies(level)) };
}

function levelRows(level: Level, src: LevelSource, headline: readonly string[], pods: Map<string, PodName>, waiting: boolean): Row[] {
  const rows = new Map<string, Row & { labels: Record<string, string> }>();
  const at = (labels: Record<string, string>) => {
    const key = labels[KEY_LABEL[level]] ?? '';
    let row = rows.get(key);
    if (!row) rows.set(key, (row = { key, name: '', id: '', labels, zoneWatts: headline.map(() => undefined), energyJ: 0 }));
    return row;
  };
  for (const q of src.cpu) {
    const z = headline.indexOf(q.labels.zone ?? '');
    const row = at(q.labels);
    if (z < 0) continue;
    row.zoneWatts[z] = add(row.zoneWatts[z], q.watts);
    row.energyJ += q.joules ?? 0;
  }
  for (const q of src.gpu) {
    const row = at(q.labels);
    row.gpuWatts = add(row.gpuWatts, q.watts);
    row.energyJ += q.joules ?? 0;
  }
  return [...rows.values()].map(({ labels, ...row }) => {
    const watts = waiting ? undefined : row.zoneWatts.reduce<number | undefined>(add, row.gpuWatts);
    return { ...row, ...displayName(level, labels, pods), watts };
  });
}

/**
 * kepler-ts: the active energy no running workload of the level explains, in the headline zones
 * and on the GPUs, as watts from its counters (so not before they have moved).
 */
function unattributed(r: Rates, level: Level, headline: readonly string[]): Row | undefined {
  const cpu = r.cur.get('kepler_node_cpu_unattributed_joules_total').filter((s) => s.labels.level === level);
  const gpu = r.cur.get('kepler_node_gpu_unattributed_joules_total').filter((s) => s.labels.level === level);
  if ((cpu.length === 0 && gpu.length === 0) || !r.hasBase) return undefined;
  const zoneWatts = headline.map((zone) => cpu.filter((s) => s.labels.zone === zone).reduce<number | undefined>((a, s) => add(a, r.rate(s)), undefined));
  const gpuWatts = gpu.reduce<number | undefined>((a, s) => add(a, r.rate(s)), undefined);
  const energyJ = [...cpu.filter((s) => headline.includes(s.labels.zone ?? '')), ...gpu].reduce((a, s) => a + s.value, 0);
  return {
    key: '',
    name: '(unattributed)',
    id: '',
    zoneWatts,
    ...(gpuWatts === undefined ? {} : { gpuWatts }),
    watts: zoneWatts.reduce<number | undefined>(add, gpuWatts),
    energyJ,
  };
}

// ---------- the reading ----------

/** What `top` shows: everything from the latest scrape; watts from counters since `base` (CounterHistory.base()). */
export function readReading(current: Scrape, base?: RateBase): Reading {
  const r = new Rates(current, base);
  // Kepler 0.7 had kepler_container_cpu_cycles_total and the like, and its GPU families have the
  // current names: the CPU energy families tell, not a prefix.
  const isCurrent = (['node', ...LEVELS] as const).some((l) => r.cur.hasAny(currentCpuFamilies(l)));
  const legacy = !isCurrent && (r.cur.has('kepler_node_info') || (['node', ...LEVELS] as const).some((l) => r.cur.hasAny(legacyFamilies(l).filter((f) => !f.includes('_gpu_')))));
  const zones = legacy ? legacyZones(r) : currentZones(r);
  // Without node series (metricsLevel without node), the zones the workloads are billed in.
  const zoneNames = zones.length > 0 ? zones.map((z) => z.zone) : LEVELS.flatMap((l) => r.cur.get(`kepler_${l}_cpu_joules_total`).map((s) => s.labels.zone ?? ''));
  const headlineZones = headlineZoneNames(zoneNames.filter(Boolean));
  const pods = podNames(r);
  const sources = Object.fromEntries(LEVELS.map((l) => [l, legacy ? legacyLevel(r, l, headlineZones) : currentLevel(r, l)])) as Record<Level, LevelSource>;
  const gpus = legacy ? legacyGpus(r) : currentGpus(r);
  const platform = platformPower(r, legacy);
  const waiting = r.usedCounters && !r.hasBase;
  const levels = Object.fromEntries(
    LEVELS.map((l) => [
      l,
      {
        exported: sources[l].exported,
        rows: levelRows(l, sources[l], headlineZones, pods, waiting),
        ...(legacy ? {} : { unattributed: unattributed(r, l, headlineZones) }),
      },
    ]),
  ) as Record<Level, LevelRows>;
  const usage = r.cur.get('kepler_node_cpu_usage_ratio')[0]?.value;
  return {
    exporter: describeExporter(r, legacy),
    meter: describeMeter(r, legacy),
    nodeName: nodeName(r, legacy),
    atMs: current.refreshedAtMs ?? current.atMs,
    source: r.usedCounters ? 'counters' : 'gauges',
    waiting,
    zones,
    headlineZones,
    ...(usage === undefined ? {} : { usageRatio: usage }),
    gpus,
    platform,
    levels,
  };
}
