// Static info metrics, learned once at start-up: kepler_node_cpu_info (one series per logical CPU,
// from /proc/cpuinfo, no node_name as in Kepler) and kepler_build_info.

import type { CpuInfoRecord } from '../../resource/cpuInfo.js';
import type { Snapshot } from '../../monitor/snapshot.js';
import type { BuildInfo } from '../../util/buildInfo.js';
import type { Collector } from './collector.js';
import { renderLabels, type ExpositionWriter } from './exposition.js';

export class CpuInfoCollector implements Collector {
  private readonly labels: string[];

  constructor(cpus: CpuInfoRecord[]) {
    this.labels = cpus.map((c) => renderLabels({ processor: c.processor, vendor_id: c.vendorId, model_name: c.modelName, physical_id: c.physicalId, core_id: c.coreId }));
  }

  collect(_s: Snapshot, out: ExpositionWriter): void {
    if (this.labels.length === 0) return;
    out.family('kepler_node_cpu_info', 'gauge', 'CPU information from procfs');
    for (const l of this.labels) out.sample('kepler_node_cpu_info', l, 1);
  }
}

export class BuildInfoCollector implements Collector {
  private readonly labels: string;

  constructor(build: BuildInfo) {
    this.labels = renderLabels({
      arch: process.arch,
      branch: build.branch,
      revision: build.revision,
      version: build.version,
      nodeversion: process.version,
    });
  }

  collect(_s: Snapshot, out: ExpositionWriter): void {
    out.family('kepler_build_info', 'gauge', 'A metric with a constant 1 value labeled with version information');
    out.sample('kepler_build_info', this.labels, 1);
  }
}
