// Process level: kepler_process_cpu_{joules_total,watts,seconds_total}. Processes that have not
// used any CPU since the exporter saw them (most of a node's sleeping daemons and kernel threads)
// are left out: their series would all be zero and would multiply the scrape size.

import type { Snapshot } from '../../monitor/snapshot.js';
import type { ProcessInfo } from '../../resource/workloads.js';
import { help, type Collector } from './collector.js';
import type { ExpositionWriter } from './exposition.js';
import { writeLevelGpuEnergy } from './gpuEnergy.js';
import { hasActivity, LabelCache, writeLevelEnergy } from './workloadEnergy.js';

export class ProcessCollector implements Collector {
  private readonly energyLabels: LabelCache<ProcessInfo>;
  private readonly timeLabels: LabelCache<ProcessInfo>;

  constructor(nodeName: string) {
    const base = (p: ProcessInfo) => ({
      node_name: nodeName,
      pid: String(p.pid),
      comm: p.comm,
      exe: p.exe,
      type: p.type,
    });
    this.energyLabels = new LabelCache((p, state) => ({ ...base(p), state, container_id: p.containerId, vm_id: p.vmId }));
    this.timeLabels = new LabelCache((p) => ({ ...base(p), container_id: p.containerId, vm_id: p.vmId }));
  }

  collect(s: Snapshot, out: ExpositionWriter): void {
    writeLevelEnergy(out, s, 'process', s.processes, this.energyLabels, hasActivity);
    writeLevelGpuEnergy(out, s, 'process', s.gpu?.processes, this.energyLabels);
    out.family('kepler_process_cpu_seconds_total', 'counter', help.cpuTime('cpu', 'process'));
    for (const w of s.processes.workloads) {
      // Without a state label, a terminated process and a new one reusing its pid could collide.
      if (w.state !== 'running' || !hasActivity(w)) continue;
      out.sample('kepler_process_cpu_seconds_total', this.timeLabels.get(w.info, 'running'), w.cpuTotalSec);
    }
  }
}
