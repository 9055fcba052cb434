// Static info metrics, learned once at start-up: kepler_node_cpu_info (one series per logical CPU,
// from /proc/cpuinfo, no node_name as in Kepler) and kepler_build_info.

import { endianness } from 'node:os';
import type { CpuInfoRecord } from '../../resource/cpuInfo.js';
import type { Snapshot } from '../../monitor/snapshot.js';
import { goArch, type BuildInfo } from '../../util/buildInfo.js';
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

/** The runtime kepler_build_info describes: Node's process.arch, os.endianness() and process.version. */
export interface Runtime {
  arch: string;
  endianness: 'BE' | 'LE';
  version: string;
}

const THIS_RUNTIME: Runtime = { arch: process.arch, endianness: endianness(), version: process.version };

/**
 * Kepler's labels with Kepler's values where they carry over: `arch` in Go's names (amd64, not
 * x64). `goversion` is the runtime's version, as Go's runtime.Version() is there: Node's
 * process.version (v20.11.1), so a query on it reads the runtime that runs; `nodeversion` (ours)
 * says the same under a name that does not pretend to be Go.
 */
export function buildInfoLabels(build: BuildInfo, runtime: Runtime = THIS_RUNTIME): Record<string, string> {
  return {
    arch: goArch(runtime.arch, runtime.endianness),
    branch: build.branch,
    revision: build.revision,
    version: build.version,
    goversion: runtime.version,
    nodeversion: runtime.version,
  };
}

export class BuildInfoCollector implements Collector {
  private readonly labels: string;

  constructor(build: BuildInfo, runtime: Runtime = THIS_RUNTIME) {
    this.labels = renderLabels(buildInfoLabels(build, runtime));
  }

  collect(_s: Snapshot, out: ExpositionWriter): void {
    // Kepler's help text, quotes included.
    out.family('kepler_build_info', 'gauge', "A metric with a constant '1' value labeled with version information");
    out.sample('kepler_build_info', this.labels, 1);
  }
}
