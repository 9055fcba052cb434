// Test helper: a powercap sysfs tree (<sysfs>/class/powercap/<dir>/{name,energy_uj,
// max_energy_range_uj}) whose counters the test sets by hand, for a real RaplMeter to read. Unlike
// RaplTree (counters driven by the machine's CPU usage), every µJ is known: a test can check each
// socket's energy exactly.

import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface PowercapZone {
  dir: string; // intel-rapl:1:0
  name: string; // package-1, core, dram, psys
  maxRangeUj: number;
}

export class PowercapTree {
  readonly sysfs: string;
  private readonly base: string;
  private readonly counters = new Map<string, number>();
  private readonly ranges = new Map<string, number>();
  private readonly hidden = new Set<string>();
  /** Energy added per dir since the tree was made, µJ, wraps undone. */
  readonly addedUj = new Map<string, number>();

  constructor(zones: PowercapZone[]) {
    this.sysfs = mkdtempSync(join(tmpdir(), 'kepler-powercap-'));
    this.base = join(this.sysfs, 'class', 'powercap');
    mkdirSync(join(this.base, 'intel-rapl'), { recursive: true }); // a control type: no name file
    zones.forEach((z, i) => {
      mkdirSync(join(this.base, z.dir), { recursive: true });
      writeFileSync(join(this.base, z.dir, 'name'), `${z.name}\n`);
      writeFileSync(join(this.base, z.dir, 'max_energy_range_uj'), `${z.maxRangeUj}\n`);
      this.ranges.set(z.dir, z.maxRangeUj);
      this.addedUj.set(z.dir, 0);
      this.write(z.dir, (1_000_003 * (i + 1)) % z.maxRangeUj);
    });
  }

  /** Adds energy to a zone's counter, which wraps at its range. Returns true when it wrapped. */
  add(dir: string, uj: number): boolean {
    const before = this.counters.get(dir) ?? 0;
    const max = this.ranges.get(dir) ?? 0;
    const after = (before + uj) % max;
    this.addedUj.set(dir, (this.addedUj.get(dir) ?? 0) + uj);
    this.write(dir, after);
    return after < before;
  }

  /** Makes a zone's counter unreadable (the file gone; it still counts), or readable again. */
  hide(dir: string, hidden: boolean): void {
    const file = join(this.base, dir, 'energy_uj');
    if (hidden === this.hidden.has(dir)) return;
    if (hidden) {
      renameSync(file, `${file}.hidden`);
      this.hidden.add(dir);
    } else {
      renameSync(`${file}.hidden`, file);
      this.hidden.delete(dir);
    }
  }

  remove(): void {
    rmSync(this.sysfs, { recursive: true, force: true });
  }

  private write(dir: string, counter: number): void {
    this.counters.set(dir, counter);
    writeFileSync(join(this.base, dir, this.hidden.has(dir) ? 'energy_uj.hidden' : 'energy_uj'), `${counter}\n`);
  }
}
