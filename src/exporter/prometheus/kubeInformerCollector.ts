// The Kubernetes pod informer's health (ours): failures by kind, pods known, last sync. An
// outage is logged once; these say how long it lasted and how often it was retried.

import { POD_INFORMER_ERROR_KINDS, type PodInformer } from '../../k8s/podInformer.js';
import type { Snapshot } from '../../monitor/snapshot.js';
import type { Collector } from './collector.js';
import { renderLabels, type ExpositionWriter } from './exposition.js';

export class KubeInformerCollector implements Collector {
  constructor(private readonly informer: PodInformer) {}

  collect(_s: Snapshot, out: ExpositionWriter): void {
    const st = this.informer.stats();
    out.family('kepler_exporter_kube_errors_total', 'counter', 'Failed requests to Kubernetes for pod metadata, by kind (node, pods, watch)');
    for (const kind of POD_INFORMER_ERROR_KINDS) out.sample('kepler_exporter_kube_errors_total', renderLabels({ mode: st.mode, kind }), st.errors[kind] ?? 0);
    out.family('kepler_exporter_kube_pods', 'gauge', 'Pods on this node known to the pod informer');
    out.sample('kepler_exporter_kube_pods', renderLabels({ mode: st.mode }), st.pods);
    out.family('kepler_exporter_kube_last_sync_timestamp_seconds', 'gauge', 'Time of the last successful pod metadata sync, seconds since the epoch (0: none yet)');
    out.sample('kepler_exporter_kube_last_sync_timestamp_seconds', renderLabels({ mode: st.mode }), (st.lastSyncMs ?? 0) / 1000);
  }
}
