// The `_gpu_` families of the workload levels (Kepler v0.11.4+): kepler_<level>_gpu_joules_total
// and kepler_<level>_gpu_watts, with the labels of the level's `_cpu_` families plus `gpu` and
// `gpu_uuid`. A workload has a series on a GPU only once it has been billed energy there: most
// workloads never touch a GPU, and a series of zeros per workload and GPU would multiply the
// scrape. Written by each level's collector, with its own label cache.

import { formatJoules } from '../formatJoules.js';
import { watts, type LevelSnapshot, type Snapshot } from '../../monitor/snapshot.js';
import { help } from './collector.js';
import { renderLabels, type ExpositionWriter } from './exposition.js';
import type { LabelCache } from './workloadEnergy.js';

/** `,gpu="<index>",gpu_uuid="<uuid>"` per GPU: a handful of strings per scrape. */
function gpuSuffixes(s: Snapshot): string[] {
  return (s.gpu?.devices ?? []).map((d) => `,${renderLabels({ gpu: String(d.index), gpu_uuid: d.uuid })}`);
}

export function writeLevelGpuEnergy<I extends object>(out: ExpositionWriter, s: Snapshot, level: string, snap: LevelSnapshot<I> | undefined, labels: LabelCache<I>): void {
  if (!snap) return;
  const suffix = gpuSuffixes(s);
  const joules = `kepler_${level}_gpu_joules_total`;
  const power = `kepler_${level}_gpu_watts`;
  out.family(joules, 'counter', help.energy('gpu', level));
  for (const w of snap.workloads) {
    for (let g = 0; g < suffix.length; g++) if (w.energyUj[g] > 0n) out.sample(joules, labels.get(w.info, w.state) + suffix[g], formatJoules(w.energyUj[g]));
  }
  out.family(power, 'gauge', help.power('gpu', level));
  for (const w of snap.workloads) {
    for (let g = 0; g < suffix.length; g++) if (w.energyUj[g] > 0n) out.sample(power, labels.get(w.info, w.state) + suffix[g], watts(w.deltaUj[g], s.elapsedSec));
  }
}
