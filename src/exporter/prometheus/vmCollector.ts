// Virtual machine level: kepler_vm_cpu_{joules_total,watts}.

import type { Snapshot } from '../../monitor/snapshot.js';
import type { VmInfo } from '../../resource/workloads.js';
import type { Collector } from './collector.js';
import type { ExpositionWriter } from './exposition.js';
import { writeLevelGpuEnergy } from './gpuEnergy.js';
import { LabelCache, writeLevelEnergy } from './workloadEnergy.js';

export class VmCollector implements Collector {
  private readonly labels: LabelCache<VmInfo>;

  constructor(nodeName: string) {
    this.labels = new LabelCache((v, state) => ({ node_name: nodeName, vm_id: v.id, vm_name: v.name, hypervisor: v.hypervisor, state }));
  }

  collect(s: Snapshot, out: ExpositionWriter): void {
    writeLevelEnergy(out, s, 'vm', s.vms, this.labels);
    writeLevelGpuEnergy(out, s, 'vm', s.gpu?.vms, this.labels);
  }
}
