// The meter layer against sysfs trees laid out as the kernel does (class symlinks into
// /sys/devices, nested RAPL sub-zones, legacy hwmon drivers with their sensors on the parent
// device), built in temporary folders and driven through the real code.

import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, cpSync, mkdirSync, mkdtempSync, readdirSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { MeterName } from '../../src/config/config.js';
import { defaultConfig } from '../../src/config/defaults.js';
import { loadConfig } from '../../src/config/load.js';
import { AggregatedZone, UNKNOWN_RANGE_WRAP } from '../../src/device/aggregatedZone.js';
import { counterDelta, MeterUnavailableError, type EnergyZone } from '../../src/device/energyZone.js';
import { FakeMeter } from '../../src/device/fakeMeter.js';
import type { ChipRule } from '../../src/config/chipRules.js';
import { HwmonMeter } from '../../src/device/hwmonMeter.js';
import { ACPI_ERROR_KINDS, AcpiReader, findAcpiSensors } from '../../src/device/platform/acpiPlatform.js';
import { PolledPlatform } from '../../src/device/platform/polledPlatform.js';
import { silent } from '../support/fakes.js';
import { channelFiles, pairChannels, ruleFor } from '../../src/device/hwmonPairing.js';
import { IntegratedPowerZone } from '../../src/device/integratedPowerZone.js';
import { NoMeterError, selectMeter } from '../../src/device/meterSelection.js';
import { planRaplZones, RaplMeter } from '../../src/device/raplMeter.js';

// ---------------------------------------------------------------------------------------------
// Tree builders

function tempSysfs(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'kepler-device-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function write(file: string, content: string | number): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, typeof content === 'number' ? `${content}\n` : content);
}

/** A relative symlink, as sysfs makes them (class/powercap/x -> ../../devices/...). */
function link(target: string, at: string): void {
  mkdirSync(dirname(at), { recursive: true });
  symlinkSync(relative(dirname(at), target), at);
}

interface RaplSpec {
  dir: string; // intel-rapl:0:1
  name: string; // uncore
  energy: number | string;
  /** max_energy_range_uj content; null leaves the file out. */
  max?: number | string | null;
}

/**
 * Lays out powercap as the kernel does: zones under /sys/devices/virtual/powercap/<control>/,
 * sub-zones nested in their parent, every one (and the control types, which have no name file)
 * linked flat from /sys/class/powercap. Returns class/powercap.
 */
function raplTree(sysfs: string, zones: RaplSpec[]): string {
  const devices = join(sysfs, 'devices', 'virtual', 'powercap');
  const base = join(sysfs, 'class', 'powercap');
  mkdirSync(base, { recursive: true });
  const controls = new Set<string>();
  for (const z of zones) {
    const [control, ...ids] = z.dir.split(':');
    if (!controls.has(control)) {
      controls.add(control);
      write(join(devices, control, 'enabled'), 1);
      link(join(devices, control), join(base, control));
    }
    const nested = ids.map((_, i) => `${control}:${ids.slice(0, i + 1).join(':')}`);
    const real = join(devices, control, ...nested);
    write(join(real, 'name'), `${z.name}\n`);
    write(join(real, 'energy_uj'), z.energy);
    if (z.max !== null) write(join(real, 'max_energy_range_uj'), z.max ?? 262143328850);
    write(join(real, 'enabled'), 1);
    write(join(real, 'constraint_0_name'), 'long_term\n');
    link(real, join(base, z.dir));
  }
  return base;
}

const SINGLE_SOCKET_INTEL: RaplSpec[] = [
  { dir: 'intel-rapl:0', name: 'package-0', energy: 1_000_000, max: 262143328850 },
  { dir: 'intel-rapl:0:0', name: 'core', energy: 400_000 },
  { dir: 'intel-rapl:0:1', name: 'uncore', energy: 30_000 },
  { dir: 'intel-rapl:0:2', name: 'dram', energy: 70_000, max: 65712999613 },
  { dir: 'intel-rapl:1', name: 'psys', energy: 5_000_000 },
  { dir: 'intel-rapl-mmio:0', name: 'package-0', energy: 999 },
];

const summary = (zones: EnergyZone[]) => zones.map((z) => ({ name: z.name, index: z.index, path: z.path }));

function zoneNamed(zones: EnergyZone[], name: string, index = 0): EnergyZone {
  const z = zones.find((x) => x.name === name && x.index === index);
  assert.ok(z, `no zone ${name}/${index} in ${JSON.stringify(summary(zones))}`);
  return z;
}

/** Asserts fn throws an Error (of the class when given) whose message contains every part. */
function throwsWith(fn: () => unknown, parts: string[], cls: new (...a: never[]) => Error = Error): string {
  let message = '';
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof cls, `expected ${cls.name}, got ${String(e)}`);
    message = e.message;
    return true;
  });
  for (const p of parts) assert.ok(message.includes(p), `${JSON.stringify(message)} lacks ${JSON.stringify(p)}`);
  return message;
}

const rapl = (sysfs: string, zoneFilter: string[] = []) => new RaplMeter({ sysfs, zoneFilter });

// ---------------------------------------------------------------------------------------------
// counterDelta

test('counterDelta: forward, equal, wrapped, and backwards without a range', () => {
  assert.equal(counterDelta(100, 250, 1000), 150);
  assert.equal(counterDelta(100, 250, 0), 150);
  assert.equal(counterDelta(500, 500, 1000), 0);
  assert.equal(counterDelta(500, 500, 0), 0);
  // wrapped: (max - previous) + current
  assert.equal(counterDelta(900, 100, 1000), 200);
  assert.equal(counterDelta(262143328000, 500, 262143328850), 1350);
  // went down with no known range: dropped, never negative
  assert.equal(counterDelta(900, 100, 0), null);
  // a previous reading above the claimed range is not a wrap of that range
  assert.equal(counterDelta(5000, 100, 1000), null);
});

// ---------------------------------------------------------------------------------------------
// RAPL

test('rapl: single-socket Intel tree gives package/core/uncore/dram/psys, mmio duplicate dropped', (t) => {
  const sysfs = tempSysfs(t);
  const base = raplTree(sysfs, SINGLE_SOCKET_INTEL);
  const zones = rapl(sysfs).zones();
  assert.deepEqual(summary(zones), [
    { name: 'package', index: 0, path: join(base, 'intel-rapl:0') },
    { name: 'core', index: 0, path: join(base, 'intel-rapl:0:0') },
    { name: 'uncore', index: 0, path: join(base, 'intel-rapl:0:1') },
    { name: 'dram', index: 0, path: join(base, 'intel-rapl:0:2') },
    { name: 'psys', index: 0, path: join(base, 'intel-rapl:1') },
  ]);
  // read from intel-rapl:0 (1e6 µJ), not from the mmio copy (999 µJ)
  assert.equal(zoneNamed(zones, 'package').energy(), 1_000_000);
  assert.equal(zoneNamed(zones, 'package').maxEnergy(), 262143328850);
  assert.equal(zoneNamed(zones, 'dram').energy(), 70_000);
  assert.equal(zoneNamed(zones, 'dram').maxEnergy(), 65712999613);
  assert.equal(zoneNamed(zones, 'psys').energy(), 5_000_000);
});

test('rapl: an mmio-only package zone is still used', (t) => {
  const sysfs = tempSysfs(t);
  const base = raplTree(sysfs, [{ dir: 'intel-rapl-mmio:0', name: 'package-0', energy: 42 }]);
  const zones = rapl(sysfs).zones();
  assert.deepEqual(summary(zones), [{ name: 'package', index: 0, path: join(base, 'intel-rapl-mmio:0') }]);
  assert.equal(zones[0].energy(), 42);
});

test('rapl: two sockets are summed into aggregated-<name> zones', (t) => {
  const sysfs = tempSysfs(t);
  const base = raplTree(sysfs, [
    { dir: 'intel-rapl:0', name: 'package-0', energy: 1_000, max: 1_000_000 },
    { dir: 'intel-rapl:0:0', name: 'dram', energy: 50, max: 300_000 },
    { dir: 'intel-rapl:1', name: 'package-1', energy: 2_000, max: 2_000_000 },
    { dir: 'intel-rapl:1:0', name: 'dram', energy: 60, max: 400_000 },
    { dir: 'intel-rapl:2', name: 'psys', energy: 7_000 },
  ]);
  const zones = rapl(sysfs).zones();
  assert.deepEqual(summary(zones), [
    { name: 'package', index: 0, path: 'aggregated-package' },
    { name: 'dram', index: 0, path: 'aggregated-dram' },
    { name: 'psys', index: 0, path: join(base, 'intel-rapl:2') },
  ]);
  const pkg = zoneNamed(zones, 'package');
  const dram = zoneNamed(zones, 'dram');
  assert.equal(pkg.maxEnergy(), 3_000_000);
  assert.equal(dram.maxEnergy(), 700_000);
  const p0 = pkg.energy();
  const d0 = dram.energy();
  write(join(base, 'intel-rapl:0', 'energy_uj'), 1_000 + 300_000);
  write(join(base, 'intel-rapl:1', 'energy_uj'), 2_000 + 450_000);
  write(join(base, 'intel-rapl:0:0', 'energy_uj'), 50 + 11_000);
  write(join(base, 'intel-rapl:1:0', 'energy_uj'), 60 + 22_000);
  assert.equal(counterDelta(p0, pkg.energy(), pkg.maxEnergy()), 750_000);
  assert.equal(counterDelta(d0, dram.energy(), dram.maxEnergy()), 33_000);
});

test('rapl: AMD-style tree (package-0 + core)', (t) => {
  const sysfs = tempSysfs(t);
  const base = raplTree(sysfs, [
    { dir: 'intel-rapl:0', name: 'package-0', energy: 123_456_789, max: 4294967295 },
    { dir: 'intel-rapl:0:0', name: 'core', energy: 98_765, max: 4294967295 },
  ]);
  const zones = rapl(sysfs).zones();
  assert.deepEqual(summary(zones), [
    { name: 'package', index: 0, path: join(base, 'intel-rapl:0') },
    { name: 'core', index: 0, path: join(base, 'intel-rapl:0:0') },
  ]);
  assert.equal(zones[0].energy(), 123_456_789);
  assert.equal(zones[1].energy(), 98_765);
  assert.equal(zones[1].maxEnergy(), 4294967295);
});

test('rapl: rapl.zones filter is case-insensitive; a filter matching nothing says so', (t) => {
  const sysfs = tempSysfs(t);
  const base = raplTree(sysfs, SINGLE_SOCKET_INTEL);
  assert.deepEqual(summary(rapl(sysfs, ['Package', 'DRAM']).zones()), [
    { name: 'package', index: 0, path: join(base, 'intel-rapl:0') },
    { name: 'dram', index: 0, path: join(base, 'intel-rapl:0:2') },
  ]);
  throwsWith(() => rapl(sysfs, ['gpu']).zones(), [base, 'no RAPL zones matching rapl.zones [gpu]'], MeterUnavailableError);
});

test('planRaplZones: natural order, per-name indexes, intel-rapl wins over mmio whatever the order', () => {
  const planned = planRaplZones(
    [
      { dir: 'intel-rapl-mmio:0', name: 'package-0\n' },
      { dir: 'intel-rapl:10', name: 'package-10\n' },
      { dir: 'intel-rapl:1:0', name: 'dram\n' },
      { dir: 'intel-rapl:2', name: 'package-2\n' },
      { dir: 'intel-rapl:0:0', name: 'dram\n' },
      { dir: 'intel-rapl:0', name: 'package-0\n' },
      { dir: 'intel-rapl:1', name: 'package-1\n' },
    ],
    [],
  );
  assert.deepEqual(planned, [
    { name: 'package', index: 0, dir: 'intel-rapl:0' },
    { name: 'dram', index: 0, dir: 'intel-rapl:0:0' },
    { name: 'package', index: 1, dir: 'intel-rapl:1' },
    { name: 'dram', index: 1, dir: 'intel-rapl:1:0' },
    { name: 'package', index: 2, dir: 'intel-rapl:2' },
    { name: 'package', index: 10, dir: 'intel-rapl:10' },
  ]);
});

test('rapl: a counter that passes max_energy_range_uj wraps to the right delta', (t) => {
  const sysfs = tempSysfs(t);
  const base = raplTree(sysfs, [{ dir: 'intel-rapl:0', name: 'package-0', energy: 9_000, max: 10_000 }]);
  const [pkg] = rapl(sysfs).zones();
  assert.equal(pkg.maxEnergy(), 10_000);
  const before = pkg.energy();
  write(join(base, 'intel-rapl:0', 'energy_uj'), 1_500); // advanced by 2_500 through the wrap
  const after = pkg.energy();
  assert.equal(after, 1_500);
  assert.equal(counterDelta(before, after, pkg.maxEnergy()), 2_500);
});

test('rapl: aggregated zone undoes each socket wrap and its own wrap over several steps', (t) => {
  const sysfs = tempSysfs(t);
  const base = raplTree(sysfs, [
    { dir: 'intel-rapl:0', name: 'package-0', energy: 0, max: 1_000 },
    { dir: 'intel-rapl:1', name: 'package-1', energy: 500, max: 1_000 },
  ]);
  const [pkg] = rapl(sysfs).zones();
  assert.equal(pkg.path, 'aggregated-package');
  assert.equal(pkg.maxEnergy(), 2_000);
  // socket 0 advances 700 µJ a step (wrapping at 1000 twice), socket 1 advances 100 µJ a step.
  const socket0 = [700, 400, 100, 800, 500];
  const socket1 = [600, 700, 800, 900, 0];
  let prev = pkg.energy();
  let total = 0;
  let sawOwnWrap = false;
  for (let i = 0; i < socket0.length; i++) {
    write(join(base, 'intel-rapl:0', 'energy_uj'), socket0[i]);
    write(join(base, 'intel-rapl:1', 'energy_uj'), socket1[i]);
    const cur = pkg.energy();
    assert.ok(cur >= 0 && cur < 2_000, `step ${i}: ${cur} outside the sum's range`);
    if (cur < prev) sawOwnWrap = true;
    const d = counterDelta(prev, cur, pkg.maxEnergy());
    assert.equal(d, 800, `step ${i}`);
    total += d;
    prev = cur;
  }
  assert.ok(sawOwnWrap, 'the aggregated counter never wrapped: the test does not cover it');
  assert.equal(total, 4_000);
});

for (const [label, max] of [
  ['missing', null],
  ['garbage', 'n/a\n'],
  ['empty', ''],
] as const) {
  test(`rapl: ${label} max_energy_range_uj -> a backwards counter's delta is dropped, not negative`, (t) => {
    const sysfs = tempSysfs(t);
    const base = raplTree(sysfs, [{ dir: 'intel-rapl:0', name: 'package-0', energy: 9_000, max }]);
    const [pkg] = rapl(sysfs).zones();
    assert.equal(pkg.maxEnergy(), 0);
    const a = pkg.energy();
    write(join(base, 'intel-rapl:0', 'energy_uj'), 9_400);
    const b = pkg.energy();
    assert.equal(counterDelta(a, b, pkg.maxEnergy()), 400);
    write(join(base, 'intel-rapl:0', 'energy_uj'), 100);
    assert.equal(counterDelta(b, pkg.energy(), pkg.maxEnergy()), null);
  });
}

test('rapl: aggregated zone with one socket of unknown range drops that socket when it goes back', (t) => {
  const sysfs = tempSysfs(t);
  const base = raplTree(sysfs, [
    { dir: 'intel-rapl:0', name: 'package-0', energy: 1_000, max: 1_000_000 },
    { dir: 'intel-rapl:1', name: 'package-1', energy: 5_000, max: null },
  ]);
  const [pkg] = rapl(sysfs).zones();
  assert.ok(pkg instanceof AggregatedZone);
  assert.equal(pkg.maxEnergy(), UNKNOWN_RANGE_WRAP);
  const a = pkg.energy();
  write(join(base, 'intel-rapl:0', 'energy_uj'), 1_300); // +300
  write(join(base, 'intel-rapl:1', 'energy_uj'), 200); // went back, range unknown: dropped
  const b = pkg.energy();
  assert.equal(counterDelta(a, b, pkg.maxEnergy()), 300);
  write(join(base, 'intel-rapl:0', 'energy_uj'), 1_400); // +100
  write(join(base, 'intel-rapl:1', 'energy_uj'), 250); // +50 from its new baseline
  assert.equal(counterDelta(b, pkg.energy(), pkg.maxEnergy()), 150);
  // The dropped socket reading is handed to the monitor to count, once, as a single zone's would be.
  assert.equal(pkg.takeDroppedReadings?.(), 1);
  assert.equal(pkg.takeDroppedReadings?.(), 0);
});

test('rapl: a 400-digit energy_uj is refused naming the file, not read as Infinity', (t) => {
  const sysfs = tempSysfs(t);
  const base = raplTree(sysfs, SINGLE_SOCKET_INTEL);
  const zones = rapl(sysfs).zones();
  const file = join(base, 'intel-rapl:0', 'energy_uj');
  write(file, '9'.repeat(400));
  throwsWith(() => zoneNamed(zones, 'package').energy(), [file, 'below 2^53', '400 digits']);
  write(file, String(2 ** 53));
  throwsWith(() => zoneNamed(zones, 'package').energy(), [file, 'below 2^53']);
  write(file, String(2 ** 53 - 1));
  assert.equal(zoneNamed(zones, 'package').energy(), 2 ** 53 - 1);
});

test('rapl: a zone that vanishes between reads throws naming its file; the others still read', (t) => {
  const sysfs = tempSysfs(t);
  const base = raplTree(sysfs, SINGLE_SOCKET_INTEL);
  const zones = rapl(sysfs).zones();
  rmSync(realpathSync(join(base, 'intel-rapl:0:2')), { recursive: true });
  throwsWith(() => zoneNamed(zones, 'dram').energy(), [join(base, 'intel-rapl:0:2', 'energy_uj'), 'no such file']);
  assert.equal(zoneNamed(zones, 'package').energy(), 1_000_000);
});

test('rapl: vanished socket makes its aggregated zone throw without losing state', (t) => {
  const sysfs = tempSysfs(t);
  const base = raplTree(sysfs, [
    { dir: 'intel-rapl:0', name: 'package-0', energy: 100, max: 1_000_000 },
    { dir: 'intel-rapl:1', name: 'package-1', energy: 200, max: 1_000_000 },
  ]);
  const [pkg] = rapl(sysfs).zones();
  const a = pkg.energy();
  const real1 = realpathSync(join(base, 'intel-rapl:1'));
  rmSync(real1, { recursive: true });
  throwsWith(() => pkg.energy(), [join(base, 'intel-rapl:1', 'energy_uj'), 'no such file']);
  // comes back: the failed read changed nothing, so the delta spans both intervals
  write(join(real1, 'energy_uj'), 260);
  write(join(base, 'intel-rapl:0', 'energy_uj'), 140);
  assert.equal(counterDelta(a, pkg.energy(), pkg.maxEnergy()), 100);
});

for (const [label, content] of [
  ['empty', ''],
  ['truncated', '12ab'],
  ['negative', '-5\n'],
] as const) {
  test(`rapl: ${label} energy_uj throws naming the file`, (t) => {
    const sysfs = tempSysfs(t);
    const base = raplTree(sysfs, SINGLE_SOCKET_INTEL);
    const zones = rapl(sysfs).zones();
    const file = join(base, 'intel-rapl:0:0', 'energy_uj');
    write(file, content);
    throwsWith(() => zoneNamed(zones, 'core').energy(), [file, 'expected a non-negative integer']);
    // at discovery, a meter whose only zone is unreadable is unavailable, with that reason
    const only = tempSysfs(t);
    const onlyBase = raplTree(only, [{ dir: 'intel-rapl:0', name: 'package-0', energy: content }]);
    throwsWith(() => rapl(only).zones(), [join(onlyBase, 'intel-rapl:0', 'energy_uj')], MeterUnavailableError);
  });
}

test('rapl: an unreadable zone is left out at discovery, the readable ones are kept', (t) => {
  const sysfs = tempSysfs(t);
  const base = raplTree(sysfs, SINGLE_SOCKET_INTEL);
  write(join(base, 'intel-rapl:0:1', 'energy_uj'), 'garbage');
  assert.deepEqual(
    rapl(sysfs)
      .zones()
      .map((z) => z.name),
    ['package', 'core', 'dram', 'psys'],
  );
});

test('rapl: no powercap directory -> MeterUnavailableError naming the path, "not found"', (t) => {
  const sysfs = tempSysfs(t);
  mkdirSync(join(sysfs, 'class', 'hwmon'), { recursive: true });
  throwsWith(() => rapl(sysfs).zones(), [`${join(sysfs, 'class', 'powercap')}: not found`], MeterUnavailableError);
});

test('rapl: powercap with only control types (no zones) -> MeterUnavailableError', (t) => {
  const sysfs = tempSysfs(t);
  const base = join(sysfs, 'class', 'powercap');
  write(join(sysfs, 'devices', 'virtual', 'powercap', 'intel-rapl', 'enabled'), 0);
  link(join(sysfs, 'devices', 'virtual', 'powercap', 'intel-rapl'), join(base, 'intel-rapl'));
  throwsWith(() => rapl(sysfs).zones(), [`${base}: no RAPL zones`], MeterUnavailableError);
});

// ---------------------------------------------------------------------------------------------
// RAPL permissions: root bypasses file modes, so the meter runs as nobody in a child process.

const NOBODY = 65534;

/**
 * The compiled sources copied where nobody can read them: the checkout itself may sit in a
 * private (0700) folder, as a CI clone in a mktemp directory does.
 */
function raplModuleForNobody(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'kepler-dist-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  cpSync(fileURLToPath(new URL('../../src/', import.meta.url)), join(dir, 'src'), { recursive: true });
  writeFileSync(join(dir, 'package.json'), '{"type": "module"}\n');
  chmodTree(dir, 0o755);
  return pathToFileURL(join(dir, 'src', 'device', 'raplMeter.js')).href;
}

function chmodTree(root: string, dirMode: number): void {
  const stack = [root];
  for (let d = stack.pop(); d !== undefined; d = stack.pop()) {
    chmodSync(d, dirMode);
    for (const e of readdirSync(d, { withFileTypes: true })) if (e.isDirectory()) stack.push(join(d, e.name));
  }
}

function runAsNobody(script: string): { stdout: string; stderr: string; status: number | null } {
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    uid: NOBODY,
    gid: NOBODY,
    encoding: 'utf8',
    cwd: '/',
    timeout: 20_000,
  });
  return { stdout: r.stdout, stderr: r.stderr, status: r.status };
}

test('rapl: energy_uj readable by root only -> "permission denied (root only since CVE-2020-8694)"', (t) => {
  assert.equal(process.getuid?.(), 0, 'this test runs as root (as ./scripts/test.sh does), to start a child as an unprivileged user');
  const RAPL_MODULE = raplModuleForNobody(t);
  const sysfs = tempSysfs(t);
  const base = raplTree(sysfs, SINGLE_SOCKET_INTEL);
  chmodTree(sysfs, 0o755);
  // the kernel's modes: name and max_energy_range_uj 0444, energy_uj 0400 (CVE-2020-8694)
  for (const z of SINGLE_SOCKET_INTEL) {
    chmodSync(join(base, z.dir, 'name'), 0o444);
    chmodSync(join(base, z.dir, 'max_energy_range_uj'), 0o444);
    chmodSync(join(base, z.dir, 'energy_uj'), 0o400);
  }
  // a second tree whose zone is readable at discovery and turns unreadable afterwards
  const later = join(sysfs, 'later');
  const laterBase = raplTree(later, [{ dir: 'intel-rapl:0', name: 'package-0', energy: 77 }]);
  chmodTree(later, 0o755);
  const laterFile = join(laterBase, 'intel-rapl:0', 'energy_uj');
  chownSync(realpathSync(laterFile), NOBODY, NOBODY);
  chmodSync(laterFile, 0o600);

  const script = `
    import { chmodSync } from 'node:fs';
    const { RaplMeter } = await import(${JSON.stringify(RAPL_MODULE)});
    const out = {};
    try {
      new RaplMeter({ sysfs: ${JSON.stringify(sysfs)}, zoneFilter: [] }).zones();
      out.discovery = { ok: true };
    } catch (e) {
      out.discovery = { name: e.name, message: e.message };
    }
    const [zone] = new RaplMeter({ sysfs: ${JSON.stringify(later)}, zoneFilter: [] }).zones();
    out.first = zone.energy();
    chmodSync(${JSON.stringify(laterFile)}, 0o000);
    try {
      out.second = zone.energy();
    } catch (e) {
      out.readError = e.message;
    }
    console.log(JSON.stringify(out));
  `;
  const r = runAsNobody(script);
  assert.equal(r.status, 0, `child failed: ${r.stderr}`);
  const out = JSON.parse(r.stdout) as Record<string, unknown>;
  assert.deepEqual(out.discovery, {
    name: 'MeterUnavailableError',
    message: `${join(base, 'intel-rapl:0', 'energy_uj')}: permission denied (root only since CVE-2020-8694)`,
  });
  assert.equal(out.first, 77);
  assert.equal(out.readError, `${laterFile}: permission denied (root only since CVE-2020-8694)`);
});

// ---------------------------------------------------------------------------------------------
// hwmon

interface ChipSpec {
  /** Parent device path under /sys/devices. */
  device: string;
  files: Record<string, string | number>;
  /** Old hwmon_device_register() drivers (ACPI power_meter): name and sensors on the parent device. */
  legacy?: boolean;
}

/** /sys/class/hwmon/hwmonN -> /sys/devices/<device>/hwmon/hwmonN, with its `device` link back. */
function hwmonTree(sysfs: string, chips: ChipSpec[]): string {
  const base = join(sysfs, 'class', 'hwmon');
  mkdirSync(base, { recursive: true });
  chips.forEach((c, n) => {
    const parent = join(sysfs, 'devices', c.device);
    const hw = join(parent, 'hwmon', `hwmon${n}`);
    write(join(parent, 'uevent'), '');
    write(join(hw, 'uevent'), '');
    link(parent, join(hw, 'device'));
    const at = c.legacy ? parent : hw;
    for (const [f, v] of Object.entries(c.files)) write(join(at, f), v);
    link(hw, join(base, `hwmon${n}`));
  });
  return base;
}

const ACPI_POWER_METER = (n: number, microwatts: number): ChipSpec => ({
  device: `LNXSYSTM:00/LNXSYBUS:00/ACPI000D:0${n}`,
  legacy: true,
  files: {
    name: 'power_meter\n',
    power1_average: microwatts,
    power1_average_interval: 1000,
    power1_average_interval_min: 1000,
    power1_average_interval_max: 1000,
    power1_accuracy: '95.0%\n',
    power1_is_battery: 0,
    power1_model_number: '\n',
    power1_oem_info: '\n',
    power1_serial_number: '\n',
  },
});

const HWMON_CHIPS: ChipSpec[] = [
  ACPI_POWER_METER(0, 245_000_000),
  { device: 'platform/coretemp.0', files: { name: 'coretemp\n', temp1_input: 45000, temp1_label: 'Package id 0\n' } },
  {
    device: 'platform/amd_energy.0',
    files: {
      name: 'amd_energy\n',
      energy1_input: 123_456_789,
      energy1_label: 'Esocket0\n',
      energy2_input: 5_555,
      energy2_label: 'Ecore000\n',
    },
  },
  {
    device: 'pci0000:00/0000:00:1f.4/i2c-1/1-0058',
    files: {
      name: 'pmbus\n',
      power1_label: 'pin\n',
      power1_input: 180_000_000,
      power1_average: 200_000_000,
      power1_average_interval: 500,
      power2_label: 'pout1\n',
      power2_input: 150_000_000,
    },
  },
  {
    device: 'pci0000:00/0000:00:03.1/0000:03:00.0',
    files: { name: 'amdgpu\n', power1_average: 35_000_000, power1_cap: 150_000_000, power1_label: 'PPT\n' },
  },
  ACPI_POWER_METER(1, 100_000_000),
];

function clockAt(startMs: number): { clock: () => number; advance: (ms: number) => void } {
  let now = startMs;
  return { clock: () => now, advance: (ms) => (now += ms) };
}

test('hwmon: ACPI power_meter, labelled energy counters, power average over input, GPU skipped', (t) => {
  const sysfs = tempSysfs(t);
  const base = hwmonTree(sysfs, HWMON_CHIPS);
  const { clock } = clockAt(1000);
  const zones = new HwmonMeter({ sysfs, zoneFilter: [], clock }).zones();
  assert.deepEqual(summary(zones), [
    { name: 'power_meter', index: 0, path: join(base, 'hwmon0', 'device', 'power1_average') },
    { name: 'esocket0', index: 0, path: join(base, 'hwmon2', 'energy1_input') },
    { name: 'ecore000', index: 0, path: join(base, 'hwmon2', 'energy2_input') },
    { name: 'pin', index: 0, path: join(base, 'hwmon3', 'power1_average') },
    { name: 'pout1', index: 0, path: join(base, 'hwmon3', 'power2_input') },
    { name: 'power_meter', index: 1, path: join(base, 'hwmon5', 'device', 'power1_average') },
  ]);
});

test('hwmon: power_meter alone is platform power, not a CPU zone, unless experimental.hwmon.zones names it', (t) => {
  const sysfs = tempSysfs(t);
  hwmonTree(sysfs, [ACPI_POWER_METER(0, 80_000_000), ACPI_POWER_METER(5, 20_000_000)]);
  throwsWith(
    () => new HwmonMeter({ sysfs, zoneFilter: [] }).zones(),
    ['only ACPI power_meter', 'kepler_platform_watts{source="acpi"}', 'experimental.hwmon.zones'],
    MeterUnavailableError,
  );
  assert.deepEqual(
    new HwmonMeter({ sysfs, zoneFilter: ['power_meter'] }).zones().map((z) => z.name),
    ['power_meter', 'power_meter'],
  );
});

test('ACPI platform: each power_meter (either layout) is a source="acpi" reading source, read asynchronously and integrated; an unreadable one fails the poll (no frozen values)', async (t) => {
  const sysfs = tempSysfs(t);
  const base = hwmonTree(sysfs, [ACPI_POWER_METER(0, 80_000_000), { ...ACPI_POWER_METER(5, 20_000_000), legacy: false }, HWMON_CHIPS[1]]);
  const sensors = findAcpiSensors(sysfs);
  assert.deepEqual(sensors, [
    { hwmonDir: 'hwmon0', file: join(base, 'hwmon0', 'device', 'power1_average') },
    { hwmonDir: 'hwmon1', file: join(base, 'hwmon1', 'power1_average') },
  ]);
  let now = 0;
  const acpi = new PolledPlatform({
    name: 'acpi',
    reader: new AcpiReader(sensors),
    errorKinds: ACPI_ERROR_KINDS,
    pollIntervalMs: 1000,
    describe: {},
    logger: silent,
    clock: () => now,
  });
  await acpi.pollOnce();
  assert.deepEqual(
    acpi.state().readings.map((r) => [r.reading.source, r.reading.sourceId, r.reading.sourceType, r.reading.watts, r.energyUj]),
    [
      ['acpi', 'hwmon0', 'power_meter', 80, 0n],
      ['acpi', 'hwmon1', 'power_meter', 20, 0n],
    ],
  );
  now = 2000;
  write(join(base, 'hwmon0', 'device', 'power1_average'), 100_000_000);
  await acpi.pollOnce();
  assert.deepEqual(
    acpi.state().readings.map((r) => [r.reading.sourceId, r.energyUj]),
    [
      ['hwmon0', 180_000_000n],
      ['hwmon1', 40_000_000n],
    ],
    '(80 + 100) / 2 W and 20 W over 2 s',
  );
  rmSync(join(base, 'hwmon1', 'power1_average'));
  now = 3000;
  await acpi.pollOnce();
  assert.deepEqual(acpi.state().readings, []);
  assert.deepEqual(acpi.state().errors, { read: 1, other: 0 });
  assert.deepEqual(findAcpiSensors(join(sysfs, 'nowhere')), []);
});

test('hwmon: power_meter with its files in hwmonN itself is found too', (t) => {
  const sysfs = tempSysfs(t);
  const base = hwmonTree(sysfs, [{ ...ACPI_POWER_METER(0, 80_000_000), legacy: false }]);
  const { clock, advance } = clockAt(0);
  const zones = new HwmonMeter({ sysfs, zoneFilter: ['power_meter'], clock }).zones();
  assert.deepEqual(summary(zones), [{ name: 'power_meter', index: 0, path: join(base, 'hwmon0', 'power1_average') }]);
  advance(250);
  assert.equal(zones[0].energy(), 20_000_000); // 80 W x 0.25 s
});

test('hwmon: power zones integrate µW x elapsed time on the injected clock; energy zones read the counter', (t) => {
  const sysfs = tempSysfs(t);
  const base = hwmonTree(sysfs, HWMON_CHIPS);
  const { clock, advance } = clockAt(1000);
  const zones = new HwmonMeter({ sysfs, zoneFilter: [], clock }).zones();
  const meter0 = zoneNamed(zones, 'power_meter', 0);
  const meter1 = zoneNamed(zones, 'power_meter', 1);
  const pin = zoneNamed(zones, 'pin');
  const pout = zoneNamed(zones, 'pout1');
  const esocket = zoneNamed(zones, 'esocket0');

  advance(2000);
  assert.equal(meter0.energy(), 490_000_000); // 245 W x 2 s
  assert.equal(meter1.energy(), 200_000_000); // 100 W x 2 s
  assert.equal(pin.energy(), 400_000_000); // power1_average 200 W, not power1_input 180 W
  assert.equal(pout.energy(), 300_000_000); // power2_input 150 W (no average)
  assert.equal(esocket.energy(), 123_456_789);

  write(join(base, 'hwmon0', 'device', 'power1_average'), 100_000_000);
  write(join(base, 'hwmon2', 'energy1_input'), 123_456_789 + 5_000_000);
  advance(500);
  assert.equal(meter0.energy(), 490_000_000 + 50_000_000); // + 100 W x 0.5 s
  assert.equal(esocket.energy(), 128_456_789);
  assert.equal(esocket.maxEnergy(), 0);
});

test('hwmon: GPU chips only when experimental.hwmon.zones names their zones; the filter is case-insensitive', (t) => {
  const sysfs = tempSysfs(t);
  const base = hwmonTree(sysfs, HWMON_CHIPS);
  const { clock, advance } = clockAt(0);
  const withGpu = new HwmonMeter({ sysfs, zoneFilter: ['PPT', 'power_meter'], clock }).zones();
  assert.deepEqual(
    withGpu.map((z) => `${z.name}/${z.index}`),
    ['power_meter/0', 'ppt/0', 'power_meter/1'],
  );
  const ppt = zoneNamed(withGpu, 'ppt');
  assert.equal(ppt.path, join(base, 'hwmon4', 'power1_average'));
  advance(1000);
  assert.equal(ppt.energy(), 35_000_000);

  const filtered = new HwmonMeter({ sysfs, zoneFilter: ['Power_Meter'], clock }).zones();
  assert.deepEqual(
    filtered.map((z) => `${z.name}/${z.index}`),
    ['power_meter/0', 'power_meter/1'],
  );
});

test('hwmon: a GPU zone left out leaves no gap in the indexes of a CPU zone of the same name', (t) => {
  const sysfs = tempSysfs(t);
  const gpu: ChipSpec = { device: 'pci0000:00/0000:00:02.0', files: { name: 'i915\n', power1_input: 9_000_000, power1_label: 'pkg\n' } };
  const cpu: ChipSpec = { device: 'platform/x.0', files: { name: 'pmbus\n', power1_input: 90_000_000, power1_label: 'pkg\n' } };
  hwmonTree(sysfs, [gpu, cpu]);
  const zones = new HwmonMeter({ sysfs, zoneFilter: [] }).zones();
  assert.deepEqual(
    zones.map((z) => `${z.name}/${z.index}`),
    ['pkg/0'],
  );
});

test('hwmon: only a GPU chip -> unavailable, naming its zones and how to admit them', (t) => {
  const sysfs = tempSysfs(t);
  const base = hwmonTree(sysfs, [HWMON_CHIPS[1], HWMON_CHIPS[4]]);
  throwsWith(
    () => new HwmonMeter({ sysfs, zoneFilter: [] }).zones(),
    [`${base}: no energy, power or paired voltage/current sensors`, 'GPU chip zones amdgpu (ppt) skipped: name them in experimental.hwmon.zones to use them'],
    MeterUnavailableError,
  );
});

// Voltage x current (experimental.hwmon.chipRules)

const rule = (r: Partial<ChipRule> & { name: string }): ChipRule => ({ pairings: {}, skipVoltages: [], skipCurrents: [], useSameIndex: false, ...r });

/** An INA3221 as its driver lays it out: bus voltages in1-in3, shunt voltages in4-in6, sum in7, currents curr1-curr3 (mV, mA). */
const INA3221: ChipSpec = {
  device: 'platform/3160000.i2c/i2c-0/0-0040',
  files: {
    name: 'ina3221\n',
    in1_input: 12_000,
    in1_label: 'VDD_IN\n',
    in2_input: 5_000,
    in2_label: 'VDD_CPU_GPU_CV\n',
    in3_input: 5_000,
    in3_enable: 0,
    in4_input: 40,
    in5_input: 20,
    in6_input: 0,
    in7_input: 60,
    curr1_input: 1_500,
    curr2_input: 800,
    curr3_input: 0,
    curr1_enable: 1,
  },
};

test('pairChannels: same index or explicit pairs, minus skipped and absent channels', () => {
  assert.deepEqual(pairChannels(rule({ name: 'ina3221', useSameIndex: true, skipVoltages: [4, 5, 6, 7] }), [1, 2, 3, 4, 5, 6, 7], [1, 2, 3]), [
    { voltage: 1, current: 1 },
    { voltage: 2, current: 2 },
    { voltage: 3, current: 3 },
  ]);
  // useSameIndex ignores pairings, as in Kepler.
  assert.deepEqual(pairChannels(rule({ name: 'x', useSameIndex: true, pairings: { '2': 1 } }), [1, 2], [1]), [{ voltage: 1, current: 1 }]);
  assert.deepEqual(pairChannels(rule({ name: 'max20730', pairings: { '2': 1 } }), [1, 2], [1]), [{ voltage: 2, current: 1 }]);
  assert.deepEqual(pairChannels(rule({ name: 'ltc2992', pairings: { '0': 1, '2': 2 }, skipCurrents: [2] }), [0, 1, 2, 3], [1, 2]), [{ voltage: 0, current: 1 }]);
  assert.deepEqual(pairChannels(rule({ name: 'ina226', pairings: { '1': 1 } }), [0, 1], []), []);
  assert.equal(ruleFor(' INA3221', [rule({ name: 'ina3221', useSameIndex: true })])?.name, 'ina3221');
  assert.equal(ruleFor('ina226', [rule({ name: 'ina3221', useSameIndex: true })]), undefined);
});

test('channelFiles: the _input channels of a type, with their average and enable files', () => {
  assert.deepEqual(
    [...channelFiles(['in10_input', 'in2_input', 'in2_average', 'in2_enable', 'in3_label', 'curr1_input', 'in1_min'], 'in')],
    [
      [2, { input: 'in2_input', average: 'in2_average', enable: 'in2_enable' }],
      [10, { input: 'in10_input' }],
    ],
  );
});

test('hwmon chipRules: a chip without power sensors gives in{N} mV x curr{M} mA, integrated; disabled channels and skips are left out', (t) => {
  const sysfs = tempSysfs(t);
  const base = hwmonTree(sysfs, [HWMON_CHIPS[1], INA3221]);
  const { clock, advance } = clockAt(0);
  const meter = new HwmonMeter({ sysfs, zoneFilter: [], chipRules: [rule({ name: 'INA3221', useSameIndex: true, skipVoltages: [4, 5, 6, 7] })], clock });
  const zones = meter.zones();
  assert.deepEqual(summary(zones), [
    { name: 'vdd_in', index: 0, path: join(base, 'hwmon1', 'in1_input') },
    { name: 'vdd_cpu_gpu_cv', index: 0, path: join(base, 'hwmon1', 'in2_input') },
  ]);
  assert.deepEqual(meter.notices(), []);
  const [vin, cpu] = zones;
  advance(2000);
  assert.equal(vin.energy(), 36_000_000); // 12 V x 1.5 A = 18 W, x 2 s
  assert.equal(cpu.energy(), 8_000_000); // 5 V x 0.8 A = 4 W, x 2 s
  // The sensors change: the next interval integrates the new product.
  write(join(base, 'hwmon1', 'in1_input'), 11_500);
  write(join(base, 'hwmon1', 'curr1_input'), 2_000);
  advance(500);
  assert.equal(vin.energy(), 36_000_000 + 11_500_000); // 11.5 V x 2 A = 23 W, x 0.5 s
  // A current that cannot be read throws naming its file.
  rmSync(realpathSync(join(base, 'hwmon1', 'curr2_input')));
  throwsWith(() => cpu.energy(), [join(base, 'hwmon1', 'curr2_input'), 'no such file']);
});

test('hwmon chipRules: explicit pairings; averages when both channels have one; unlabelled pairs are named <chip>_power<N>', (t) => {
  const sysfs = tempSysfs(t);
  const chip: ChipSpec = {
    device: 'platform/i2c-3/3-0010',
    files: { name: 'max20730\n', in1_input: 12_000, in2_input: 900, in2_average: 1_000, curr1_input: 40_000, curr1_average: 50_000 },
  };
  const base = hwmonTree(sysfs, [chip]);
  const { clock, advance } = clockAt(0);
  const zones = new HwmonMeter({ sysfs, zoneFilter: [], chipRules: [rule({ name: 'max20730', pairings: { '2': 1 } })], clock }).zones();
  assert.deepEqual(summary(zones), [{ name: 'max20730_power2', index: 0, path: join(base, 'hwmon0', 'in2_average') }]);
  advance(1000);
  assert.equal(zones[0].energy(), 50_000_000); // 1 V x 50 A average, x 1 s
});

test('hwmon chipRules: without a rule, or where the chip has power sensors, voltage and current are not multiplied', (t) => {
  const sysfs = tempSysfs(t);
  const pmbus: ChipSpec = { device: 'platform/p.0', files: { name: 'pmbus\n', power1_input: 7_000_000, in1_input: 12_000, curr1_input: 1_000 } };
  hwmonTree(sysfs, [pmbus, INA3221]);
  throwsWith(() => new HwmonMeter({ sysfs, zoneFilter: ['vdd_in'] }).zones(), ['no energy, power or paired voltage/current sensors'], MeterUnavailableError);
  const meter = new HwmonMeter({ sysfs, zoneFilter: [], chipRules: [rule({ name: 'pmbus', useSameIndex: true })] });
  assert.deepEqual(
    meter.zones().map((z) => z.path),
    [join(sysfs, 'class', 'hwmon', 'hwmon0', 'power1_input')],
  );
  assert.deepEqual(meter.notices(), [
    { level: 'info', message: 'experimental.hwmon.chipRules: chip "pmbus" (hwmon0) has power or energy sensors, which are used; its rule is not needed' },
  ]);
});

test('hwmon chipRules: a rule that matches no chip, or pairs nothing, is said once; with nothing else the meter is unavailable and says why', (t) => {
  const sysfs = tempSysfs(t);
  hwmonTree(sysfs, [HWMON_CHIPS[0], INA3221]);
  const rules = [rule({ name: 'ltc2945', pairings: { '1': 1 } }), rule({ name: 'ina3221', pairings: { '9': 9 } })];
  const meter = new HwmonMeter({ sysfs, zoneFilter: ['power_meter'], chipRules: rules, clock: () => 0 });
  assert.deepEqual(
    meter.zones().map((z) => z.name),
    ['power_meter'],
  );
  const unmatched = 'experimental.hwmon.chipRules: no hwmon chip named "ltc2945"; the rule is unused (chips here: power_meter, ina3221)';
  const pairsNone =
    'experimental.hwmon.chipRules: the rule for "ina3221" pairs none of the sensors of hwmon1 (voltages: in1, in2, in4, in5, in6, in7; currents: curr1, curr2, curr3)';
  assert.deepEqual(meter.notices(), [
    { level: 'warn', message: pairsNone },
    { level: 'info', message: unmatched },
  ]);
  const only = tempSysfs(t);
  hwmonTree(only, [INA3221]);
  throwsWith(
    () => new HwmonMeter({ sysfs: only, zoneFilter: [], chipRules: rules }).zones(),
    ['no energy, power or paired voltage/current sensors', 'no hwmon chip named "ltc2945"', 'pairs none'],
    MeterUnavailableError,
  );
});

test('hwmon: no hwmon directory, or only an unreadable sensor -> MeterUnavailableError naming the path', (t) => {
  const sysfs = tempSysfs(t);
  throwsWith(() => new HwmonMeter({ sysfs, zoneFilter: [] }).zones(), [`${join(sysfs, 'class', 'hwmon')}: not found`], MeterUnavailableError);
  const bad = tempSysfs(t);
  const base = hwmonTree(bad, [{ device: 'platform/x.0', files: { name: 'pmbus\n', power1_input: '' } }]);
  throwsWith(() => new HwmonMeter({ sysfs: bad, zoneFilter: [] }).zones(), [join(base, 'hwmon0', 'power1_input'), 'expected a non-negative integer'], MeterUnavailableError);
});

test('hwmon: a power sensor that vanishes after discovery throws naming its file', (t) => {
  const sysfs = tempSysfs(t);
  const base = hwmonTree(sysfs, HWMON_CHIPS);
  const zones = new HwmonMeter({ sysfs, zoneFilter: [], clock: () => 0 }).zones();
  const file = join(base, 'hwmon3', 'power1_average');
  rmSync(realpathSync(file));
  throwsWith(() => zoneNamed(zones, 'pin').energy(), [file, 'no such file']);
});

test('hwmon: one oversized power reading is refused; the zone goes on integrating the next ones', (t) => {
  const sysfs = tempSysfs(t);
  const base = hwmonTree(sysfs, [ACPI_POWER_METER(0, 100_000_000)]);
  const { clock, advance } = clockAt(0);
  const [zone] = new HwmonMeter({ sysfs, zoneFilter: ['power_meter'], clock }).zones();
  const file = join(base, 'hwmon0', 'device', 'power1_average');
  advance(1000);
  assert.equal(zone.energy(), 100_000_000);
  write(file, '9'.repeat(400));
  advance(1000);
  throwsWith(() => zone.energy(), [file, 'below 2^53']);
  write(file, 50_000_000);
  advance(1000);
  // 50 W over the 2 s since the last good reading: never NaN, never frozen.
  assert.equal(zone.energy(), 200_000_000);
});

test('IntegratedPowerZone: a non-finite or negative reading throws and leaves the total usable', () => {
  let now = 0;
  let uw = 10_000_000;
  const zone = new IntegratedPowerZone(
    'package',
    0,
    'estimator:x',
    () => uw,
    () => now,
  );
  zone.energy();
  for (const bad of [NaN, Infinity, -1]) {
    uw = bad;
    now += 1000;
    throwsWith(() => zone.energy(), ['estimator:x', `${bad}`, 'not a finite number']);
  }
  uw = 10_000_000;
  now += 1000;
  assert.equal(zone.energy(), 40_000_000); // 10 W over the 4 s since the last good reading
});

test('IntegratedPowerZone: sub-µJ remainders carry over instead of being lost', () => {
  const { clock, advance } = clockAt(0);
  const z = new IntegratedPowerZone('x', 0, 'x', () => 1, clock); // 1 µW
  assert.equal(z.energy(), 0);
  const seen: number[] = [];
  for (let i = 0; i < 8; i++) {
    advance(250); // 0.25 µJ per step
    seen.push(z.energy());
  }
  assert.deepEqual(seen, [0, 0, 0, 1, 1, 1, 1, 2]);
});

// ---------------------------------------------------------------------------------------------
// fake meter

test('fake meter: default zones and watts; energy = watts x elapsed', () => {
  const { clock, advance } = clockAt(5_000);
  const zones = new FakeMeter({ zones: [], watts: {}, clock }).zones();
  assert.deepEqual(summary(zones), [
    { name: 'package', index: 0, path: 'fake-cpu-meter/package' },
    { name: 'core', index: 0, path: 'fake-cpu-meter/core' },
    { name: 'uncore', index: 0, path: 'fake-cpu-meter/uncore' },
    { name: 'dram', index: 0, path: 'fake-cpu-meter/dram' },
  ]);
  const start = zones.map((z) => z.energy());
  advance(2_000);
  assert.deepEqual(
    zones.map((z, i) => z.energy() - start[i]),
    [80_000_000, 50_000_000, 10_000_000, 16_000_000], // 40, 25, 5, 8 W x 2 s
  );
});

test('fake meter: configured zones and watts (names case-insensitive, unknown zones 10 W)', () => {
  const { clock, advance } = clockAt(0);
  const zones = new FakeMeter({ zones: ['Package', 'psys', 'gpu'], watts: { package: 12.5 }, clock }).zones();
  assert.deepEqual(
    zones.map((z) => z.name),
    ['package', 'psys', 'gpu'],
  );
  zones.forEach((z) => z.energy());
  advance(4_000);
  assert.deepEqual(
    zones.map((z) => z.energy()),
    [50_000_000, 240_000_000, 40_000_000], // 12.5 W, psys default 60 W, fallback 10 W, x 4 s
  );
});

// ---------------------------------------------------------------------------------------------
// meter selection

const HOST_FIXTURES = fileURLToPath(new URL('../../../test/fixtures/host', import.meta.url));

function configFor(sysfs: string) {
  const cfg = defaultConfig();
  cfg.host.sysfs = sysfs;
  cfg.passthrough.dir = join(sysfs, 'passthrough'); // not the machine's /var/scaphandre: none unless a test writes one
  return cfg;
}

test('selectMeter: rapl first by default when present', (t) => {
  const sysfs = tempSysfs(t);
  raplTree(sysfs, SINGLE_SOCKET_INTEL);
  hwmonTree(sysfs, HWMON_CHIPS);
  const choice = selectMeter(configFor(sysfs));
  assert.equal(choice.meter.name, 'rapl');
  assert.deepEqual(
    choice.zones.map((z) => z.name),
    ['package', 'core', 'uncore', 'dram', 'psys'],
  );
  assert.deepEqual(choice.rejected, []);
});

test('selectMeter: rapl missing -> hwmon chosen, rapl listed as rejected with its reason', (t) => {
  const sysfs = tempSysfs(t);
  hwmonTree(sysfs, HWMON_CHIPS);
  const { clock, advance } = clockAt(0);
  const cfg = configFor(sysfs);
  cfg.experimental.hwmon.zones = ['power_meter'];
  const choice = selectMeter(cfg, undefined, clock);
  assert.equal(choice.meter.name, 'hwmon');
  assert.deepEqual(
    choice.zones.map((z) => `${z.name}/${z.index}`),
    ['power_meter/0', 'power_meter/1'],
  );
  assert.equal(choice.rejected.length, 1);
  assert.equal(choice.rejected[0].meter, 'rapl');
  assert.ok(choice.rejected[0].reason.startsWith(`${join(sysfs, 'class', 'powercap')}: not found`), choice.rejected[0].reason);
  advance(1_000);
  assert.equal(choice.zones[0].energy(), 245_000_000); // the clock reached the hwmon meter
});

test('selectMeter: nothing works, not even the estimator -> NoMeterError listing every reason', (t) => {
  const sysfs = tempSysfs(t);
  const cfg = configFor(sysfs);
  cfg.host.procfs = join(sysfs, 'no-proc'); // the estimator cannot learn the hardware either
  let err: unknown;
  assert.throws(
    () => selectMeter(cfg),
    (e: unknown) => {
      err = e;
      return e instanceof NoMeterError;
    },
  );
  const e = err as NoMeterError;
  const powercap = join(sysfs, 'class', 'powercap');
  const hwmon = join(sysfs, 'class', 'hwmon');
  assert.deepEqual(
    e.rejected.map((r) => r.meter),
    ['rapl', 'hwmon', 'passthrough', 'estimator'],
  );
  assert.ok(e.message.startsWith('no power meter available: '), e.message);
  assert.ok(e.message.includes(`rapl: ${powercap}: not found`), e.message);
  assert.ok(e.message.includes(`hwmon: ${hwmon}: not found`), e.message);
  assert.ok(e.message.includes(`passthrough: ${join(sysfs, 'passthrough')}: not found`), e.message);
  assert.ok(e.message.includes(`estimator: cannot learn the hardware: `) && e.message.includes(join(sysfs, 'no-proc', 'cpuinfo')), e.message);
});

test('selectMeter: no preferred meter works -> the estimator, marked as a fallback', (t) => {
  const sysfs = tempSysfs(t);
  const cfg = configFor(sysfs);
  cfg.host.procfs = join(HOST_FIXTURES, 'intel-xeon-2s', 'proc');
  const choice = selectMeter(cfg);
  assert.equal(choice.meter.name, 'estimator');
  assert.equal(choice.fellBack, true);
  assert.deepEqual(
    choice.rejected.map((r) => r.meter),
    ['rapl', 'hwmon', 'passthrough'],
  );
  assert.deepEqual(summary(choice.zones), [
    { name: 'package', index: 0, path: 'estimator:kts-specpower' },
    { name: 'dram', index: 0, path: 'estimator:kts-specpower' },
    { name: 'platform', index: 0, path: 'estimator:kts-specpower' },
  ]);
});

test('selectMeter: estimator named in cpu.preferredMeters is used ahead of a working rapl, not as a fallback', (t) => {
  const sysfs = tempSysfs(t);
  raplTree(sysfs, SINGLE_SOCKET_INTEL);
  const cfg = configFor(sysfs);
  cfg.host.procfs = join(HOST_FIXTURES, 'intel-xeon-2s', 'proc');
  cfg.cpu.preferredMeters = ['estimator', 'rapl'];
  const choice = selectMeter(cfg);
  assert.equal(choice.meter.name, 'estimator');
  assert.equal(choice.fellBack, false);
  assert.deepEqual(choice.rejected, []);
});

test('selectMeter: an unknown meter name is rejected as not available, the next one is used', (t) => {
  const sysfs = tempSysfs(t);
  raplTree(sysfs, SINGLE_SOCKET_INTEL);
  const cfg = configFor(sysfs);
  cfg.cpu.preferredMeters = ['nvml' as MeterName, 'rapl'];
  const choice = selectMeter(cfg);
  assert.equal(choice.meter.name, 'rapl');
  assert.equal(choice.fellBack, false);
  assert.equal(choice.rejected.length, 1);
  assert.equal(choice.rejected[0].meter, 'nvml');
  assert.match(choice.rejected[0].reason, /not available/);
});

test('selectMeter: cpu.preferredMeters [fake] is used ahead of a working rapl', (t) => {
  const sysfs = tempSysfs(t);
  raplTree(sysfs, SINGLE_SOCKET_INTEL);
  const cfg = configFor(sysfs);
  cfg.cpu.preferredMeters = ['fake'];
  cfg.dev.fakeCpuMeter = { enabled: false, zones: ['package'], watts: { package: 3 } };
  const { clock, advance } = clockAt(0);
  const choice = selectMeter(cfg, undefined, clock);
  assert.equal(choice.meter.name, 'fake');
  assert.deepEqual(summary(choice.zones), [{ name: 'package', index: 0, path: 'fake-cpu-meter/package' }]);
  assert.deepEqual(choice.rejected, []);
  choice.zones[0].energy();
  advance(1_000);
  assert.equal(choice.zones[0].energy(), 3_000_000);
});

test("selectMeter: Kepler's legacy selectors, as loadConfig translates them, pick hwmon or fake over a working rapl", (t) => {
  const sysfs = tempSysfs(t);
  raplTree(sysfs, SINGLE_SOCKET_INTEL);
  hwmonTree(sysfs, HWMON_CHIPS);
  const loaded = (argv: string[], yaml = '') => {
    const r = loadConfig([`--host.sysfs=${sysfs}`, '--config.file=c.yaml', ...argv], {}, () => yaml);
    assert.ok(r.kind === 'run');
    return r.config;
  };
  for (const [argv, yaml] of [
    [['--experimental.hwmon.enabled'], ''],
    [['--experimental.hwmon.force-enabled'], ''],
    [[], 'experimental: {hwmon: {forceEnabled: true}}\n'],
    [[], 'experimental: {hwmon: {enabled: true}}\n'],
  ] as const) {
    const cfg = loaded([...argv], yaml);
    assert.deepEqual(cfg.cpu.preferredMeters, ['hwmon'], `${argv.join(' ')} ${yaml}`);
    const choice = selectMeter(cfg);
    assert.equal(choice.meter.name, 'hwmon');
    assert.deepEqual(choice.rejected, [], 'rapl is not even tried');
  }
  const fake = loaded(['--experimental.hwmon.enabled'], 'dev: {fake-cpu-meter: {enabled: true}}\n');
  assert.deepEqual(fake.cpu.preferredMeters, ['fake'], 'fake wins');
  assert.equal(selectMeter(fake).meter.name, 'fake');
});

test('selectMeter: chip rules while another meter is chosen are said to be unused', (t) => {
  const sysfs = tempSysfs(t);
  raplTree(sysfs, SINGLE_SOCKET_INTEL);
  const cfg = configFor(sysfs);
  assert.deepEqual(selectMeter(cfg).notices, []);
  cfg.experimental.hwmon.chipRules = [{ name: 'ina3221', pairings: {}, skipVoltages: [], skipCurrents: [], useSameIndex: true }];
  assert.deepEqual(selectMeter(cfg).notices, [{ level: 'info', message: 'experimental.hwmon.chipRules: 1 rule(s) not used: the meter is rapl, not hwmon' }]);
});

test('selectMeter: a meter failing with anything but MeterUnavailableError is not hidden', () => {
  const cfg = defaultConfig();
  const boom = () => ({
    name: 'rapl',
    zones: (): EnergyZone[] => {
      throw new TypeError('bug in meter');
    },
  });
  assert.throws(() => selectMeter(cfg, { rapl: boom }), { name: 'TypeError', message: 'bug in meter' });
});
