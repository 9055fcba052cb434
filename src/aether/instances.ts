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
  /** Other scrape targets that had this container (the same exporter scraped twice): the largest was kept. */
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
 * Each container of one family, with its joules per resource. A container's series change labels
 * during its life (`state` when it ends; kepler-ts names it once the pod informer knows it), and
 * `increase()` splits the window between them: the series of one scrape target all count. The
 * same container under two targets (`job`, `instance`) is the same counter scraped twice, so the
 * larger is kept, not the sum.
 */
export function containerEnergies(samples: FamilySamples): Map<string, ContainerEnergy> {
  // container id -> scrape target -> energy of the container's series there
  const byId = new Map<string, Map<string, ContainerEnergy>>();
  for (const resource of RESOURCES) {
    for (const { labels, value } of samples.energy[resource]) {
      const id = labels.container_id;
      if (!id || !Number.isFinite(value)) continue;
      const target = `${labels.job ?? ''}\xff${labels.instance ?? ''}`;
      let targets = byId.get(id);
      if (!targets) byId.set(id, (targets = new Map<string, ContainerEnergy>()));
      let c = targets.get(target);
      if (!c) {
        c = { id, name: id, family: samples.family, labels: {}, joules: { cpu: 0, memory: 0 }, duplicates: 0 };
        targets.set(target, c);
      }
      c.joules[resource] += value;
      // The most complete label set names the instance (the one with pod and container names).
      if (namedLabels(labels) > namedLabels(c.labels)) {
        const { state: _state, ...rest } = labels;
        c.labels = rest;
        c.name = labels.container_name || id;
      }
    }
  }
  const pods = podNames(samples.pods);
  const out = new Map<string, ContainerEnergy>();
  for (const [id, targets] of byId) {
    let best: ContainerEnergy | undefined;
    for (const c of targets.values()) if (!best || total(c) > total(best)) best = c;
    if (!best) continue; // never: an id is entered together with its first target
    best.duplicates = targets.size - 1;
    const pod = best.labels.pod_id ? pods.get(best.labels.pod_id) : undefined;
    if (pod) best.labels = { ...best.labels, ...pod };
    out.set(id, best);
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

/** How many labels have a value, `state` aside. */
function namedLabels(labels: Record<string, string>): number {
  let n = 0;
  for (const name in labels) if (name !== 'state' && labels[name] !== '') n++;
  return n;
}

function podNames(samples: Sample[]): Map<string, Record<string, string>> {
  const pods = new Map<string, Record<string, string>>();
  for (const { labels } of samples) {
    if (!labels.pod_id) continue;
    // A pod seen before its metadata arrived has a row without names too: that one never wins.
    if (!labels.pod_name && pods.has(labels.pod_id)) continue;
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
