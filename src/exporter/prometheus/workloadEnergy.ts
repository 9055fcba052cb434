// What the process, container, VM and pod collectors share: the `_cpu_joules_total` and
// `_cpu_watts` families of one level, one sample per workload and zone, with each workload's
// label string rendered once and cached on its (immutable) info object. With
// monitor.idle.attribution, also `_cpu_idle_joules_total` (ours): the workload's share of the
// node's idle energy, in a family of its own so that `_cpu_joules_total` keeps Kepler's meaning.

import { formatJoules } from '../formatJoules.js';
import { watts, type LevelSnapshot, type Snapshot, type WorkloadEnergy, type WorkloadState } from '../../monitor/snapshot.js';
import { help } from './collector.js';
import { renderLabels, type ExpositionWriter } from './exposition.js';

export class LabelCache<I extends object> {
  private readonly byState: Record<WorkloadState, WeakMap<I, string>> = { running: new WeakMap(), terminated: new WeakMap() };

  constructor(private readonly render: (info: I, state: WorkloadState) => Record<string, string>) {}

  get(info: I, state: WorkloadState): string {
    const map = this.byState[state];
    let s = map.get(info);
    if (s === undefined) {
      s = renderLabels(this.render(info, state));
      map.set(info, s);
    }
    return s;
  }
}

/** Whether a workload is worth a series: it used CPU or was billed energy (active or idle) since we saw it. */
export function hasActivity(w: WorkloadEnergy<unknown>): boolean {
  if (w.cpuTotalSec > 0) return true;
  for (const e of w.energyUj) if (e > 0n) return true;
  if (w.idleUj) for (const e of w.idleUj) if (e > 0n) return true;
  return false;
}

export function writeLevelEnergy<I extends object>(
  out: ExpositionWriter,
  s: Snapshot,
  level: string,
  snap: LevelSnapshot<I>,
  labels: LabelCache<I>,
  include: (w: WorkloadEnergy<I>) => boolean = () => true,
): void {
  const zoneSuffix = s.zones.map((z) => `,${renderLabels({ zone: z.name })}`);
  const joules = `kepler_${level}_cpu_joules_total`;
  const power = `kepler_${level}_cpu_watts`;
  out.family(joules, 'counter', help.energy('cpu', level));
  for (const w of snap.workloads) {
    if (!include(w)) continue;
    const l = labels.get(w.info, w.state);
    for (let z = 0; z < zoneSuffix.length; z++) out.sample(joules, l + zoneSuffix[z], formatJoules(w.energyUj[z]));
  }
  out.family(power, 'gauge', help.power('cpu', level));
  for (const w of snap.workloads) {
    if (!include(w)) continue;
    const l = labels.get(w.info, w.state);
    for (let z = 0; z < zoneSuffix.length; z++) out.sample(power, l + zoneSuffix[z], watts(w.deltaUj[z], s.elapsedSec));
  }
  if (!snap.idle) return;
  // With these and kepler_node_cpu_unattributed_idle_joules_total{level}: the node's idle energy, per zone.
  const idle = `kepler_${level}_cpu_idle_joules_total`;
  out.family(idle, 'counter', help.stateEnergy('cpu', 'idle', level));
  for (const w of snap.workloads) {
    if (!w.idleUj || !include(w)) continue;
    const l = labels.get(w.info, w.state);
    for (let z = 0; z < zoneSuffix.length; z++) out.sample(idle, l + zoneSuffix[z], formatJoules(w.idleUj[z]));
  }
}
