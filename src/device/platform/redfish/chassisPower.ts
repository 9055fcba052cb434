// Which number is a chassis' power at the wall, from the Redfish resources already fetched: pure,
// so the order of sources is tested without a BMC. The order (issue 16): the power supplies' input
// watts (PowerSubsystem/PowerSupplies/*/Metrics.InputPowerWatts), else the chassis'
// EnvironmentMetrics.PowerWatts, else the deprecated Power.PowerControl[].PowerConsumedWatts (only
// the members with PhysicalContext "Chassis" when there are some).
// Kepler reads the supplies' PowerOutputWatts, which misses their own losses; input is what the
// wall delivers. The source_type values PowerSupply and PowerControl are Kepler's own
// (internal/platform/redfish/types.go); EnvironmentMetrics is ours, Kepler does not read it.
// BMC JSON is untrusted: a property of the wrong type counts as absent, never as a crash.

import type { PlatformReading } from '../platformSource.js';

/** A JSON object from the BMC, read loosely: every property is checked before use. */
export type RedfishJson = Readonly<Record<string, unknown>>;

/** One power supply: its resource and, when it has one and is present, its PowerSupplyMetrics. */
export interface PsuResources {
  readonly psu: RedfishJson;
  readonly metrics?: RedfishJson;
}

/** What the client fetched for one chassis; a source not fetched (or not offered) is undefined. */
export interface ChassisResources {
  readonly chassis: RedfishJson;
  readonly psus?: readonly PsuResources[];
  readonly environmentMetrics?: RedfishJson;
  readonly power?: RedfishJson;
}

export const SOURCE_TYPES = { psu: 'PowerSupply', environment: 'EnvironmentMetrics', powerControl: 'PowerControl' } as const;

export const isObject = (v: unknown): v is RedfishJson => typeof v === 'object' && v !== null && !Array.isArray(v);

/** `resource[key]['@odata.id']`: the path of a linked resource, if it has one. */
export function link(resource: RedfishJson | undefined, key: string): string | undefined {
  const v = resource?.[key];
  if (!isObject(v)) return undefined;
  const id = v['@odata.id'];
  return typeof id === 'string' && id !== '' ? id : undefined;
}

/** The member paths of a Redfish collection (Members[].@odata.id), skipping malformed members. */
export function memberLinks(collection: RedfishJson): string[] {
  const members = collection.Members;
  if (!Array.isArray(members)) return [];
  return members.flatMap((m: unknown) => {
    if (!isObject(m)) return [];
    const id = m['@odata.id'];
    return typeof id === 'string' && id !== '' ? [id] : [];
  });
}

/** A watt or kWh value: finite and not negative (a negative reading is a BMC's placeholder, not power). */
function quantity(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : undefined;
}

/** `resource[key].Reading`, Redfish's SensorPowerExcerpt / SensorEnergykWhExcerpt shape. */
function excerptReading(resource: RedfishJson | undefined, key: string): number | undefined {
  const v = resource?.[key];
  return isObject(v) ? quantity(v.Reading) : undefined;
}

function text(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/** A resource's Id; else the last segment of its @odata.id (some BMCs leave Id out of members). */
export function resourceId(resource: RedfishJson, fallback: string): string {
  const id = text(resource.Id);
  if (id !== undefined) return id;
  const odata = text(resource['@odata.id']);
  const last = odata?.replace(/\/+$/, '').split('/').pop();
  return last !== undefined && last !== '' ? last : fallback;
}

/** Absent supplies are empty bays: no metrics to fetch, nothing to read. */
export function psuPresent(psu: RedfishJson): boolean {
  const status = psu.Status;
  return !(isObject(status) && status.State === 'Absent');
}

function withEnergy(r: Omit<PlatformReading, 'energyKwh'>, kwh: number | undefined): PlatformReading {
  return kwh === undefined ? r : { ...r, energyKwh: kwh };
}

/** The chassis' readings from the first source, in the issue's order, that gives at least one. */
export function chassisReadings(bmcId: string, res: ChassisResources): PlatformReading[] {
  const chassisId = resourceId(res.chassis, 'chassis');
  const base = { source: 'redfish', bmcId, chassisId } as const;

  const psus = (res.psus ?? []).flatMap(({ psu, metrics }, i): PlatformReading[] => {
    if (!psuPresent(psu)) return [];
    const watts = excerptReading(metrics, 'InputPowerWatts');
    if (watts === undefined) return [];
    const sourceId = resourceId(psu, String(i));
    const r = { ...base, sourceId, sourceName: text(psu.Name) ?? sourceId, sourceType: SOURCE_TYPES.psu, watts };
    return [withEnergy(r, excerptReading(metrics, 'EnergykWh'))];
  });
  if (psus.length > 0) return psus;

  const envWatts = excerptReading(res.environmentMetrics, 'PowerWatts');
  if (envWatts !== undefined) {
    const r = { ...base, sourceId: chassisId, sourceName: text(res.chassis.Name) ?? chassisId, sourceType: SOURCE_TYPES.environment, watts: envWatts };
    return [withEnergy(r, excerptReading(res.environmentMetrics, 'EnergykWh'))];
  }

  const controls = res.power?.PowerControl;
  if (!Array.isArray(controls)) return [];
  const members = controls.flatMap((pc: unknown, i) => {
    if (!isObject(pc)) return [];
    const watts = quantity(pc.PowerConsumedWatts);
    return watts === undefined ? [] : [{ pc, i, watts }];
  });
  return chassisLevel(members).map(({ pc, i, watts }): PlatformReading => {
    const sourceId = text(pc.MemberId) ?? String(i);
    return { ...base, sourceId, sourceName: text(pc.Name) ?? sourceId, sourceType: SOURCE_TYPES.powerControl, watts };
  });
}

/**
 * PowerControl members with a reading, cut to those whose PhysicalContext (DMTF's
 * PowerControl[].PhysicalContext) is "Chassis" when any is: a BMC listing the chassis' total beside
 * its supplies' or a subsystem's share would count them twice. No Chassis member: all of them.
 */
function chassisLevel<T extends { readonly pc: RedfishJson }>(members: readonly T[]): readonly T[] {
  const chassis = members.filter(({ pc }) => pc.PhysicalContext === 'Chassis');
  return chassis.length > 0 ? chassis : members;
}
