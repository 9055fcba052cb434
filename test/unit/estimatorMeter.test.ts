// The estimator meter on fixture machines (test/fixtures/host): a procfs copied to a temporary
// folder whose /proc/stat the test advances, a clock the test drives, and the real model above.
// Its zones' counters must be the model's watts integrated over time at the load of each interval.

import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Config } from '../../src/config/config.js';
import { defaultConfig } from '../../src/config/defaults.js';
import { MeterUnavailableError } from '../../src/device/energyZone.js';
import { EstimatorMeter } from '../../src/device/estimatorMeter.js';
import { hostOfVirtualMachine, machinePower } from '../../src/estimation/machineEstimate.js';
import { estimatorInfoLabels } from '../../src/exporter/prometheus/estimatorInfoCollector.js';
import { findModel } from '../../src/estimation/modelRegistry.js';
import type { PowerModel } from '../../src/estimation/powerModel.js';
import { readHostProfile } from '../../src/estimation/hostProfile.js';
import { near } from '../support/assertions.js';

function knownModel(name: string): PowerModel {
  const model = findModel(name);
  assert.ok(model, `no model ${name}`);
  return model;
}

const HOSTS = fileURLToPath(new URL('../../../test/fixtures/host', import.meta.url));

interface Rig {
  meter: EstimatorMeter;
  /** Adds CPU ticks (100 per CPU-second) to /proc/stat: busy and idle. */
  tick: (busy: number, idle: number, steal?: number) => void;
  advance: (ms: number) => void;
  procfs: string;
}

function rig(t: TestContext, host: string, settings: Partial<Config['estimator']> = {}): Rig {
  const dir = mkdtempSync(join(tmpdir(), 'kepler-estimator-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const procfs = join(dir, 'proc');
  cpSync(join(HOSTS, host, 'proc'), procfs, { recursive: true });
  const sysfs = join(HOSTS, host, 'sys');
  let user = 1000;
  let idle = 5000;
  let steal = 0;
  const writeStat = () => writeFileSync(join(procfs, 'stat'), `cpu  ${user} 0 0 ${idle} 0 0 0 ${steal} 0 0\ncpu0 ${user} 0 0 ${idle} 0 0 0 ${steal} 0 0\nintr 1\n`);
  writeStat();
  let now = 0;
  const meter = new EstimatorMeter({ procfs, sysfs, settings: { ...defaultConfig().estimator, ...settings }, clock: () => now });
  return {
    meter,
    procfs,
    tick: (b, i, s = 0) => {
      user += b;
      idle += i;
      steal += s;
      writeStat();
    },
    advance: (ms) => (now += ms),
  };
}

const read = (zones: { name: string; energy: () => number }[]) => Object.fromEntries(zones.map((z) => [z.name, z.energy()]));

test('estimator: zones package, dram, platform labelled estimator:<model>, counting the model watts at each interval load', (t) => {
  const r = rig(t, 'intel-xeon-2s');
  const zones = r.meter.zones();
  assert.deepEqual(
    zones.map((z) => [z.name, z.path]),
    [
      ['package', 'estimator:kts-specpower'],
      ['dram', 'estimator:kts-specpower'],
      ['platform', 'estimator:kts-specpower'],
    ],
  );
  assert.deepEqual(read(zones), { package: 0, dram: 0, platform: 0 }); // the baseline reading
  const d = r.meter.description();
  assert.equal(d.virtualMachine, false);
  assert.equal(d.share, 1);
  const model = knownModel('kts-specpower');
  const spec = d.host.spec;
  assert.equal(spec.cpuName.includes('6140'), true, spec.cpuName);
  assert.equal(spec.chips, 2);

  // 2 s idle: 0 % load.
  r.tick(0, 200);
  r.advance(2000);
  const e1 = read(zones);
  const idle = model.predict(spec, 0);
  near(e1.platform, idle.total * 2e6, 2, 'platform joules at idle');
  near(e1.package, idle.cpu * 2e6, 2, 'package joules at idle');
  near(e1.dram, idle.memory * 2e6, 2, 'dram joules at idle');

  // 1 s at 75 % load.
  r.tick(75, 25);
  r.advance(1000);
  const e2 = read(zones);
  const busy = model.predict(spec, 0.75);
  near(e2.platform - e1.platform, busy.total * 1e6, 2, 'platform joules at 75 %');
  near(e2.package - e1.package, busy.cpu * 1e6, 2, 'package joules at 75 %');
  assert.ok(busy.total > idle.total * 1.5, `${busy.total} W busy vs ${idle.total} W idle`);
  assert.ok(zones.every((z) => z.maxEnergy() > 1e15));
});

test('estimator: each zone covers its own interval, so a zone read late is not billed at idle', (t) => {
  const r = rig(t, 'intel-xeon-2s');
  const zones = r.meter.zones();
  read(zones);
  const model = knownModel('kts-specpower');
  const spec = r.meter.description().host.spec;
  r.tick(100, 0); // 1 s fully busy
  r.advance(1000);
  const pkg = zones[0].energy();
  r.advance(5); // a pause between zones: no new ticks in /proc/stat, 5 ms later
  const dram = zones[1].energy();
  r.advance(5);
  const platform = zones[2].energy();
  const full = model.predict(spec, 1);
  near(pkg, full.cpu * 1e6, 2, 'package at full load');
  near(dram, full.memory * 1.005e6, 2, 'dram at full load over 1.005 s');
  near(platform, full.total * 1.01e6, 2, 'platform at full load over 1.01 s');
  // The next interval has no ticks at all (a stopped clock): the last watts carry on.
  r.advance(1000);
  near(zones[2].energy() - platform, full.total * 1e6, 2, 'platform with no new ticks');
});

test('estimator: a cloud VM (hypervisor flag) is estimated as its vCPU share of a host, steal time is not load', (t) => {
  const r = rig(t, 'aws-m5-xlarge');
  const zones = r.meter.zones();
  read(zones);
  const d = r.meter.description();
  assert.equal(d.virtualMachine, true);
  assert.equal(d.host.virtualization.hypervisor, 'amazon');
  const model = knownModel('kts-specpower');
  const { host, share } = hostOfVirtualMachine(d.host.spec, { coresPerChip: 24 }); // 8259CL: 24 cores per package
  assert.equal(d.share, share);
  assert.equal(share, 4 / 96);
  // 1 s: 40 ticks busy, 40 idle, 20 stolen: the VM ran half the time it was not stolen from.
  r.tick(40, 40, 20);
  r.advance(1000);
  near(read(zones).platform, model.predict(host, 0.5).total * share * 1e6, 2, 'VM platform joules');
  assert.ok(Number(d.parameters.machine_max_watts) < 40, `a 4-vCPU VM draws tens of watts at most: ${d.parameters.machine_max_watts}`);
});

test('estimator: configuration corrects it (TDP, idle/max watts, measured points, VM override)', (t) => {
  const base = rig(t, 'intel-xeon-2s');
  base.meter.zones();
  const tdp = rig(t, 'intel-xeon-2s', { tdpWatts: 250 });
  tdp.meter.zones();
  assert.ok(Number(tdp.meter.description().parameters.max_watts) > Number(base.meter.description().parameters.max_watts));
  assert.equal(tdp.meter.description().parameters.tdp_watts, 250);

  const cal = rig(t, 'intel-xeon-2s', { idleWatts: 120, maxWatts: 480 });
  const zones = cal.meter.zones();
  read(zones);
  cal.tick(0, 100);
  cal.advance(1000);
  near(read(zones).platform, 120e6, 2, 'calibrated idle');
  assert.equal(cal.meter.description().calibrated, true);
  assert.equal(cal.meter.description().parameters.machine_max_watts, 480);

  const pts = rig(t, 'intel-xeon-2s', {
    points: [
      { load: 0, watts: 100 },
      { load: 1, watts: 300 },
    ],
  });
  const pz = pts.meter.zones();
  read(pz);
  pts.tick(50, 50);
  pts.advance(1000);
  near(read(pz).platform, 200e6, 2, 'through the points');

  const vm = rig(t, 'intel-xeon-2s', { virtualMachine: 'true', hostCpus: 144 });
  vm.meter.zones();
  assert.equal(vm.meter.description().virtualMachine, true);
  assert.equal(vm.meter.description().share, 72 / 144);
  assert.deepEqual(vm.meter.description().warnings, []);
  const notVm = rig(t, 'aws-m5-xlarge', { virtualMachine: 'false', hostCpus: 96 });
  notVm.meter.zones();
  assert.equal(notVm.meter.description().share, 1);
  assert.match(notVm.meter.description().warnings.join(), /estimator.hostCpus \(96\) is ignored/);
  const small = rig(t, 'aws-m5-xlarge', { hostCpus: 2 });
  small.meter.zones();
  assert.equal(small.meter.description().share, 1);
  assert.match(small.meter.description().warnings.join(), /less than this VM's 4 CPUs/);
});

test('estimator: an ARM board is a small system, a few watts', (t) => {
  const r = rig(t, 'rpi4');
  r.meter.zones();
  const d = r.meter.description();
  assert.equal(d.host.spec.vendor, 'arm');
  assert.equal(d.parameters.mode, 'small-system');
  const idle = Number(d.parameters.machine_idle_watts);
  const max = Number(d.parameters.machine_max_watts);
  assert.ok(idle > 1 && idle < 6 && max > idle && max < 15, `Raspberry Pi 4: ${idle}-${max} W`);
});

test('estimator: unreadable hardware or /proc/stat is a clear error, never a silent zero', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kepler-estimator-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const meter = new EstimatorMeter({ procfs: dir, sysfs: dir, settings: defaultConfig().estimator });
  assert.throws(
    () => meter.zones(),
    (e: unknown) => e instanceof MeterUnavailableError && e.message.includes(join(dir, 'cpuinfo')),
  );

  const noStat = rig(t, 'intel-xeon-2s');
  rmSync(join(noStat.procfs, 'stat'));
  assert.throws(
    () => noStat.meter.zones(),
    (e: unknown) => e instanceof MeterUnavailableError && e.message.includes(join(noStat.procfs, 'stat')),
  );

  const r = rig(t, 'intel-xeon-2s');
  const zones = r.meter.zones();
  read(zones);
  rmSync(join(r.procfs, 'stat'));
  r.advance(1000);
  assert.throws(() => zones[0].energy(), /stat/);
});

test('estimator: the model named in the config is used, and the path says which', (t) => {
  const r = rig(t, 'intel-xeon-2s', { model: 'ccf' });
  const zones = r.meter.zones();
  assert.equal(zones[0].path, 'estimator:ccf');
  // The info metric keeps the detected hardware even where the model has a parameter of that name.
  const labels = estimatorInfoLabels(r.meter.description());
  assert.equal(labels.model, 'ccf');
  assert.equal(labels.architecture, 'skylake');
  assert.equal(labels.logical_cpus, 72);
  assert.equal(labels.virtual_machine, false);
  read(zones);
  r.tick(100, 0);
  r.advance(1000);
  const spec = readHostProfile({ procfs: r.procfs, sysfs: join(HOSTS, 'intel-xeon-2s', 'sys') }).spec;
  near(read(zones).platform, machinePower({ model: knownModel('ccf'), server: spec, share: 1, calibration: {} }, 1).total * 1e6, 2, 'ccf at full load');
});
