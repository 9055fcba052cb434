// Container level: kepler_container_cpu_{joules_total,watts,seconds_total}.

import type { Snapshot } from '../../monitor/snapshot.js';
import type { ContainerInfo } from '../../resource/workloads.js';
import { help, type Collector } from './collector.js';
import type { ExpositionWriter } from './exposition.js';
import { writeLevelGpuEnergy } from './gpuEnergy.js';
import { LabelCache, writeLevelEnergy } from './workloadEnergy.js';

export class ContainerCollector implements Collector {
  private readonly labels: LabelCache<ContainerInfo>;

  constructor(nodeName: string) {
    this.labels = new LabelCache((c, state) => ({
      node_name: nodeName,
      container_id: c.id,
      container_name: c.name,
      runtime: c.runtime,
      state,
      pod_id: c.podId,
    }));
  }

  collect(s: Snapshot, out: ExpositionWriter): void {
    writeLevelEnergy(out, s, 'container', s.containers, this.labels);
    writeLevelGpuEnergy(out, s, 'container', s.gpu?.containers, this.labels);
    out.family('kepler_container_cpu_seconds_total', 'counter', help.cpuTime('cpu', 'container'));
    for (const w of s.containers.workloads) out.sample('kepler_container_cpu_seconds_total', this.labels.get(w.info, w.state), w.cpuTotalSec);
  }
}
