// Test helper: a powercap sysfs tree in a temporary folder whose RAPL counters advance with the
// machine's real CPU usage (read from /proc/stat), wrapping at a small max_energy_range_uj. The
// advancer knows the true energy it added, and can be paused so that several readers (kepler-ts,
// node_exporter) see exactly the same counter values.

import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface RaplTreeZone {
  dir: string; // intel-rapl:0
  name: string; // package-0
  zone: string; // package (the exported zone name)
  idleWatts: number;
  maxWatts: number;
  maxRangeUj: number;
  /** A copy under intel-rapl-mmio that kepler-ts must ignore. */
  duplicate?: boolean;
}

interface ZoneState extends RaplTreeZone {
  counter: number;
  addedUj: number;
}

function readCpu(): { active: number; total: number } {
  const f = readFileSync('/proc/stat', 'latin1').split('\n')[0].trim().split(/\s+/).slice(1, 9).map(Number);
  const total = f.reduce((a, b) => a + b, 0);
  return { active: total - f[3] - f[4], total };
}

export class RaplTree {
  readonly powercap: string;
  private readonly zones: ZoneState[];
  private timer: NodeJS.Timeout | undefined;
  private lastCpu = readCpu();
  private lastMs = performance.now();
  paused = true;

  constructor(
    readonly sysfs: string,
    zones: RaplTreeZone[],
  ) {
    this.powercap = join(sysfs, 'class', 'powercap');
    mkdirSync(join(this.powercap, 'intel-rapl'), { recursive: true }); // control type: no name file
    writeFileSync(join(this.powercap, 'intel-rapl', 'enabled'), '1\n');
    this.zones = zones.map((z, i) => ({ ...z, counter: 1_000_000 * (i + 1), addedUj: 0 }));
    for (const z of this.zones) {
      mkdirSync(join(this.powercap, z.dir), { recursive: true });
      writeFileSync(join(this.powercap, z.dir, 'name'), `${z.name}\n`);
      writeFileSync(join(this.powercap, z.dir, 'max_energy_range_uj'), `${z.maxRangeUj}\n`);
      this.write(z);
    }
  }

  /** Advances the counters every `periodMs` while not paused. */
  start(periodMs = 100): void {
    this.timer = setInterval(() => this.tick(), periodMs);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  pause(): void {
    this.tick();
    this.paused = true;
  }

  resume(): void {
    this.lastCpu = readCpu();
    this.lastMs = performance.now();
    this.paused = false;
  }

  /**
   * Adds `uj` to each zone of one exported name (wrapping at its range), as if it had used that
   * energy: for a paused tree, whose counters then move only by what the test adds.
   */
  add(zone: string, uj: number): void {
    for (const z of this.zones) {
      if (z.zone !== zone) continue;
      z.addedUj += uj;
      z.counter = (z.counter + uj) % z.maxRangeUj;
      this.write(z);
    }
  }

  /** True energy added so far to the zones of one exported name (sum over sockets, no duplicates), µJ. */
  addedUj(zone: string): number {
    return this.zones.filter((z) => z.zone === zone && !z.duplicate).reduce((a, z) => a + z.addedUj, 0);
  }

  private tick(): void {
    if (this.paused) return;
    const cpu = readCpu();
    const now = performance.now();
    const dt = (now - this.lastMs) / 1000;
    const total = cpu.total - this.lastCpu.total;
    const u = total > 0 ? (cpu.active - this.lastCpu.active) / total : 0;
    this.lastCpu = cpu;
    this.lastMs = now;
    for (const z of this.zones) {
      const add = Math.round((z.idleWatts + (z.maxWatts - z.idleWatts) * u) * dt * 1e6);
      z.addedUj += add;
      z.counter = (z.counter + add) % z.maxRangeUj;
      this.write(z);
    }
  }

  private write(z: ZoneState): void {
    // Replace atomically, as the kernel's read of a sysfs attribute is atomic.
    const file = join(this.powercap, z.dir, 'energy_uj');
    writeFileSync(`${file}.tmp`, `${z.counter}\n`);
    renameSync(`${file}.tmp`, file);
  }
}
