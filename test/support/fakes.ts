// Test helpers: the fakes the monitor and exporter tests drive by hand (an energy zone, a silent
// logger, resource samples), one definition for every test.

import type { EnergyZone } from '../../src/device/energyZone.js';
import type { Logger } from '../../src/logger/logger.js';
import type { ResourceSample } from '../../src/resource/workloads.js';

/** A Logger that drops every line. */
export const silent: Logger = { debug() {}, info() {}, warn() {}, error() {}, with: () => silent };

/**
 * A RAPL-like counter in µJ that the test advances: `add()` wraps to 0 at `max` (max 0: range
 * unknown, never wraps by itself; `counter` can also be set directly). While `failing`, a read
 * throws ENOENT, as a zone that vanished does.
 */
export class FakeZone implements EnergyZone {
  counter = 0;
  failing = false;
  constructor(
    readonly name: string,
    readonly index = 0,
    readonly path = `/sys/class/powercap/fake:${index}/${name}`,
    readonly max = 0,
  ) {}
  energy(): number {
    if (this.failing) throw Object.assign(new Error(`ENOENT: no such file ${this.path}/energy_uj`), { code: 'ENOENT' });
    return this.counter;
  }
  maxEnergy(): number {
    return this.max;
  }
  add(uj: number): void {
    this.counter = this.max > 0 ? (this.counter + uj) % this.max : this.counter + uj;
  }
}

/** A resource sample: nothing running, no CPU time, no errors, except what `p` sets. */
export function sample(p: Partial<ResourceSample>): ResourceSample {
  return { baseline: false, nodeActiveCpuSec: 0, nodeTotalCpuSec: 0, usageRatio: 0, processes: [], containers: [], vms: [], pods: [], errors: {}, ...p };
}

/** A resource informer that returns whatever sample the test put in `next`, counting the calls. */
export class ScriptedResources {
  next: ResourceSample = sample({ baseline: true });
  calls = 0;
  refresh(): ResourceSample {
    this.calls++;
    return this.next;
  }
}
