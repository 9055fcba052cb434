// The arithmetic of Kepler 0.7's metric family (metrics.md, "Legacy family"): the energy of each
// RAPL domain is a metric of its own, and the meter's zones map onto those domains. Pure
// functions over per-zone µJ totals; the collector does the printing.

export const LEGACY_DOMAINS = ['package', 'core', 'uncore', 'dram', 'other', 'gpu', 'platform'] as const;
export type LegacyDomain = (typeof LEGACY_DOMAINS)[number];

/** Domains read straight from zones; `other` is derived and `gpu` has no meter in kepler-ts. */
type ZoneDomain = Exclude<LegacyDomain, 'other' | 'gpu'>;

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

/** Domains that get real numbers on this meter; the others are exported as 0, as Kepler 0.7 did. */
export function measuredDomains(map: DomainZones): LegacyDomain[] {
  return LEGACY_DOMAINS.filter((d) => (d === 'other' ? map.platform.length > 0 : d !== 'gpu' && map[d].length > 0));
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
