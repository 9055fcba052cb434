// Kepler 0.7's metric family (opt-in, exporter.prometheus.legacyMetrics), for older dashboards
// and the aether Kepler plugin: kepler_<level>_<domain>_joules_total with a `mode` label
// (dynamic = active, idle) and the constant label `source`. Computed from the same snapshot as
// the current family, so the two always agree: a container's package/dynamic counter is its
// kepler_container_cpu_joules_total{zone="package"}.
//
// Workloads' dynamic series carry their active energy. Their idle series carry their share of the
// node's idle energy with monitor.idle.attribution (cpu, request, even), and read 0 with none
// (the default: idle is given to no workload), so that queries written for 0.7 keep their shape.
// The pseudo containers carry the container level's unattributed idle: with them, the containers'
// idle adds up to the node's.
//
// The node's series are per socket (`package="<socket>"`), as 0.7's were: the sockets of a summed
// zone (path="aggregated-<zone>" in the current family) come from the snapshot's zone parts, and
// add up to the current family's node value exactly. The gpu names are exported only with a GPU
// meter, then with one node series per GPU, as 0.7 did.

import type { MetricsLevel } from '../../config/config.js';
import { formatJoules } from '../formatJoules.js';
import type { Snapshot, WorkloadEnergy, ZoneSnapshot } from '../../monitor/snapshot.js';
import type { ContainerInfo, PodInfo, ProcessInfo, VmInfo } from '../../resource/workloads.js';
import type { Collector } from './collector.js';
import { renderLabels, type ExpositionWriter } from './exposition.js';
import {
  domainEnergies,
  domainZones,
  exportedDomains,
  LEGACY_DOMAINS,
  legacyTotal,
  NonDecreasing,
  socketDomainEnergies,
  type DomainZones,
  type ZoneEnergy,
} from './legacyDomains.js';
import { OutsideContainersAccount, type OutsideContainers } from './legacyOutsideContainers.js';
import { hasActivity } from './workloadEnergy.js';

export type LegacyLevel = Exclude<MetricsLevel, 'pod'>;

export interface LegacyOptions {
  nodeName: string;
  /** Constant `source` label: rapl-sysfs, hwmon, estimator, fake. */
  source: string;
  /** The meter's zones, in the order of Snapshot.zones. */
  zones: readonly { name: string; index: number }[];
  levels: readonly LegacyLevel[];
  /** kepler_node_info labels. */
  cpuArchitecture: string;
  platformSource: string;
  /** The GPU meter's energy; undefined without one, and then the gpu names are left out. */
  gpu?: LegacyGpuSource;
}

/**
 * What a GPU meter adds to a snapshot for the 0.7 family's gpu domain, µJ since start. Without a
 * GPU meter the setup passes no source, and the gpu names are absent rather than 0, as in Kepler
 * 0.7 on a node without a GPU.
 */
export interface LegacyGpuEnergy {
  /** Per GPU: the id Kepler 0.7 put in the node series' `package` label (the device index). */
  readonly devices: readonly { readonly id: string; readonly activeUj: bigint; readonly idleUj: bigint }[];
  /** Active GPU energy per workload, keyed by the snapshot's info objects; a workload absent used none. */
  readonly processes: ReadonlyMap<ProcessInfo, bigint>;
  readonly containers: ReadonlyMap<ContainerInfo, bigint>;
  readonly vms: ReadonlyMap<VmInfo, bigint>;
  /** Active GPU energy no container explains: 0.7 billed it to system_processes. */
  readonly outsideContainersUj: bigint;
}

/** Reads the GPU energy of a snapshot (a collector reads nothing but snapshots). */
export type LegacyGpuSource = (s: Snapshot) => LegacyGpuEnergy;

/**
 * The 0.7 gpu domain from the snapshot's GPUs: each workload's energy summed over the GPUs, and
 * as system_processes' the GPUs' active energy that no container row of the 0.7 family carries
 * (the rows are the CPU level's containers; a container's GPU series outlives its CPU series, see
 * PowerMonitor), so that the containers' gpu series add up to the node's.
 */
export const legacyGpuEnergy: LegacyGpuSource = (s) => {
  const gpu = s.gpu;
  if (!gpu) return NO_GPU;
  const sum = (uj: readonly bigint[]) => uj.reduce((a, b) => a + b, 0n);
  const byInfo = <I>(workloads: readonly WorkloadEnergy<I>[]) => new Map(workloads.map((w) => [w.info, sum(w.energyUj)]));
  const containers = byInfo(gpu.containers.workloads);
  let inRows = 0n;
  for (const c of s.containers.workloads) inRows += containers.get(c.info) ?? 0n;
  return {
    devices: gpu.devices.map((d) => ({ id: String(d.index), activeUj: d.activeUj, idleUj: d.idleUj })),
    processes: byInfo(gpu.processes.workloads),
    containers,
    vms: byInfo(gpu.vms.workloads),
    outsideContainersUj: gpu.devices.reduce((a, d) => a + d.activeUj, 0n) - inRows,
  };
};

/** Kepler 0.7's names for the meters kepler-ts has. */
export function legacySource(meter: string): string {
  return meter === 'rapl' ? 'rapl-sysfs' : meter;
}

// Kepler 0.7's pseudo containers for processes outside any container.
const SYSTEM = { id: 'system_processes', namespace: 'system' };
const KERNEL = { id: 'kernel_processes', namespace: 'kernel' };

interface Row {
  /** Rendered labels without `mode`. */
  labels: string;
  dynamicUj: bigint[];
  idleUj: bigint[];
  /** The domains the row has series for; all when absent. */
  has?: readonly boolean[];
}

const ZERO = LEGACY_DOMAINS.map(() => 0n);
const GPU = LEGACY_DOMAINS.indexOf('gpu');
const GPU_ONLY = LEGACY_DOMAINS.map((_, d) => d === GPU);
/** A socket has every CPU domain, as in 0.7, at 0 where it has no such zone: a query for package="1" finds each. */
const CPU_DOMAINS = LEGACY_DOMAINS.map((_, d) => d !== GPU);
const OUTSIDE_SYSTEM = {};
const OUTSIDE_KERNEL = {};
const NO_GPU: LegacyGpuEnergy = { devices: [], processes: new Map(), containers: new Map(), vms: new Map(), outsideContainersUj: 0n };

/** Guard keys of one node series group (a socket or a GPU), per mode. */
interface NodeKeys {
  labels: string;
  dynamic: object;
  idle: object;
}

export class LegacyCollector implements Collector {
  private readonly map: DomainZones;
  private readonly help: string[];
  private readonly totalHelp: string;
  private readonly constant: string;
  private readonly nodeInfo: string;
  /** The domains written (indexes into LEGACY_DOMAINS): gpu only with a GPU meter. */
  private readonly written: number[];
  private readonly socketKeys = new Map<string, NodeKeys>();
  private readonly gpuKeys = new Map<string, NodeKeys>();
  private readonly guard = new NonDecreasing<object>();
  /** Workloads' idle series, apart: their guard keys are the same info objects as their dynamic ones'. */
  private readonly idleGuard = new NonDecreasing<object>();
  private readonly containerLabelCache = new WeakMap<ContainerInfo, { pod: string; labels: string }>();
  private readonly processLabelCache = new WeakMap<ProcessInfo, string>();
  private readonly outside = new OutsideContainersAccount();
  /** Follows every snapshot, scraped or not (monitor.onSnapshot): the pseudo containers add up intervals. */
  readonly observe = this.outside.onSnapshot;

  /** The pseudo containers' totals as the next render shows them. */
  outsideContainers(zoneCount: number): OutsideContainers {
    return this.outside.current(zoneCount);
  }

  constructor(private readonly opts: LegacyOptions) {
    this.map = domainZones(opts.zones.map((z) => z.name));
    this.help = LEGACY_DOMAINS.map((d) => `Aggregated value in ${d} value from ${opts.source}`);
    this.totalHelp = `Aggregated value in package, dram, other and gpu value from ${opts.source}`;
    // node_name as on every power metric (metrics.md), so nodes stay apart without `instance`.
    this.constant = renderLabels({ node_name: opts.nodeName, source: opts.source });
    this.nodeInfo = renderLabels({
      node_name: opts.nodeName,
      cpu_architecture: opts.cpuArchitecture,
      components_power_source: opts.source,
      platform_power_source: opts.platformSource,
    });
    const exported = exportedDomains(opts.gpu !== undefined);
    this.written = LEGACY_DOMAINS.flatMap((d, i) => (exported.includes(d) ? [i] : []));
  }

  collect(s: Snapshot, out: ExpositionWriter): void {
    const levels = new Set(this.opts.levels);
    const gpu = this.opts.gpu?.(s) ?? NO_GPU;
    if (levels.has('node')) {
      out.family('kepler_node_info', 'gauge', 'Labeled node information');
      out.sample('kepler_node_info', this.nodeInfo, 1);
      this.writeLevel(out, 'node', this.nodeRows(s, gpu), false);
    }
    if (levels.has('container')) this.writeLevel(out, 'container', this.containerRows(s, gpu), true);
    if (levels.has('process')) this.writeLevel(out, 'process', this.processRows(s, gpu), true);
    if (levels.has('vm'))
      this.writeLevel(
        out,
        'vm',
        this.workloadRows(
          s.vms.workloads,
          (v: VmInfo) => renderLabels({ vm_id: v.id }),
          (v) => gpu.vms.get(v),
        ),
        false,
      );
  }

  /** The domain energies of per-zone totals, with the GPU's, held from going down. */
  private domains(key: object, perZoneUj: readonly bigint[], gpuUj = 0n): bigint[] {
    const d = domainEnergies(perZoneUj, this.map);
    d[GPU] = gpuUj;
    return this.guard.apply(key, d);
  }

  /** The domain energies of per-zone idle totals (no GPU idle is attributed), held from going down; 0 without. */
  private idleDomains(key: object, perZoneUj: readonly bigint[] | undefined): bigint[] {
    return perZoneUj ? this.idleGuard.apply(key, domainEnergies(perZoneUj, this.map)) : ZERO;
  }

  /** One row per socket (package="<socket>"), then one per GPU with only the gpu domain. */
  private nodeRows(s: Snapshot, gpu: LegacyGpuEnergy): Row[] {
    const energies = (pick: (z: { activeUj: bigint; idleUj: bigint }) => bigint) =>
      socketDomainEnergies(
        s.zones.map((z: ZoneSnapshot): ZoneEnergy => ({ index: z.index, uj: pick(z), parts: z.parts?.map((p) => ({ index: p.index, uj: pick(p) })) })),
        this.map,
      );
    const idle = energies((z) => z.idleUj);
    const rows = energies((z) => z.activeUj).map((dyn, i): Row => {
      const k = this.nodeKeys(this.socketKeys, String(dyn.socket));
      return { labels: k.labels, dynamicUj: this.guard.apply(k.dynamic, dyn.domainsUj), idleUj: this.guard.apply(k.idle, idle[i].domainsUj), has: CPU_DOMAINS };
    });
    for (const g of gpu.devices) {
      const k = this.nodeKeys(this.gpuKeys, g.id);
      const only = (uj: bigint) => LEGACY_DOMAINS.map((_, d) => (d === GPU ? uj : 0n));
      rows.push({ labels: k.labels, dynamicUj: this.guard.apply(k.dynamic, only(g.activeUj)), idleUj: this.guard.apply(k.idle, only(g.idleUj)), has: GPU_ONLY });
    }
    return rows;
  }

  /** Labels and guard keys of a node series group; sockets and GPUs in maps of their own, as their ids overlap. */
  private nodeKeys(cache: Map<string, NodeKeys>, id: string): NodeKeys {
    let k = cache.get(id);
    if (!k) cache.set(id, (k = { labels: renderLabels({ package: id, instance: this.opts.nodeName }), dynamic: {}, idle: {} }));
    return k;
  }

  private writeLevel(out: ExpositionWriter, level: string, rows: Row[], withTotal: boolean): void {
    const suffix = { dynamic: `,mode="dynamic",${this.constant}`, idle: `,mode="idle",${this.constant}` };
    for (const d of this.written) {
      const name = `kepler_${level}_${LEGACY_DOMAINS[d]}_joules_total`;
      out.family(name, 'counter', this.help[d]);
      for (const r of rows) {
        if (r.has && !r.has[d]) continue;
        out.sample(name, r.labels + suffix.dynamic, formatJoules(r.dynamicUj[d]));
        out.sample(name, r.labels + suffix.idle, formatJoules(r.idleUj[d]));
      }
    }
    if (!withTotal) return;
    const name = `kepler_${level}_joules_total`;
    out.family(name, 'counter', this.totalHelp);
    for (const r of rows) {
      out.sample(name, r.labels + suffix.dynamic, formatJoules(legacyTotal(r.dynamicUj)));
      out.sample(name, r.labels + suffix.idle, formatJoules(legacyTotal(r.idleUj)));
    }
  }

  /**
   * Running workloads, then terminated ones whose labels no running workload has (the legacy
   * family has no `state` label: a terminated process and a new one with its pid would collide).
   */
  private workloadRows<I extends object>(
    workloads: readonly WorkloadEnergy<I>[],
    labels: (info: I) => string,
    gpuUj: (info: I) => bigint | undefined,
    include: (w: WorkloadEnergy<I>) => boolean = () => true,
  ): Row[] {
    const rows: Row[] = [];
    const seen = new Set<string>();
    for (const terminated of [false, true]) {
      for (const w of workloads) {
        if ((w.state === 'terminated') !== terminated || !include(w)) continue;
        const l = labels(w.info);
        if (seen.has(l)) continue;
        seen.add(l);
        rows.push({ labels: l, dynamicUj: this.domains(w.info, w.energyUj, gpuUj(w.info)), idleUj: this.idleDomains(w.info, w.idleUj) });
      }
    }
    return rows;
  }

  private containerRows(s: Snapshot, gpu: LegacyGpuEnergy): Row[] {
    const pods = new Map<string, PodInfo>();
    for (const p of s.pods.workloads) pods.set(p.info.id, p.info);
    const rows = this.workloadRows(
      s.containers.workloads,
      (c: ContainerInfo) => this.containerLabels(c, pods.get(c.podId)),
      (c) => gpu.containers.get(c),
    );
    const pseudo = (p: { id: string; namespace: string }) => renderLabels({ container_id: p.id, pod_name: p.id, container_name: p.id, container_namespace: p.namespace });
    const outside = this.outside.current(s.zones.length);
    rows.push(
      {
        labels: pseudo(SYSTEM),
        dynamicUj: this.domains(OUTSIDE_SYSTEM, outside.systemUj, gpu.outsideContainersUj),
        idleUj: this.idleDomains(OUTSIDE_SYSTEM, outside.systemIdleUj),
      },
      { labels: pseudo(KERNEL), dynamicUj: this.domains(OUTSIDE_KERNEL, outside.kernelUj), idleUj: this.idleDomains(OUTSIDE_KERNEL, outside.kernelIdleUj) },
    );
    return rows;
  }

  /** Cached per container; rendered again when its pod's name or namespace changes. */
  private containerLabels(c: ContainerInfo, pod: PodInfo | undefined): string {
    const podKey = pod ? `${pod.namespace}/${pod.name}` : '';
    const hit = this.containerLabelCache.get(c);
    if (hit && hit.pod === podKey) return hit.labels;
    const labels = renderLabels({ container_id: c.id, pod_name: pod?.name ?? '', container_name: c.name, container_namespace: pod?.namespace ?? '' });
    this.containerLabelCache.set(c, { pod: podKey, labels });
    return labels;
  }

  private processRows(s: Snapshot, gpu: LegacyGpuEnergy): Row[] {
    const labels = (p: ProcessInfo) => {
      const hit = this.processLabelCache.get(p);
      if (hit) return hit;
      // Kepler 0.7 put processes outside containers in its pseudo containers.
      const container = p.containerId || (p.kernelThread ? KERNEL.id : SYSTEM.id);
      const l = renderLabels({ pid: String(p.pid), container_id: container, vm_id: p.vmId, command: p.comm });
      this.processLabelCache.set(p, l);
      return l;
    };
    const gpuUj = (p: ProcessInfo) => gpu.processes.get(p);
    return this.workloadRows(s.processes.workloads, labels, gpuUj, (w) => hasActivity(w) || (gpuUj(w.info) ?? 0n) > 0n);
  }
}
