// Node level GPU families (Kepler v0.11.4+): kepler_node_gpu_info, and per GPU its energy and
// power, split into active and idle, labelled gpu, gpu_uuid, gpu_name, vendor. Ours beside them:
// the idle baseline each GPU's idle came from, and the active energy each workload level leaves
// without a series, so that per GPU and level the workloads' kepler_<level>_gpu_joules_total
// + kepler_node_gpu_unattributed_joules_total = kepler_node_gpu_active_joules_total, exactly.

import type { MetricsLevel } from '../../config/config.js';
import { formatJoules } from '../formatJoules.js';
import { watts, type GpuDeviceSnapshot, type GpuSnapshot, type LevelSnapshot, type Snapshot } from '../../monitor/snapshot.js';
import { help, type Collector } from './collector.js';
import { renderLabels, type ExpositionWriter } from './exposition.js';

type DeviceValue = (d: GpuDeviceSnapshot, elapsedSec: number) => number | string;

const FAMILIES: { name: string; type: 'counter' | 'gauge'; help: string; value: DeviceValue }[] = [
  { name: 'kepler_node_gpu_joules_total', type: 'counter', help: help.energy('gpu', 'node'), value: (d) => formatJoules(d.totalUj) },
  { name: 'kepler_node_gpu_watts', type: 'gauge', help: help.power('gpu', 'node'), value: (d, t) => watts(d.deltaUj, t) },
  { name: 'kepler_node_gpu_active_joules_total', type: 'counter', help: help.stateEnergy('gpu', 'active', 'node'), value: (d) => formatJoules(d.activeUj) },
  { name: 'kepler_node_gpu_active_watts', type: 'gauge', help: help.statePower('gpu', 'active', 'node'), value: (d, t) => watts(d.activeDeltaUj, t) },
  { name: 'kepler_node_gpu_idle_joules_total', type: 'counter', help: help.stateEnergy('gpu', 'idle', 'node'), value: (d) => formatJoules(d.idleUj) },
  { name: 'kepler_node_gpu_idle_watts', type: 'gauge', help: help.statePower('gpu', 'idle', 'node'), value: (d, t) => watts(d.idleDeltaUj, t) },
];

const LEVEL_OF: Record<Exclude<MetricsLevel, 'node'>, (g: GpuSnapshot) => LevelSnapshot<unknown>> = {
  process: (g) => g.processes,
  container: (g) => g.containers,
  vm: (g) => g.vms,
  pod: (g) => g.pods,
};

export class GpuNodeCollector implements Collector {
  private readonly nodeName: string;
  /** Rendered labels per GPU uuid: the GPUs are fixed for the meter's life. */
  private readonly cache = new Map<string, { device: string; short: string }>();

  constructor(
    nodeName: string,
    private readonly workloadLevels: Exclude<MetricsLevel, 'node'>[],
  ) {
    this.nodeName = nodeName;
  }

  collect(s: Snapshot, out: ExpositionWriter): void {
    const gpu = s.gpu;
    if (!gpu) return;
    const { device, short } = this.labels(gpu.devices);
    out.family('kepler_node_gpu_info', 'gauge', 'Info about the GPUs of a node');
    device.forEach((l) => out.sample('kepler_node_gpu_info', l, 1));
    for (const f of FAMILIES) {
      out.family(f.name, f.type, f.help);
      gpu.devices.forEach((d, g) => out.sample(f.name, device[g], f.value(d, s.elapsedSec)));
    }
    const baseline = 'kepler_node_gpu_idle_baseline_watts';
    out.family(
      baseline,
      'gauge',
      'Power of gpu at zero load at node level in watts: the baseline of kepler_node_gpu_idle_watts (capped at the GPU power of the interval). source: configured (experimental.gpu.idlePower), lowest (the lowest power seen over an interval with no compute process), unknown (none seen yet: 0, all of the energy active)',
    );
    gpu.devices.forEach((d, g) => out.sample(baseline, `${short[g]},${renderLabels({ source: d.idleBaseline.source })}`, d.idleBaseline.watts));
    if (this.workloadLevels.length === 0) return;
    const unattributed = 'kepler_node_gpu_unattributed_joules_total';
    out.family(
      unattributed,
      'counter',
      'Active energy of gpu at node level that no workload series of the level carries (no known workload used it, or the workloads that did have ended and their series are gone), in joules',
    );
    for (const level of this.workloadLevels) {
      const l = LEVEL_OF[level](gpu);
      gpu.devices.forEach((_, g) => out.sample(unattributed, `${short[g]},${renderLabels({ level })}`, formatJoules(l.unattributedUj[g] + l.droppedUj[g])));
    }
  }

  private labels(devices: readonly GpuDeviceSnapshot[]): { device: string[]; short: string[] } {
    const ls = devices.map((d) => {
      let l = this.cache.get(d.uuid);
      if (!l) {
        // Kepler's node GPU label set; the short one (node, gpu, uuid) for our families.
        l = {
          device: renderLabels({ node_name: this.nodeName, gpu: String(d.index), gpu_uuid: d.uuid, gpu_name: d.name, vendor: d.vendor }),
          short: renderLabels({ node_name: this.nodeName, gpu: String(d.index), gpu_uuid: d.uuid }),
        };
        this.cache.set(d.uuid, l);
      }
      return l;
    });
    return { device: ls.map((l) => l.device), short: ls.map((l) => l.short) };
  }
}
