// From Prometheus samples to aether instances. Pure functions: samples in, messages out.

import type { EnergyResource, MetricsFamily } from './promql.js';
import { placementOf } from './region.js';

/** One series of an instant vector. */
export interface Sample {
  labels: Record<string, string>;
  value: number;
}

export interface FamilySamples {
  family: MetricsFamily;
  energy: Record<EnergyResource, Sample[]>;
  pods: Sample[];
}

/** A container's energy in the window, joules per resource. */
export interface ContainerEnergy {
  id: string;
  name: string;
  family: MetricsFamily;
  labels: Record<string, string>;
  joules: Record<EnergyResource, number>;
  /** Series that differed only in scrape labels (the same exporter scraped twice): the largest was kept. */
  duplicates: number;
}

// Wire shapes of aether's messages (proto3 field names).
export interface ResourceEmissions {
  value: number;
  unit: string;
}
export interface Metric {
  name: string;
  usage: number;
  unit_amount: number;
  emissions: ResourceEmissions;
  labels: Record<string, string>;
  unit: string;
  updated_at: number;
  resource_type: string;
  energy: number;
}
export interface InstanceRequest {
  id: string;
  provider: string;
  service: string;
  name: string;
  region: string;
  zone: string;
  kind: string;
  EmbodiedEmissions: ResourceEmissions;
  metrics: Record<string, Metric>;
  labels: Record<string, string>;
  status: string;
}

export const JOULES_PER_KWH = 3.6e6;
export const joulesToKwh = (joules: number): number => joules / JOULES_PER_KWH;

const RESOURCES: readonly EnergyResource[] = ['cpu', 'memory'];

/**
 * Each container of one family, with its joules per resource. A container that ended during the
 * window has a `running` and a `terminated` series: both count. Series of one container that
 * differ in other labels are the same counter scraped twice, so the largest is kept, not the sum.
 */
export function containerEnergies(samples: FamilySamples): Map<string, ContainerEnergy> {
  // container id -> series identity (labels without `state`) -> energy
  const byId = new Map<string, Map<string, ContainerEnergy>>();
  for (const resource of RESOURCES) {
    for (const { labels, value } of samples.energy[resource]) {
      const id = labels.container_id;
      if (!id || !Number.isFinite(value)) continue;
      const key = identityKey(labels);
      let series = byId.get(id);
      if (!series) byId.set(id, (series = new Map()));
      let c = series.get(key);
      if (!c) {
        const { state: _state, ...identity } = labels;
        c = { id, name: labels.container_name || id, family: samples.family, labels: identity, joules: { cpu: 0, memory: 0 }, duplicates: 0 };
        series.set(key, c);
      }
      c.joules[resource] += value;
    }
  }
  const pods = podNames(samples.pods);
  const out = new Map<string, ContainerEnergy>();
  for (const [id, series] of byId) {
    let best: ContainerEnergy | undefined;
    for (const c of series.values()) if (!best || total(c) > total(best)) best = c;
    best!.duplicates = series.size - 1;
    const pod = best!.labels.pod_id ? pods.get(best!.labels.pod_id) : undefined;
    if (pod) best!.labels = { ...best!.labels, ...pod };
    out.set(id, best!);
  }
  return out;
}

/** Where a container is in both families (kepler-ts with its 0.7 family on), the current one counts. */
export function mergeFamilies(current: Map<string, ContainerEnergy>, legacy: Map<string, ContainerEnergy>): ContainerEnergy[] {
  const merged = [...current.values()];
  for (const [id, c] of legacy) if (!current.has(id)) merged.push(c);
  return merged;
}

export interface InstanceContext {
  provider: string;
  /** Unix seconds: the evaluation time of the queries. */
  updatedAt: number;
  defaultRegion?: string;
}

/** Only containers that used energy in the window become instances. */
export function usedEnergy(c: ContainerEnergy): boolean {
  return total(c) > 0;
}

export function toInstance(c: ContainerEnergy, ctx: InstanceContext): InstanceRequest {
  const placement = placementOf(c.labels, ctx.defaultRegion);
  const metrics: Record<string, Metric> = {};
  for (const resource of RESOURCES) {
    metrics[resource] = {
      name: resource,
      resource_type: resource,
      energy: joulesToKwh(c.joules[resource]),
      updated_at: ctx.updatedAt,
      labels: c.labels,
      // aether reads `emissions` without a nil check: always send one. It computes the value.
      emissions: { value: 0, unit: '' },
      usage: 0,
      unit_amount: 0,
      unit: '',
    };
  }
  return {
    id: c.id,
    provider: ctx.provider,
    service: 'kepler',
    name: c.name,
    region: placement.region ?? '',
    zone: placement.zone ?? '',
    kind: '',
    EmbodiedEmissions: { value: 0, unit: '' },
    metrics,
    labels: c.labels,
    // As the Go plugin: a container that ended in the window still used this energy, and
    // aether's statuses say nothing of containers.
    status: 'running',
  };
}

/**
 * The labels but `state`, as one string. Prometheus sends every series' labels in the same
 * (sorted) order, so no sort: this runs for every series, tens of thousands per Fetch.
 */
function identityKey(labels: Record<string, string>): string {
  let key = '';
  for (const name in labels) if (name !== 'state') key += `${name}\xff${labels[name]}\xff`;
  return key;
}

function podNames(samples: Sample[]): Map<string, Record<string, string>> {
  const pods = new Map<string, Record<string, string>>();
  for (const { labels } of samples) {
    if (!labels.pod_id) continue;
    const named: Record<string, string> = {};
    if (labels.pod_name) named.pod_name = labels.pod_name;
    if (labels.pod_namespace) named.pod_namespace = labels.pod_namespace;
    pods.set(labels.pod_id, named);
  }
  return pods;
}

function total(c: ContainerEnergy): number {
  return c.joules.cpu + c.joules.memory;
}
