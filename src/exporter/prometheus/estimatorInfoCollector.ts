// kepler_node_power_estimator_info: present only when power is estimated, so that a dashboard or
// an alert can tell estimates from measurements, and names the model, what it assumed about the
// hardware and the watts it arrived at. One series, constant 1, labels fixed at start-up.

import type { EstimatorDescription } from '../../device/estimatorMeter.js';
import type { Snapshot } from '../../monitor/snapshot.js';
import type { Collector } from './collector.js';
import { renderLabels, type ExpositionWriter } from './exposition.js';

export const ESTIMATOR_INFO_METRIC = 'kepler_node_power_estimator_info';

export class EstimatorInfoCollector implements Collector {
  private readonly labels: string;

  /** `labels`: label name -> value, e.g. from estimatorInfoLabels() (application.ts). */
  constructor(labels: Record<string, string | number | boolean>) {
    this.labels = renderLabels(Object.fromEntries(Object.entries(labels).map(([k, v]) => [k, String(v)])));
  }

  collect(_s: Snapshot, out: ExpositionWriter): void {
    out.family(ESTIMATOR_INFO_METRIC, 'gauge', 'Power is estimated by a model, not measured: the model, its parameters and the hardware it assumed');
    out.sample(ESTIMATOR_INFO_METRIC, this.labels, 1);
  }
}

/** The info metric's labels for an estimator: model, hardware as detected, and its parameters. */
export function estimatorInfoLabels(d: EstimatorDescription): Record<string, string | number | boolean> {
  const spec = d.host.spec;
  // The model's parameters first: the detected hardware labels below win a name clash.
  const params = Object.fromEntries(Object.entries(d.parameters).map(([k, v]) => [k, typeof v === 'number' ? Math.round(v * 100) / 100 : v]));
  return {
    ...params,
    model: d.model,
    source: 'estimator',
    cpu_model: spec.cpuName,
    vendor: spec.vendor,
    architecture: spec.architecture ?? 'unknown',
    virtual_machine: d.virtualMachine,
    hypervisor: d.host.virtualization.hypervisor,
    share: Math.round(d.share * 1e4) / 1e4,
    logical_cpus: spec.threads,
    memory_gb: Math.round(spec.memGb * 10) / 10,
    calibrated: d.calibrated,
  };
}
