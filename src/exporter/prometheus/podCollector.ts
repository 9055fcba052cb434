// Pod level: kepler_pod_cpu_{joules_total,watts}. The pod UID comes from the kubelet's cgroup
// path, so these series exist with Kubernetes off too, where Kepler exports none: the UID is real,
// and pod_id joins kube-state-metrics' kube_pod_info{uid}. Name and namespace need Kubernetes
// metadata (kube.enabled); until then they are written as "", so that the label set is the same
// either way (Prometheus stores an empty label as no label: {pod_name=""} matches these series).
// Kepler's help text is kept; the README's metric reference says this.

import type { Snapshot } from '../../monitor/snapshot.js';
import type { PodInfo } from '../../resource/workloads.js';
import type { Collector } from './collector.js';
import type { ExpositionWriter } from './exposition.js';
import { writeLevelGpuEnergy } from './gpuEnergy.js';
import { LabelCache, writeLevelEnergy } from './workloadEnergy.js';

export class PodCollector implements Collector {
  private readonly labels: LabelCache<PodInfo>;

  constructor(nodeName: string) {
    this.labels = new LabelCache((p, state) => ({ node_name: nodeName, pod_id: p.id, pod_name: p.name, pod_namespace: p.namespace, state }));
  }

  collect(s: Snapshot, out: ExpositionWriter): void {
    writeLevelEnergy(out, s, 'pod', s.pods, this.labels);
    writeLevelGpuEnergy(out, s, 'pod', s.gpu?.pods, this.labels);
  }
}
