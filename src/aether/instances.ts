// From Prometheus samples to aether instances. Pure functions (and FamilyEnergies, which gathers
// samples as they arrive): samples in, messages out.

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
  const energies = new FamilyEnergies(samples.family);
  for (const resource of RESOURCES) for (const s of samples.energy[resource]) energies.add(resource, s);
  for (const s of samples.pods) energies.addPod(s);
  return energies.containers();
}

/** A container's series under one scrape target, while a family is read. */
interface TargetSeries {
  job: string;
  instance: string;
  joules: Record<EnergyResource, number>;
  /** The most complete of its series' labels (the first of the most complete), as Prometheus gave them. */
  labels?: Record<string, string>;
  named: number;
}

/**
 * containerEnergies() a sample at a time, for samples read as they arrive: what it holds is one
 * entry per container and scrape target, and the labels of its most complete series (shared with
 * the sample, not copied until containers()). The result is containerEnergies()'s when the samples
 * come in its order: all of cpu before memory, each in the query's order, pods any time.
 */
export class FamilyEnergies {
  /** container id -> its series under its first scrape target, then under any other. */
  private readonly byId = new Map<string, TargetSeries | TargetSeries[]>();
  private readonly pods = new Map<string, Record<string, string>>();

  /** `skip`: containers not to gather (another family has them). */
  constructor(
    readonly family: MetricsFamily,
    private readonly skip?: (id: string) => boolean,
  ) {}

  /** Whether a sample of the container has been gathered. */
  has(id: string): boolean {
    return this.byId.has(id);
  }

  add(resource: EnergyResource, { labels, value }: Sample): void {
    const id = labels.container_id;
    if (!id || !Number.isFinite(value) || this.skip?.(id)) return;
    const job = labels.job ?? '';
    const instance = labels.instance ?? '';
    const known = this.byId.get(id);
    let series = Array.isArray(known) ? known.find((t) => t.job === job && t.instance === instance) : known?.job === job && known.instance === instance ? known : undefined;
    if (!series) {
      series = { job, instance, joules: { cpu: 0, memory: 0 }, named: 0 };
      if (known === undefined) this.byId.set(id, series);
      else if (Array.isArray(known)) known.push(series);
      else this.byId.set(id, [known, series]);
    }
    series.joules[resource] += value;
    // The most complete label set names the instance (the one with pod and container names).
    const named = namedLabels(labels);
    if (named > series.named) {
      series.labels = labels;
      series.named = named;
    }
  }

  /** A row of the pods query: the names of a pod. A pod seen before its metadata arrived has a row without names too: that one never wins. */
  addPod({ labels }: Sample): void {
    if (!labels.pod_id) return;
    if (!labels.pod_name && this.pods.has(labels.pod_id)) return;
    const named: Record<string, string> = {};
    if (labels.pod_name) named.pod_name = labels.pod_name;
    if (labels.pod_namespace) named.pod_namespace = labels.pod_namespace;
    this.pods.set(labels.pod_id, named);
  }

  /** Each container, from its largest scrape target. */
  containers(): Map<string, ContainerEnergy> {
    const out = new Map<string, ContainerEnergy>();
    for (const [id, known] of this.byId) {
      let best = Array.isArray(known) ? known[0] : known;
      if (Array.isArray(known)) for (const t of known) if (total(t) > total(best)) best = t;
      const { state: _state, ...labels } = best.labels ?? {};
      const pod = labels.pod_id ? this.pods.get(labels.pod_id) : undefined;
      if (pod) Object.assign(labels, pod);
      out.set(id, {
        id,
        name: best.labels?.container_name || id,
        family: this.family,
        labels,
        joules: best.joules,
        duplicates: Array.isArray(known) ? known.length - 1 : 0,
      });
    }
    return out;
  }
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

function total(c: { joules: Record<EnergyResource, number> }): number {
  return c.joules.cpu + c.joules.memory;
}
