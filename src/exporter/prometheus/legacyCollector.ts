// Kepler 0.7's metric family (opt-in, exporter.prometheus.legacyMetrics), for older dashboards
// and the aether Kepler plugin: kepler_<level>_<domain>_joules_total with a `mode` label
// (dynamic = active, idle) and the constant label `source`. Computed from the same snapshot as
// the current family, so the two always agree: a container's package/dynamic counter is its
// kepler_container_cpu_joules_total{zone="package"}.
//
// Workloads get only dynamic energy (kepler-ts does not attribute idle energy, attribution.md);
// their idle series exist and read 0 so that queries written for 0.7 keep their shape.

import type { MetricsLevel } from '../../config/config.js';
import { formatJoules } from '../formatJoules.js';
import type { Snapshot, WorkloadEnergy } from '../../monitor/snapshot.js';
import type { ContainerInfo, PodInfo, ProcessInfo, VmInfo } from '../../resource/workloads.js';
import type { Collector } from './collector.js';
import { renderLabels, type ExpositionWriter } from './exposition.js';
import { domainEnergies, domainZones, LEGACY_DOMAINS, legacyTotal, NonDecreasing, type DomainZones } from './legacyDomains.js';
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
}

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
}

const ZERO = LEGACY_DOMAINS.map(() => 0n);
const NODE_DYNAMIC = {};
const NODE_IDLE = {};
const OUTSIDE_SYSTEM = {};
const OUTSIDE_KERNEL = {};

export class LegacyCollector implements Collector {
  private readonly map: DomainZones;
  private readonly help: string[];
  private readonly totalHelp: string;
  private readonly constant: string;
  private readonly nodeInfo: string;
  private readonly nodeLabels: string;
  private readonly guard = new NonDecreasing<object>();
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
    // Kepler 0.7 labelled node series with the socket. kepler-ts sums the sockets into one zone
    // (index 0), so a multi-socket node shows one series, package="0", holding every socket.
    const pkg = this.map.package[0];
    this.nodeLabels = renderLabels({ package: String(pkg === undefined ? 0 : opts.zones[pkg].index), instance: opts.nodeName });
  }

  collect(s: Snapshot, out: ExpositionWriter): void {
    const levels = new Set(this.opts.levels);
    if (levels.has('node')) {
      out.family('kepler_node_info', 'gauge', 'Labeled node information');
      out.sample('kepler_node_info', this.nodeInfo, 1);
      const nodeRow: Row = {
        labels: this.nodeLabels,
        dynamicUj: this.domains(
          NODE_DYNAMIC,
          s.zones.map((z) => z.activeUj),
        ),
        idleUj: this.domains(
          NODE_IDLE,
          s.zones.map((z) => z.idleUj),
        ),
      };
      this.writeLevel(out, 'node', [nodeRow], false);
    }
    if (levels.has('container')) this.writeLevel(out, 'container', this.containerRows(s), true);
    if (levels.has('process')) this.writeLevel(out, 'process', this.processRows(s), true);
    if (levels.has('vm'))
      this.writeLevel(
        out,
        'vm',
        this.workloadRows(s.vms.workloads, (v: VmInfo) => renderLabels({ vm_id: v.id })),
        false,
      );
  }

  private domains(key: object, perZoneUj: readonly bigint[]): bigint[] {
    return this.guard.apply(key, domainEnergies(perZoneUj, this.map));
  }

  private writeLevel(out: ExpositionWriter, level: string, rows: Row[], withTotal: boolean): void {
    const suffix = { dynamic: `,mode="dynamic",${this.constant}`, idle: `,mode="idle",${this.constant}` };
    LEGACY_DOMAINS.forEach((domain, d) => {
      const name = `kepler_${level}_${domain}_joules_total`;
      out.family(name, 'counter', this.help[d]);
      for (const r of rows) {
        out.sample(name, r.labels + suffix.dynamic, formatJoules(r.dynamicUj[d]));
        out.sample(name, r.labels + suffix.idle, formatJoules(r.idleUj[d]));
      }
    });
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
  private workloadRows<I extends object>(workloads: readonly WorkloadEnergy<I>[], labels: (info: I) => string, include: (w: WorkloadEnergy<I>) => boolean = () => true): Row[] {
    const rows: Row[] = [];
    const seen = new Set<string>();
    for (const terminated of [false, true]) {
      for (const w of workloads) {
        if ((w.state === 'terminated') !== terminated || !include(w)) continue;
        const l = labels(w.info);
        if (seen.has(l)) continue;
        seen.add(l);
        rows.push({ labels: l, dynamicUj: this.domains(w.info, w.energyUj), idleUj: ZERO });
      }
    }
    return rows;
  }

  private containerRows(s: Snapshot): Row[] {
    const pods = new Map<string, PodInfo>();
    for (const p of s.pods.workloads) pods.set(p.info.id, p.info);
    const rows = this.workloadRows(s.containers.workloads, (c: ContainerInfo) => this.containerLabels(c, pods.get(c.podId)));
    const pseudo = (p: { id: string; namespace: string }) => renderLabels({ container_id: p.id, pod_name: p.id, container_name: p.id, container_namespace: p.namespace });
    const outside = this.outside.current(s.zones.length);
    rows.push(
      { labels: pseudo(SYSTEM), dynamicUj: this.domains(OUTSIDE_SYSTEM, outside.systemUj), idleUj: ZERO },
      { labels: pseudo(KERNEL), dynamicUj: this.domains(OUTSIDE_KERNEL, outside.kernelUj), idleUj: ZERO },
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

  private processRows(s: Snapshot): Row[] {
    const labels = (p: ProcessInfo) => {
      const hit = this.processLabelCache.get(p);
      if (hit) return hit;
      // Kepler 0.7 put processes outside containers in its pseudo containers.
      const container = p.containerId || (p.kernelThread ? KERNEL.id : SYSTEM.id);
      const l = renderLabels({ pid: String(p.pid), container_id: container, vm_id: p.vmId, command: p.comm });
      this.processLabelCache.set(p, l);
      return l;
    };
    return this.workloadRows(s.processes.workloads, labels, hasActivity);
  }
}
