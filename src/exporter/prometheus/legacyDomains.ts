// The arithmetic of Kepler 0.7's metric family (metrics.md, "Legacy family"): the energy of each
// RAPL domain is a metric of its own, and the meter's zones map onto those domains; the node's
// series are per socket. Pure functions over per-zone µJ totals; the collector does the printing.

export const LEGACY_DOMAINS = ['package', 'core', 'uncore', 'dram', 'other', 'gpu', 'platform'] as const;
export type LegacyDomain = (typeof LEGACY_DOMAINS)[number];

/** Domains read straight from zones; `other` is derived and `gpu` comes from a GPU meter. */
type ZoneDomain = Exclude<LegacyDomain, 'other' | 'gpu'>;
const ZONE_DOMAINS: readonly ZoneDomain[] = ['package', 'core', 'uncore', 'dram', 'platform'];

const DOMAIN_OF_ZONE: Record<string, ZoneDomain> = {
  package: 'package',
  core: 'core',
  uncore: 'uncore',
  dram: 'dram',
  psys: 'platform', // RAPL's platform domain
  platform: 'platform', // the estimator's whole-machine zone
};

/** For each domain read from zones, the indexes (into Snapshot.zones) of the zones that make it. */
export type DomainZones = Record<ZoneDomain, number[]>;

export function domainZones(zoneNames: readonly string[]): DomainZones {
  const map: DomainZones = { package: [], core: [], uncore: [], dram: [], platform: [] };
  zoneNames.forEach((name, i) => {
    const d = DOMAIN_OF_ZONE[name];
    if (d) map[d].push(i);
  });
  return map;
}

/**
 * Domains exported: all, but `gpu` only with a GPU meter (Kepler 0.7 left its gpu names out on a
 * node without one; a 0 would read as a GPU that draws nothing).
 */
export function exportedDomains(gpu: boolean): LegacyDomain[] {
  return LEGACY_DOMAINS.filter((d) => gpu || d !== 'gpu');
}

/** Domains that get real numbers on this meter; the other exported ones read 0, as Kepler 0.7's did. */
export function measuredDomains(map: DomainZones, gpu = false): LegacyDomain[] {
  return LEGACY_DOMAINS.filter((d) => (d === 'other' ? map.platform.length > 0 : d === 'gpu' ? gpu : map[d].length > 0));
}

/** Zone names no domain takes (a hwmon sensor, say): the legacy family leaves them out. */
export function unmappedZones(zoneNames: readonly string[]): string[] {
  return zoneNames.filter((n) => !(n in DOMAIN_OF_ZONE));
}

/**
 * The seven domain energies, in the order of LEGACY_DOMAINS, from per-zone energies in µJ.
 * `other` is what the platform measures beyond the package and memory (Kepler 0.7's "host
 * energy less RAPL package and DRAM"), never below 0; unmeasured domains and `gpu` are 0.
 */
export function domainEnergies(perZoneUj: readonly bigint[], map: DomainZones): bigint[] {
  const sum = (zones: number[]) => zones.reduce((acc, z) => acc + perZoneUj[z], 0n);
  const pkg = sum(map.package);
  const dram = sum(map.dram);
  const platform = sum(map.platform);
  const rest = platform - pkg - dram;
  const other = map.platform.length > 0 && rest > 0n ? rest : 0n;
  return [pkg, sum(map.core), sum(map.uncore), dram, other, 0n, platform];
}

/** One zone's energy for the node series: the zone's, and a summed zone's parts (sockets), adding up to it. */
export interface ZoneEnergy {
  readonly index: number;
  readonly uj: bigint;
  readonly parts?: readonly { readonly index: number; readonly uj: bigint }[];
}

/** One node series group of Kepler 0.7: a socket (`package` label) and its domains. */
export interface SocketEnergies {
  readonly socket: number;
  /** In the order of LEGACY_DOMAINS; 0 where `has` is false. */
  readonly domainsUj: bigint[];
  /** The domains this socket has a series for. */
  readonly has: boolean[];
}

/**
 * Kepler 0.7's node series, one per socket: each zone-backed domain on the sockets its zones'
 * parts are on (a zone with no parts on its own index: psys, a one-socket package), and the
 * domains no socket holds (`other`, derived from node totals, and those no zone measures, which
 * read 0) once, on the first socket. So for every domain the sockets add up to domainEnergies of
 * the zone totals exactly. `gpu` is on no socket: GPUs are series of their own. Ascending sockets.
 */
export function socketDomainEnergies(zones: readonly ZoneEnergy[], map: DomainZones): SocketEnergies[] {
  const bySocket = new Map<number, SocketEnergies>();
  const at = (socket: number) => {
    let e = bySocket.get(socket);
    if (!e) bySocket.set(socket, (e = { socket, domainsUj: LEGACY_DOMAINS.map(() => 0n), has: LEGACY_DOMAINS.map(() => false) }));
    return e;
  };
  for (const domain of ZONE_DOMAINS) {
    const d = LEGACY_DOMAINS.indexOf(domain);
    for (const zi of map[domain]) {
      const z = zones[zi];
      for (const p of z.parts ?? [z]) {
        const e = at(p.index);
        e.domainsUj[d] += p.uj;
        e.has[d] = true;
      }
    }
  }
  const node = domainEnergies(
    zones.map((z) => z.uj),
    map,
  );
  const head = at(firstSocket(zones, map));
  LEGACY_DOMAINS.forEach((domain, d) => {
    if (domain === 'gpu' || [...bySocket.values()].some((e) => e.has[d])) return;
    head.domainsUj[d] = node[d];
    head.has[d] = true;
  });
  return [...bySocket.values()].sort((a, b) => a.socket - b.socket);
}

/** The socket that holds the node-wide domains: the package's first, else any zone's first, else 0. */
function firstSocket(zones: readonly ZoneEnergy[], map: DomainZones): number {
  const socketsOf = (zi: number) => (zones[zi].parts ?? [zones[zi]]).map((p) => p.index);
  const pkg = map.package.flatMap(socketsOf);
  const any = ZONE_DOMAINS.flatMap((d) => map[d].flatMap(socketsOf));
  const from = pkg.length ? pkg : any;
  return from.length ? Math.min(...from) : 0;
}

const PACKAGE = LEGACY_DOMAINS.indexOf('package');
const DRAM = LEGACY_DOMAINS.indexOf('dram');
const OTHER = LEGACY_DOMAINS.indexOf('other');
const GPU = LEGACY_DOMAINS.indexOf('gpu');

/** Kepler 0.7's `kepler_<level>_joules_total`: package + dram + other + gpu. */
export function legacyTotal(domainsUj: readonly bigint[]): bigint {
  return domainsUj[PACKAGE] + domainsUj[DRAM] + domainsUj[OTHER] + domainsUj[GPU];
}

/**
 * Keeps printed counters from going down. Every domain is a sum of monotonic totals except
 * `other`, a difference: an interval in which the platform zone gained less than package and
 * dram together (zones read microseconds apart, rounding of workload shares) would lower it,
 * and Prometheus would read a counter reset. Keyed by an object per series group (a workload's
 * immutable info, or a fixed key for the node), held weakly so ended workloads cost nothing.
 */
export class NonDecreasing<K extends object> {
  private readonly last = new WeakMap<K, bigint[]>();

  apply(key: K, valuesUj: bigint[]): bigint[] {
    const prev = this.last.get(key);
    const out = prev ? valuesUj.map((v, i) => (v < prev[i] ? prev[i] : v)) : valuesUj;
    this.last.set(key, out);
    return out;
  }
}
