// Pod level: kepler_pod_cpu_{joules_total,watts}. The pod UID comes from the kubelet's cgroup
// path; name and namespace need Kubernetes metadata and are empty until it is configured.

import type { Snapshot } from '../../monitor/snapshot.js';
import type { PodInfo } from '../../resource/workloads.js';
import type { Collector } from './collector.js';
import type { ExpositionWriter } from './exposition.js';
import { LabelCache, writeLevelEnergy } from './workloadEnergy.js';

export class PodCollector implements Collector {
  private readonly labels: LabelCache<PodInfo>;

  constructor(nodeName: string) {
    this.labels = new LabelCache((p, state) => ({ node_name: nodeName, pod_id: p.id, pod_name: p.name, pod_namespace: p.namespace, state }));
  }

  collect(s: Snapshot, out: ExpositionWriter): void {
    writeLevelEnergy(out, s, 'pod', s.pods, this.labels);
  }
}
