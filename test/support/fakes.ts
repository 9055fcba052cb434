// Test helpers: the fakes the monitor and exporter tests drive by hand (an energy zone, a silent
// logger, resource samples), one definition for every test.

import type { EnergyZone } from '../../src/device/energyZone.js';
import type { GpuDeviceInfo, GpuMeter, GpuReading } from '../../src/device/gpu/gpuMeter.js';
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

/**
 * A GPU meter at the monitor's interface, for the monitor's and exporter's unit tests (the NVML
 * binding is tested against a fake libnvidia-ml.so.1): each device returns what the test put in
 * `readings`; a device in `failing` throws as an NVML error does.
 */
export class ScriptedGpuMeter implements GpuMeter {
  readonly name = 'scripted';
  readonly maxEnergyUj = 0;
  readonly readings: GpuReading[];
  readonly failing = new Set<number>();
  closed = false;
  constructor(readonly devices: GpuDeviceInfo[]) {
    this.readings = devices.map(() => ({ energyUj: 0, integrated: false, mig: false, processes: [], utilization: [] }));
  }
  read(position: number): GpuReading {
    if (this.failing.has(position)) throw new Error(`nvmlDeviceGetTotalEnergyConsumption failed on GPU ${position}: GPU is lost`);
    return this.readings[position];
  }
  /** Positions the monitor acknowledged, in order. */
  readonly acknowledged: number[] = [];
  acknowledge(position: number): void {
    this.acknowledged.push(position);
  }
  close(): void {
    this.closed = true;
  }
  /** Advances device `position`'s counter by `uj` and sets what else the test gives. */
  step(position: number, uj: number, r: Partial<GpuReading> = {}): void {
    const cur = this.readings[position];
    this.readings[position] = { ...cur, ...r, energyUj: (r.energyUj ?? cur.energyUj) + uj };
  }
}

/** `n` NVIDIA GPUs as a meter lists them. */
export function gpuDevices(n: number): GpuDeviceInfo[] {
  return Array.from({ length: n }, (_, i) => ({ index: i, uuid: `GPU-${String(i).repeat(8)}-0000-0000-0000-00000000000${i}`, name: 'NVIDIA H100 80GB HBM3', vendor: 'nvidia' }));
}
