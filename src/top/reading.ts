// From one or two scrapes of a Kepler-compatible endpoint to what `kepler-ts top` shows: the node's
// power per zone, the meter, and per level (process, container, pod, vm) the running workloads
// with their watts and energy. Pure.
//
// It reads what the endpoint exports, not what kepler-ts would: Kepler 0.11's names and labels
// (metrics.md), ours on top of them (the meter's name, the unattributed energy, the refresh time),
// and Kepler 0.7's legacy family (one counter per RAPL domain, split by `mode`). Watts come from
// the `_watts` gauges where a family has them, measured by the exporter over its own interval;
// where only `_joules_total` counters exist they come from the energy between two scrapes divided
// by the time between them. A workload's headline watts are the sum over the headline zones
// (headlineZoneNames: package + dram, never core or uncore, which package already contains) plus
// its GPUs.

import { headlineZoneNames } from '../util/powerZones.js';
import type { Exposition, Sample } from './exposition.js';

export const LEVELS = ['process', 'container', 'pod', 'vm'] as const;
export type Level = (typeof LEVELS)[number];

/** One scrape, and the time its data is of. */
export interface Scrape {
  exposition: Exposition;
  /** ms since the epoch. */
  atMs: number;
}

/**
 * A scrape's time: when the exporter says it refreshed (kepler-ts's
 * kepler_exporter_last_refresh_timestamp_seconds), which makes rates exact; else when the answer
 * arrived.
 */
export function scrapeAt(exposition: Exposition, receivedAtMs: number): Scrape {
  const refreshed = exposition.samples.find((s) => s.name === 'kepler_exporter_last_refresh_timestamp_seconds');
  const atMs = refreshed && Number.isFinite(refreshed.value) && refreshed.value > 0 ? refreshed.value * 1000 : receivedAtMs;
  return { exposition, atMs };
}

/**
 * The two scrapes that rates are computed between. An exporter refreshes on its own interval
 * (Kepler: 5 s), so scrapes more frequent than that see the same counters twice; a rate between
 * those would read 0 W. A scrape whose energy counters are those of the current one is skipped, so
 * that each data state keeps the time it was first seen, and a rate spans two different states.
 */
export interface CounterWindow {
  previous?: Scrape;
  current: Scrape;
  fingerprint: string;
}

function energyFingerprint(e: Exposition): string {
  const parts: string[] = [];
  for (const s of e.samples) if (s.name.startsWith('kepler_') && s.name.endsWith('_joules_total')) parts.push(String(s.value));
  return parts.join(',');
}

export function advanceWindow(w: CounterWindow | undefined, s: Scrape): CounterWindow {
  const fingerprint = energyFingerprint(s.exposition);
  if (w && fingerprint === w.fingerprint && s.atMs >= w.current.atMs) return w;
  return { previous: w?.current, current: s, fingerprint };
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
  /** Headline zones plus GPUs; undefined: not known yet (counters only, one scrape). */
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
  /** Where the watts come from: the exporter's gauges, or counters between two scrapes. */
  source: 'gauges' | 'counters';
  /** Counters only and a single scrape so far: watts are not known yet. */
  waiting: boolean;
  zones: ZonePower[];
  headlineZones: string[];
  usageRatio?: number;
  gpus: GpuPower[];
  platformWatts?: number;
  levels: Record<Level, LevelRows>;
}

// ---------- series and their power ----------

/** A series' labels as a stable key. */
function labelKey(labels: Record<string, string>): string {
  return Object.keys(labels)
    .sort()
    .map((k) => `${k}=${JSON.stringify(labels[k])}`)
    .join(',');
}

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
  private readonly prev: Map<string, number> | undefined;
  private readonly seconds: number;
  /** Set once a family had to be read from counters. */
  usedCounters = false;

  constructor(current: Scrape, previous: Scrape | undefined) {
    this.cur = new Index(current.exposition);
    this.seconds = previous ? (current.atMs - previous.atMs) / 1000 : 0;
    if (previous && this.seconds > 0) {
      this.prev = new Map();
      for (const s of previous.exposition.samples) if (s.name.endsWith('_joules_total')) this.prev.set(`${s.name}{${labelKey(s.labels)}}`, s.value);
    }
  }

  /** Watts of a counter series between the two scrapes; undefined with one scrape. */
  rate(s: Sample): number | undefined {
    if (!this.prev) return undefined;
    const before = this.prev.get(`${s.name}{${labelKey(s.labels)}}`);
    // A series new since the previous scrape started at 0 within the interval; a counter that went
    // down was reset (the exporter restarted): what it holds now is what it counted since.
    const delta = before === undefined || s.value < before ? s.value : s.value - before;
    return delta / this.seconds;
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

  /** Whether a scrape before this one is there to take rates against. */
  get hasPrevious(): boolean {
    return this.prev !== undefined;
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

/** Platform power: kepler_platform_watts summed over its sources (their sum is the machine's power); Kepler 0.7's platform domain. */
function platformWatts(r: Rates, legacy: boolean): number | undefined {
  if (legacy) {
    if (!r.cur.get('kepler_node_platform_joules_total').some((s) => s.value > 0)) return undefined;
    return r.family('kepler_node_platform').reduce<number | undefined>((a, q) => add(a, q.watts), undefined);
  }
  const series = r.family('kepler_platform');
  return series.length === 0 ? undefined : series.reduce<number | undefined>((a, q) => add(a, q.watts), undefined);
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

/** The label that identifies a workload at each level, in both families. */
const KEY_LABEL: Record<Level, string> = { process: 'pid', container: 'container_id', pod: 'pod_id', vm: 'vm_id' };

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

const currentFamilies = (level: Level | 'node'): string[] => [
  `kepler_${level}_cpu_joules_total`,
  `kepler_${level}_cpu_watts`,
  `kepler_${level}_gpu_joules_total`,
  `kepler_${level}_gpu_watts`,
];

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

/** kepler-ts: the active energy no running workload of the level explains, as watts between two scrapes. */
function unattributed(r: Rates, level: Level, headline: readonly string[]): Row | undefined {
  const name = 'kepler_node_cpu_unattributed_joules_total';
  const series = r.cur.get(name).filter((s) => s.labels.level === level);
  if (series.length === 0 || !r.hasPrevious) return undefined;
  const zoneWatts = headline.map((zone) => series.filter((s) => s.labels.zone === zone).reduce<number | undefined>((a, s) => add(a, r.rate(s)), undefined));
  const energyJ = series.filter((s) => headline.includes(s.labels.zone ?? '')).reduce((a, s) => a + s.value, 0);
  return { key: '', name: '(unattributed)', id: '', zoneWatts, watts: zoneWatts.reduce<number | undefined>(add, undefined), energyJ };
}

// ---------- the reading ----------

/** What `top` shows, from the current scrape and, for rates from counters, the one before it. */
export function readReading(current: Scrape, previous?: Scrape): Reading {
  const r = new Rates(current, previous);
  // Kepler 0.7 had kepler_container_cpu_cycles_total and the like: the families tell, not a prefix.
  const isCurrent = (['node', ...LEVELS] as const).some((l) => r.cur.hasAny(currentFamilies(l)));
  const legacy = !isCurrent && (r.cur.has('kepler_node_info') || (['node', ...LEVELS] as const).some((l) => r.cur.hasAny(legacyFamilies(l))));
  const zones = legacy ? legacyZones(r) : currentZones(r);
  // Without node series (metricsLevel without node), the zones the workloads are billed in.
  const zoneNames = zones.length > 0 ? zones.map((z) => z.zone) : LEVELS.flatMap((l) => r.cur.get(`kepler_${l}_cpu_joules_total`).map((s) => s.labels.zone ?? ''));
  const headlineZones = headlineZoneNames(zoneNames.filter(Boolean));
  const pods = podNames(r);
  const sources = Object.fromEntries(LEVELS.map((l) => [l, legacy ? legacyLevel(r, l, headlineZones) : currentLevel(r, l)])) as Record<Level, LevelSource>;
  const gpus = legacy ? legacyGpus(r) : currentGpus(r);
  const platform = platformWatts(r, legacy);
  const waiting = r.usedCounters && !r.hasPrevious;
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
    atMs: current.atMs,
    source: r.usedCounters ? 'counters' : 'gauges',
    waiting,
    zones,
    headlineZones,
    ...(usage === undefined ? {} : { usageRatio: usage }),
    gpus,
    ...(platform === undefined ? {} : { platformWatts: platform }),
    levels,
  };
}
