// Node level: energy and power per zone, split into active and idle, the usage ratio, and (ours)
// the active energy each workload level leaves unattributed; with the baseline idle model, each
// zone's idle baseline and where it came from; with an idle attribution policy, the idle energy
// each workload level leaves unattributed.

import type { MetricsLevel } from '../../config/config.js';
import { formatJoules } from '../formatJoules.js';
import { watts, type LevelSnapshot, type Snapshot, type ZoneSnapshot } from '../../monitor/snapshot.js';
import { help, type Collector } from './collector.js';
import { renderLabels, type ExpositionWriter } from './exposition.js';

type ZoneValue = (z: ZoneSnapshot, elapsedSec: number) => number | string;

const FAMILIES: { name: string; type: 'counter' | 'gauge'; help: string; value: ZoneValue }[] = [
  { name: 'kepler_node_cpu_joules_total', type: 'counter', help: help.energy('cpu', 'node'), value: (z) => formatJoules(z.totalUj) },
  { name: 'kepler_node_cpu_watts', type: 'gauge', help: help.power('cpu', 'node'), value: (z, t) => watts(z.deltaUj, t) },
  { name: 'kepler_node_cpu_active_joules_total', type: 'counter', help: help.stateEnergy('cpu', 'active', 'node'), value: (z) => formatJoules(z.activeUj) },
  { name: 'kepler_node_cpu_active_watts', type: 'gauge', help: help.statePower('cpu', 'active', 'node'), value: (z, t) => watts(z.activeDeltaUj, t) },
  { name: 'kepler_node_cpu_idle_joules_total', type: 'counter', help: help.stateEnergy('cpu', 'idle', 'node'), value: (z) => formatJoules(z.idleUj) },
  { name: 'kepler_node_cpu_idle_watts', type: 'gauge', help: help.statePower('cpu', 'idle', 'node'), value: (z, t) => watts(z.idleDeltaUj, t) },
];

const LEVEL_OF: Record<Exclude<MetricsLevel, 'node'>, (s: Snapshot) => LevelSnapshot<unknown>> = {
  process: (s) => s.processes,
  container: (s) => s.containers,
  vm: (s) => s.vms,
  pod: (s) => s.pods,
};

export class NodeCollector implements Collector {
  private readonly nodeLabel: string;

  constructor(
    nodeName: string,
    private readonly workloadLevels: Exclude<MetricsLevel, 'node'>[],
  ) {
    this.nodeLabel = renderLabels({ node_name: nodeName });
  }

  collect(s: Snapshot, out: ExpositionWriter): void {
    const zoneLabels = s.zones.map((z) => `${this.nodeLabel},${renderLabels({ zone: z.name, path: z.path })}`);
    for (const f of FAMILIES) {
      out.family(f.name, f.type, f.help);
      s.zones.forEach((z, i) => out.sample(f.name, zoneLabels[i], f.value(z, s.elapsedSec)));
    }
    out.family('kepler_node_cpu_usage_ratio', 'gauge', 'CPU usage ratio of a node (value between 0.0 and 1.0)');
    out.sample('kepler_node_cpu_usage_ratio', this.nodeLabel, s.usageRatio);
    if (s.idleModel === 'baseline') {
      const name = 'kepler_node_cpu_idle_baseline_watts';
      out.family(
        name,
        'gauge',
        'Power of cpu at zero load at node level in watts: the baseline of kepler_node_cpu_idle_watts (capped at the zone power of the interval). source: pinned (monitor.idle.watts), estimator, fitted (learned from the meter against CPU usage), lowest (the lowest power seen, until the usage has varied enough for a fit), usage-ratio (nothing learned yet: Kepler split)',
      );
      s.zones.forEach((z) => {
        if (z.idleBaseline) out.sample(name, `${this.nodeLabel},${renderLabels({ zone: z.name, path: z.path, source: z.idleBaseline.source })}`, z.idleBaseline.watts);
      });
    }
    if (this.workloadLevels.length === 0) return;
    const levelFamily = (name: string, help: string, totals: (l: LevelSnapshot<unknown>) => readonly bigint[]) => {
      out.family(name, 'counter', help);
      for (const level of this.workloadLevels) {
        const t = totals(LEVEL_OF[level](s));
        s.zones.forEach((z, i) => out.sample(name, `${this.nodeLabel},${renderLabels({ zone: z.name, level })}`, formatJoules(t[i])));
      }
    };
    levelFamily(
      'kepler_node_cpu_unattributed_joules_total',
      'Active energy of cpu at node level that no running workload of the level explains, in joules',
      (l) => l.unattributedUj,
    );
    // With it, per zone and level: what scrapes showed of the workloads + unattributed + dropped = active.
    levelFamily(
      'kepler_node_cpu_dropped_joules_total',
      'Active energy of cpu billed to ended workloads of the level that no scrape showed (under monitor.minTerminatedEnergyThreshold, evicted by monitor.maxTerminated, or used after their last scrape), in joules',
      (l) => l.droppedUj,
    );
    // With it, per zone and level: the workloads' kepler_<level>_cpu_idle_joules_total + this = idle, at every scrape.
    if (s.idleAttribution === 'none') return;
    levelFamily(
      'kepler_node_cpu_unattributed_idle_joules_total',
      'Idle energy of cpu at node level that no workload series of the level carries (monitor.idle.attribution gave it to no workload of the level, or to ended workloads whose series are gone), in joules',
      (l) => l.idle?.unattributedUj ?? s.zones.map((z) => z.idleUj),
    );
  }
}
