// Fixture trees the campaign controls step by step: a sysfs folder (with the real cgroup
// hierarchy linked in, as the end-to-end tests do), a RAPL powercap tree whose files the
// scenario writes itself (values, garbage, directories, nothing), an hwmon power sensor, and a
// procfs whose /proc/stat and /proc/uptime mirror the real ones until a scenario overrides them.

import { copyFileSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CGROUP_ROOT } from '../support/processes.js';
import { RaplTree } from '../support/raplTree.js';
import { writeAtomic, type Scope } from './lib.js';

/** `<tmp>/sys` with `fs/cgroup` linked to the real cgroup mount (container CPU comes from it). */
export function makeSysfs(scope: Scope): string {
  const sysfs = join(scope.tmpdir('kts-sys-'), 'sys');
  mkdirSync(join(sysfs, 'fs'), { recursive: true });
  symlinkSync(CGROUP_ROOT, join(sysfs, 'fs', 'cgroup'));
  return sysfs;
}

export interface ManualZone {
  dir: string; // intel-rapl:0
  name: string; // package-0
  /** max_energy_range_uj; absent: no such file. */
  maxRangeUj?: number;
  /** Watts added by advance(). */
  watts: number;
}

/**
 * A powercap tree written only when the scenario says so. advance() adds each zone's watts times
 * the real time since the previous advance() (wrapping at the range when there is one) and writes
 * the counters; put()/putDir()/remove() write anything at all instead.
 */
export class ManualRapl {
  readonly powercap: string;
  readonly counters = new Map<string, number>();
  private lastMs = performance.now();

  constructor(
    readonly sysfs: string,
    readonly zones: ManualZone[],
  ) {
    this.powercap = join(sysfs, 'class', 'powercap');
    mkdirSync(join(this.powercap, 'intel-rapl'), { recursive: true });
    writeFileSync(join(this.powercap, 'intel-rapl', 'enabled'), '1\n');
    zones.forEach((z, i) => {
      mkdirSync(join(this.powercap, z.dir), { recursive: true });
      writeFileSync(join(this.powercap, z.dir, 'name'), `${z.name}\n`);
      if (z.maxRangeUj !== undefined) writeFileSync(join(this.powercap, z.dir, 'max_energy_range_uj'), `${z.maxRangeUj}\n`);
      this.counters.set(z.dir, 5_000_000 * (i + 1));
      this.writeCounter(z.dir);
    });
  }

  path(dir: string): string {
    return join(this.powercap, dir);
  }

  energyFile(dir: string): string {
    return join(this.powercap, dir, 'energy_uj');
  }

  /** Adds watts x elapsed real time to every zone (except `skip`) and writes them. */
  advance(skip: string[] = []): void {
    const now = performance.now();
    const dt = (now - this.lastMs) / 1000;
    this.lastMs = now;
    for (const z of this.zones) {
      if (skip.includes(z.dir)) continue;
      let c = (this.counters.get(z.dir) ?? 0) + Math.round(z.watts * dt * 1e6);
      if (z.maxRangeUj !== undefined) c %= z.maxRangeUj;
      this.counters.set(z.dir, c);
      this.writeCounter(z.dir);
    }
  }

  /** Sets a zone's counter (kept for later advances) and writes it. */
  set(dir: string, value: number): void {
    this.counters.set(dir, value);
    this.writeCounter(dir);
  }

  writeCounter(dir: string): void {
    writeAtomic(this.energyFile(dir), `${this.counters.get(dir)}\n`);
  }

  /** Writes any text as the zone's energy_uj. */
  put(dir: string, text: string): void {
    writeAtomic(this.energyFile(dir), text);
  }

  /** energy_uj becomes a directory (EISDIR on read). */
  putDir(dir: string): void {
    const f = this.energyFile(dir);
    rmSync(f, { recursive: true, force: true });
    mkdirSync(f);
  }

  /** energy_uj vanishes. */
  remove(dir: string): void {
    rmSync(this.energyFile(dir), { recursive: true, force: true });
  }
}

/** An hwmon chip with one power sensor (µW) at `<sysfs>/class/hwmon/hwmon0/power1_average`. */
export class HwmonSensor {
  readonly dir: string;
  readonly file: string;

  // pmbus: a CPU-side power chip. ACPI's power_meter alone is platform power, not a CPU zone.
  constructor(sysfs: string, chip = 'pmbus', microwatts = 20_000_000) {
    this.dir = join(sysfs, 'class', 'hwmon', 'hwmon0');
    mkdirSync(this.dir, { recursive: true });
    writeFileSync(join(this.dir, 'name'), `${chip}\n`);
    this.file = join(this.dir, 'power1_average');
    this.put(`${microwatts}\n`);
  }

  put(text: string): void {
    writeAtomic(this.file, text);
  }

  putDir(): void {
    rmSync(this.file, { recursive: true, force: true });
    mkdirSync(this.file);
  }
}

/**
 * A procfs folder: `stat` and `uptime` copied from the real /proc at each sync(), `cpuinfo` and
 * `meminfo` copied once, chosen real processes linked in (`<pid>` -> /proc/<pid>), and fake
 * process folders written by the scenario.
 */
export class FakeProcfs {
  readonly dir: string;
  private statOverride: string | undefined;

  constructor(scope: Scope) {
    this.dir = join(scope.tmpdir('kts-proc-'), 'proc');
    mkdirSync(this.dir, { recursive: true });
    for (const f of ['cpuinfo', 'meminfo']) copyFileSync(`/proc/${f}`, join(this.dir, f));
    this.sync();
  }

  /** Copies the real /proc/stat (unless overridden) and /proc/uptime. */
  sync(): void {
    writeAtomic(join(this.dir, 'stat'), this.statOverride ?? readFileSync('/proc/stat', 'latin1'));
    writeAtomic(join(this.dir, 'uptime'), readFileSync('/proc/uptime', 'latin1'));
  }

  /** From now on `stat` holds this text (undefined: mirror the real one again). */
  overrideStat(text: string | undefined): void {
    this.statOverride = text;
    this.sync();
  }

  linkPid(pid: number): void {
    symlinkSync(`/proc/${pid}`, join(this.dir, String(pid)));
  }

  /** A fake process folder: stat, cgroup, cmdline, environ as given. */
  fakePid(pid: number, files: { stat: string; cgroup: string; cmdline?: string; environ?: string }): void {
    const d = join(this.dir, String(pid));
    mkdirSync(d, { recursive: true });
    writeAtomic(join(d, 'stat'), files.stat);
    writeAtomic(join(d, 'cgroup'), files.cgroup);
    writeAtomic(join(d, 'cmdline'), files.cmdline ?? 'fake\0');
    writeAtomic(join(d, 'environ'), files.environ ?? '');
  }

  writePidStat(pid: number, stat: string): void {
    writeAtomic(join(this.dir, String(pid), 'stat'), stat);
  }
}

/** Clock ticks since boot now (USER_HZ 100), for a fake process's start time. */
export function uptimeTicks(): number {
  return Math.floor(Number(readFileSync('/proc/uptime', 'latin1').split(' ')[0]) * 100);
}

/** A /proc/<pid>/stat line with the given comm, utime, stime and start time. */
export function pidStatLine(pid: number, comm: string, utime: string, stime: string, starttime: number): string {
  // pid (comm) state ppid pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt utime stime
  // cutime cstime priority nice num_threads itrealvalue starttime vsize rss ...
  return `${pid} (${comm}) S 1 ${pid} ${pid} 0 -1 4194304 100 0 0 0 ${utime} ${stime} 0 0 20 0 1 0 ${starttime} 1000000 100 18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0\n`;
}

/**
 * A sysfs with a RAPL tree whose counters advance with the machine's real CPU every 100 ms (the
 * end-to-end tests' RaplTree): package and dram, real-hardware ranges. Stopped with the scope.
 */
export function liveRapl(scope: Scope): { sysfs: string; tree: RaplTree } {
  const sysfs = makeSysfs(scope);
  const tree = new RaplTree(sysfs, [
    { dir: 'intel-rapl:0', name: 'package-0', zone: 'package', idleWatts: 8, maxWatts: 40, maxRangeUj: 262_143_328_850 },
    { dir: 'intel-rapl:0:2', name: 'dram', zone: 'dram', idleWatts: 3, maxWatts: 6, maxRangeUj: 65_712_999_613 },
  ]);
  tree.resume();
  tree.start(100);
  scope.defer('stop the RAPL tree', () => tree.stop());
  return { sysfs, tree };
}
