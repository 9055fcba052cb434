// The guest side of issue 17: the passthrough meter over a powercap tree written by the test as
// the hypervisor's kepler-ts would (flat entries, counters it advances by hand), its selection,
// and the estimator standing in for a stale tree without any counter going back.

import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultConfig } from '../../src/config/defaults.js';
import { MeterUnavailableError, type EnergyMeter, type EnergyZone } from '../../src/device/energyZone.js';
import { IntegratedPowerZone } from '../../src/device/integratedPowerZone.js';
import { selectMeter } from '../../src/device/meterSelection.js';
import { guestBusy, PassthroughMeter, STALE_READINGS, trimWindow, type PassthroughMeterOptions } from '../../src/device/passthroughMeter.js';
import { ExporterHealthCollector } from '../../src/exporter/prometheus/exporterHealthCollector.js';
import type { ExpositionWriter } from '../../src/exporter/prometheus/exposition.js';
import { REFRESH_ERROR_KINDS, type Snapshot } from '../../src/monitor/snapshot.js';
import { captureLogger } from '../support/captureLogger.js';

const HOST_FIXTURES = fileURLToPath(new URL('../../../test/fixtures/host', import.meta.url));
const RANGE = 1_000_000; // a small range, so that wraps come quickly
const ENTRIES = [
  { dir: 'intel-rapl:0', name: 'package-0' },
  { dir: 'intel-rapl:0:0', name: 'core' },
  { dir: 'intel-rapl:0:1', name: 'dram' },
];

/** The tree the host writes for this VM: flat, counters from 0, advanced by the test. */
class GuestTree {
  readonly dir: string;
  private readonly counters = new Map<string, number>();

  constructor(t: TestContext) {
    this.dir = mkdtempSync(join(tmpdir(), 'kepler-passthrough-'));
    t.after(() => rmSync(this.dir, { recursive: true, force: true }));
    for (const e of ENTRIES) {
      mkdirSync(join(this.dir, e.dir));
      writeFileSync(join(this.dir, e.dir, 'name'), `${e.name}\n`);
      writeFileSync(join(this.dir, e.dir, 'max_energy_range_uj'), `${RANGE}\n`);
      this.set(e.dir, 0);
    }
  }

  /** Below RANGE per reading, as a wrap must be (more would be two wraps between readings). */
  add(dir: string, uj: number): void {
    this.set(dir, ((this.counters.get(dir) ?? 0) + uj) % RANGE);
  }

  set(dir: string, uj: number): void {
    this.counters.set(dir, uj);
    writeFileSync(join(this.dir, dir, 'energy_uj'), `${uj}\n`);
  }
}

function clockAt(start: number) {
  let now = start;
  return { clock: () => now, advance: (ms: number) => (now += ms) };
}

/** An estimator at constant watts per zone, on the test's clock. */
function fakeEstimator(clock: () => number, watts: Record<string, number>): EnergyMeter {
  return { name: 'estimator', zones: () => Object.entries(watts).map(([name, w]) => new IntegratedPowerZone(name, 0, 'estimator:test', () => w * 1e6, clock)) };
}

function meterOver(tree: GuestTree, opts: Partial<PassthroughMeterOptions> = {}): PassthroughMeter {
  return new PassthroughMeter({ dir: tree.dir, procfs: '/nonexistent', intervalMs: 5000, busy: () => true, ...opts });
}

function byName(zones: EnergyZone[], name: string): EnergyZone {
  const zone = zones.find((z) => z.name === name);
  assert.ok(zone, `no ${name} zone`);
  return zone;
}

test('passthrough: the tree is read as RAPL is, zones labelled passthrough:<dir>', (t) => {
  const tree = new GuestTree(t);
  const { clock } = clockAt(0);
  const meter = meterOver(tree, { estimator: fakeEstimator(clock, { package: 10, dram: 2, platform: 20 }), clock });
  const zones = meter.zones();
  assert.deepEqual(
    zones.map((z) => ({ name: z.name, index: z.index, path: z.path })),
    ENTRIES.map((e) => ({ name: e.name.replace('-0', ''), index: 0, path: `passthrough:${tree.dir}` })),
  );
  assert.equal(meter.status(), 'passthrough');
  // The estimator has no core zone: said once, not hidden.
  assert.deepEqual(meter.notices(), [{ level: 'info', message: 'passthrough: the estimator has no core zone: it stays flat while the tree is stale' }]);
  assert.ok(zones.every((z) => z.maxEnergy() === 2 ** 50));
});

test('passthrough: unavailable, naming the folder, when there is no tree', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kepler-passthrough-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const unavailable = (d: string, re: RegExp) =>
    assert.throws(
      () => new PassthroughMeter({ dir: d, procfs: '/proc', intervalMs: 5000 }).zones(),
      (e: unknown) => e instanceof MeterUnavailableError && re.test(e.message) && e.message.includes(d),
    );
  unavailable(join(dir, 'missing'), /not found \(no energy from the hypervisor/);
  unavailable(dir, /empty/);
  mkdirSync(join(dir, 'intel-rapl')); // a control type, no name: no zone
  unavailable(dir, /^passthrough tree .*no RAPL zones/);
});

test('passthrough: the zones follow the tree through its wraps, as one running total each', (t) => {
  const tree = new GuestTree(t);
  const { clock, advance } = clockAt(0);
  const zones = meterOver(tree, { clock }).zones();
  const pkg = byName(zones, 'package');
  const dram = byName(zones, 'dram');
  assert.equal(pkg.energy(), 0);
  assert.equal(dram.energy(), 0);
  let added = 0;
  let addedDram = 0;
  for (const step of [400_000, 500_000, 300_000, 999_999, 1, 250_000]) {
    advance(5000);
    tree.add('intel-rapl:0', step);
    tree.add('intel-rapl:0:1', Math.round(step * 0.75));
    added += step;
    addedDram += Math.round(step * 0.75);
    assert.equal(pkg.energy(), added);
    assert.equal(dram.energy(), addedDram);
  }
  assert.ok(added > 2 * RANGE, 'the tree wrapped twice');
});

test('passthrough: a stale tree hands over to the estimator and back, the totals never going down', (t) => {
  const tree = new GuestTree(t);
  const { clock, advance } = clockAt(1_000);
  const { logger, lines } = captureLogger();
  const meter = meterOver(tree, { estimator: fakeEstimator(clock, { package: 10, dram: 2, platform: 20 }), clock, logger });
  const zones = meter.zones();
  const pkg = byName(zones, 'package');
  const core = byName(zones, 'core');
  const readAll = () => zones.map((z) => z.energy());
  let previous = readAll();
  const refresh = (uj: number) => {
    advance(5000);
    if (uj > 0) for (const e of ENTRIES) tree.add(e.dir, uj);
    const now = readAll();
    now.forEach((v, i) => assert.ok(v >= previous[i], `${zones[i].name} went from ${previous[i]} to ${v}`));
    previous = now;
    return now;
  };
  refresh(100_000);
  assert.equal(pkg.energy(), 100_000);
  // The host stops writing. Two readings: not yet stale, flat.
  refresh(0);
  refresh(0);
  assert.equal(meter.status(), 'passthrough');
  assert.equal(pkg.energy(), 100_000);
  // The third spans three intervals: stale, the estimator's 10 W x 5 s is this interval's energy.
  refresh(0);
  assert.equal(meter.status(), 'passthrough-stale');
  assert.equal(pkg.energy(), 100_000 + 50_000_000);
  refresh(0);
  assert.equal(pkg.energy(), 100_000 + 100_000_000);
  assert.equal(core.energy(), 100_000, 'no core estimate: flat while stale');
  // The host writes again, from 0 (restarted): the counter moved; the change across the stale
  // period is not counted (the estimator covered it), the intervals after it are.
  advance(5000);
  for (const e of ENTRIES) tree.set(e.dir, 7);
  const handBack = readAll();
  assert.equal(meter.status(), 'passthrough');
  assert.equal(pkg.energy(), 100_000 + 150_000_000);
  previous = handBack;
  refresh(30_000);
  assert.equal(pkg.energy(), 100_000 + 150_000_000 + 30_000);
  assert.equal(core.energy(), 100_000 + 30_000);
  assert.deepEqual(
    lines.map((l) => [l.level, l.msg]),
    [
      ['WARN', 'passthrough tree stale: estimated until it moves'],
      ['INFO', 'passthrough tree moves again: measured'],
    ],
  );
  assert.equal(lines[0].fields.dir, tree.dir);
});

test('passthrough: a restarted host (its counters back near 0, a wrap no VM could draw) bills what the counter shows, not the rest of the range', (t) => {
  const tree = new GuestTree(t);
  for (const e of ENTRIES) writeFileSync(join(tree.dir, e.dir, 'max_energy_range_uj'), '262143328850\n');
  const { clock, advance } = clockAt(1_000);
  const zones = meterOver(tree, { clock }).zones();
  const pkg = byName(zones, 'package');
  pkg.energy();
  advance(5000);
  tree.set('intel-rapl:0', 900_000);
  assert.equal(pkg.energy(), 900_000);
  advance(5000);
  tree.set('intel-rapl:0', 7);
  assert.equal(pkg.energy(), 900_007, 'restart: 7 µJ since, not 262 kJ of wrap');
});

test('passthrough: a zone the host leaves at 0 (no dram measurement) does not make the tree stale while another moves', (t) => {
  const tree = new GuestTree(t);
  const { clock, advance } = clockAt(1_000);
  const meter = meterOver(tree, { estimator: fakeEstimator(clock, { package: 10, dram: 2 }), clock });
  const zones = meter.zones();
  zones.forEach((z) => z.energy());
  for (let i = 0; i < 6; i++) {
    advance(5000);
    tree.add('intel-rapl:0', 10_000);
    zones.forEach((z) => z.energy());
  }
  assert.equal(meter.status(), 'passthrough');
  assert.equal(byName(zones, 'dram').energy(), 0, 'measured 0, not estimated');
});

test('passthrough: three readings within less than three intervals are not yet stale', (t) => {
  const tree = new GuestTree(t);
  const { clock, advance } = clockAt(0);
  const meter = meterOver(tree, { clock, estimator: fakeEstimator(clock, { package: 10 }) });
  const pkg = byName(meter.zones(), 'package');
  pkg.energy();
  for (let i = 0; i < 2 * STALE_READINGS; i++) {
    advance(2000); // scrapes between refreshes: many readings, little time
    pkg.energy();
  }
  assert.equal(meter.status(), 'passthrough');
  advance(3000); // 15 s since the counter last moved
  pkg.energy();
  assert.equal(meter.status(), 'passthrough-stale');
});

test('passthrough: an idle guest is never stale: its tree may well not move', (t) => {
  const tree = new GuestTree(t);
  const { clock, advance } = clockAt(0);
  const meter = meterOver(tree, { clock, estimator: fakeEstimator(clock, { package: 10 }), busy: () => false });
  const pkg = byName(meter.zones(), 'package');
  for (let i = 0; i < 20; i++) {
    advance(5000);
    assert.equal(pkg.energy(), 0);
  }
  assert.equal(meter.status(), 'passthrough');
});

test('passthrough: busy is read from /proc/stat, over the last intervals only', (t) => {
  const tree = new GuestTree(t);
  const { clock, advance } = clockAt(0);
  let busyTicks = 0;
  let idleTicks = 0;
  const stat = () => `cpu  ${busyTicks} 0 0 ${idleTicks} 0 0 0 0 0 0\ncpu0 ${busyTicks} 0 0 ${idleTicks} 0 0 0 0 0 0\n`;
  const meter = meterOver(tree, { clock, estimator: fakeEstimator(clock, { package: 10 }), busy: undefined, readProcStat: stat });
  const pkg = byName(meter.zones(), 'package');
  const tick = (busyPerSec: number) => {
    advance(5000);
    busyTicks += busyPerSec * 5;
    idleTicks += (100 - busyPerSec) * 5;
    pkg.energy();
  };
  for (let i = 0; i < 720; i++) tick(1); // an hour at 1 % of a CPU: idle, not stale
  assert.equal(meter.status(), 'passthrough');
  // Half a CPU for one interval: the last three intervals average 17 %, where the hour since the
  // counter last moved would average 1.2 %.
  tick(50);
  assert.equal(meter.status(), 'passthrough-stale');
});

test('guestBusy and trimWindow: pure', () => {
  const at = (busy: number, idle: number) => ({ user: busy, nice: 0, system: 0, idle, iowait: 0, irq: 0, softirq: 0, steal: 0 });
  assert.equal(guestBusy(at(0, 0), at(50, 1950), 10_000), false); // 5 ticks/s = 5 % of a CPU: not above
  assert.equal(guestBusy(at(0, 0), at(60, 1940), 10_000), true);
  assert.equal(guestBusy(at(0, 0), at(60, 1940), 0), false);
  const marks = [0, 5, 10, 15, 20, 25].map((s) => ({ ms: s * 1000 }));
  assert.deepEqual(
    trimWindow(marks, 25_000, 15_000).map((m) => m.ms),
    [10_000, 15_000, 20_000, 25_000],
  );
  assert.equal(trimWindow(marks.slice(0, 3), 10_000, 15_000).length, 3);
});

test('selectMeter: passthrough after the preferred meters and before the estimator; or where it is named', (t) => {
  const tree = new GuestTree(t);
  const sysfs = mkdtempSync(join(tmpdir(), 'kepler-device-')); // no RAPL, no hwmon
  t.after(() => rmSync(sysfs, { recursive: true, force: true }));
  const cfg = defaultConfig();
  cfg.host.sysfs = sysfs;
  cfg.host.procfs = join(HOST_FIXTURES, 'intel-xeon-2s', 'proc');
  cfg.passthrough.dir = tree.dir;
  const { logger } = captureLogger();
  const chosen = selectMeter(cfg, undefined, undefined, logger);
  assert.equal(chosen.meter.name, 'passthrough');
  assert.equal(chosen.fellBack, true);
  assert.deepEqual(
    chosen.rejected.map((r) => r.meter),
    ['rapl', 'hwmon'],
  );
  assert.equal(chosen.meter.status?.(), 'passthrough');
  assert.deepEqual(chosen.notices, [{ level: 'info', message: 'passthrough: the estimator has no core zone: it stays flat while the tree is stale' }]);

  cfg.cpu.preferredMeters = ['passthrough', 'rapl'];
  const named = selectMeter(cfg);
  assert.equal(named.meter.name, 'passthrough');
  assert.equal(named.fellBack, false);
  assert.deepEqual(named.rejected, []);

  cfg.cpu.preferredMeters = ['rapl', 'hwmon'];
  cfg.passthrough.dir = join(tree.dir, 'not-mounted');
  const estimated = selectMeter(cfg);
  assert.equal(estimated.meter.name, 'estimator');
  assert.deepEqual(
    estimated.rejected.map((r) => r.meter),
    ['rapl', 'hwmon', 'passthrough'],
  );
  assert.match(estimated.rejected[2].reason, /not-mounted: not found/);
});

test('kepler_exporter_meter_info: a state label when the meter reports one, the same labels otherwise', () => {
  const health = { durationBuckets: [], refreshes: 0, durationSumSec: 0, errors: Object.fromEntries(REFRESH_ERROR_KINDS.map((k) => [k, 0])) };
  const none = { workloads: [] };
  const snap = { health, timestampMs: 0, elapsedSec: 0, processes: none, containers: none, vms: none, pods: none } as unknown as Snapshot;
  const infoLabels = (status?: () => string | undefined) => {
    const samples: [string, string][] = [];
    const out = { family: () => undefined, sample: (name: string, labels: string) => samples.push([name, labels]) } as unknown as ExpositionWriter;
    const scrape = () => ({ lastDurationSec: 0, lastBytes: 0, scrapes: 0 });
    new ExporterHealthCollector({ meter: 'passthrough', zones: ['package', 'dram'], ...(status ? { status } : {}) }, scrape).collect(snap, out);
    return samples.find(([n]) => n === 'kepler_exporter_meter_info')?.[1];
  };
  assert.equal(infoLabels(), 'meter="passthrough",zones="package,dram"');
  let state = 'passthrough';
  const status = () => state;
  assert.equal(infoLabels(status), 'meter="passthrough",zones="package,dram",state="passthrough"');
  state = 'passthrough-stale';
  assert.equal(infoLabels(status), 'meter="passthrough",zones="package,dram",state="passthrough-stale"');
  assert.equal(
    infoLabels(() => undefined),
    'meter="passthrough",zones="package,dram"',
  );
});
