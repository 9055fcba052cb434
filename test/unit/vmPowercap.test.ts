// vm.passthrough on the host: the counters of a VM's powercap tree (pure), its folder name, and
// the writer on a temporary dir, read back by the real RaplMeter as a guest would.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { RaplMeter } from '../../src/device/raplMeter.js';
import { MAX_ENERGY_RANGE_UJ, treeFiles, treeZones, vmCounters, vmFolderName } from '../../src/exporter/passthrough/vmPowercapTree.js';
import { VmPowercapWriter, writeAtomic } from '../../src/exporter/passthrough/vmPowercapWriter.js';
import { PowerMonitor, type IdleOptions } from '../../src/monitor/powerMonitor.js';
import type { Snapshot, WorkloadEnergy } from '../../src/monitor/snapshot.js';
import type { VmInfo, WorkloadCpu } from '../../src/resource/workloads.js';
import { captureLogger } from '../support/captureLogger.js';
import { FakeZone, sample, silent } from '../support/fakes.js';

const MAX = MAX_ENERGY_RANGE_UJ;
const ZONES = ['package', 'core', 'dram'];

function vm(name: string, key = `uuid-${name}`): VmInfo {
  return { key, id: key, name, hypervisor: 'kvm' };
}

function cpu<I>(info: I, cpuDeltaSec: number, cpuTotalSec: number, ended = false): WorkloadCpu<I> {
  return { info, cpuDeltaSec, cpuTotalSec, ended };
}

/** A VM's energy as a snapshot carries it: totals per zone, in the order of ZONES. */
function energy(info: VmInfo, uj: bigint[], state: 'running' | 'terminated' = 'running', idleUj?: bigint[]): WorkloadEnergy<VmInfo> {
  return { info, state, cpuTotalSec: 0, cpuDeltaSec: 0, energyUj: uj, deltaUj: uj.map(() => 0), ...(idleUj ? { idleUj, idleDeltaUj: idleUj.map(() => 0) } : {}) };
}

/** A snapshot with only what the writer reads: the VM level. */
function snap(workloads: WorkloadEnergy<VmInfo>[], billed: WorkloadEnergy<VmInfo>[] = workloads): Snapshot {
  return { vms: { workloads, billed, unattributedUj: [], unattributedDeltaUj: [], droppedUj: [] } } as unknown as Snapshot;
}

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'kepler-passthrough-'));
}

/** Every path under `dir`, relative, sorted. */
function tree(dir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const e of readdirSync(join(dir, rel), { withFileTypes: true })) {
      const p = rel ? `${rel}/${e.name}` : e.name;
      out.push(p);
      if (e.isDirectory()) walk(p);
    }
  };
  walk('');
  return out.sort();
}

const read = (file: string) => readFileSync(file, 'utf8');

describe('the counters of a VM tree (pure)', () => {
  const zones = treeZones(ZONES);

  test('each counter is the total modulo the range, exactly, far above 2^53 µJ', () => {
    const big = MAX * 123_456_789n + 987_654_321n; // ~3.2e19 µJ, beyond any float's exactness
    assert.ok(big > 2n ** 64n);
    const c = vmCounters(energy(vm('a'), [big, big + 1n, MAX * 7n]), zones);
    assert.deepEqual(c, { package: 987_654_321n, core: 987_654_322n, dram: 0n });
    assert.equal(vmCounters(energy(vm('a'), [MAX - 1n, 0n, 0n]), zones).package, MAX - 1n);
    assert.equal(vmCounters(energy(vm('a'), [MAX, 0n, 0n]), zones).package, 0n);
    assert.equal(vmCounters(energy(vm('a'), [MAX + 1n, 0n, 0n]), zones).package, 1n);
  });

  test('the idle share is added only when the snapshot carries one', () => {
    assert.deepEqual(vmCounters(energy(vm('a'), [100n, 60n, 10n]), zones), { package: 100n, core: 60n, dram: 10n });
    assert.deepEqual(vmCounters(energy(vm('a'), [100n, 60n, 10n], 'running', [40n, 20n, 5n]), zones), { package: 140n, core: 80n, dram: 15n });
    // The sum wraps, not each part.
    assert.equal(vmCounters(energy(vm('a'), [MAX - 10n, 0n, 0n], 'running', [25n, 0n, 0n]), zones).package, 15n);
  });

  test('no core zone: core is the package value; no dram zone: 0; zones found by name in any order', () => {
    const pkgOnly = treeZones(['package']);
    assert.deepEqual(vmCounters(energy(vm('a'), [MAX + 5n], 'running', [3n]), pkgOnly), { package: 8n, core: 8n, dram: 0n });
    const shuffled = treeZones(['dram', 'uncore', 'package']);
    assert.deepEqual(vmCounters(energy(vm('a'), [7n, 99n, 50n]), shuffled), { package: 50n, core: 50n, dram: 7n });
  });

  test("the tree's files: three entries, flat, each with name, range and counter", () => {
    const files = treeFiles({ package: 1n, core: 2n, dram: 3n });
    assert.deepEqual(
      files.map((f) => [f.path, f.content]),
      [
        ['intel-rapl:0/name', 'package-0\n'],
        ['intel-rapl:0/max_energy_range_uj', '262143328850\n'],
        ['intel-rapl:0/energy_uj', '1\n'],
        ['intel-rapl:0:0/name', 'core\n'],
        ['intel-rapl:0:0/max_energy_range_uj', '262143328850\n'],
        ['intel-rapl:0:0/energy_uj', '2\n'],
        ['intel-rapl:0:1/name', 'dram\n'],
        ['intel-rapl:0:1/max_energy_range_uj', '262143328850\n'],
        ['intel-rapl:0:1/energy_uj', '3\n'],
      ],
    );
  });

  test('folder names: the VM name, or undefined for any that could leave the dir', () => {
    for (const ok of ['vm1', 'my,vm', 'instance-0000002a', '...', '.hidden', 'a b', 'é'.repeat(127), 'x'.repeat(255)]) assert.equal(vmFolderName(ok), ok, ok);
    for (const bad of ['', '.', '..', '../etc', 'a/b', '/', 'a\0b', '\0', 'x'.repeat(256), 'é'.repeat(128)]) assert.equal(vmFolderName(bad), undefined, JSON.stringify(bad));
  });
});

describe('VmPowercapWriter', () => {
  test('the tree of a VM billed by a real monitor reads back through RaplMeter as the same energy', () => {
    for (const idle of [
      { model: 'usage-ratio', attribution: 'none' },
      { model: 'usage-ratio', attribution: 'cpu' },
    ] satisfies IdleOptions[]) {
      const dir = tempDir();
      try {
        const zones = [new FakeZone('package', 0, 'p'), new FakeZone('core', 0, 'c'), new FakeZone('dram', 0, 'd')];
        const clock = { now: 1_000 };
        let next = sample({ baseline: true });
        const monitor = new PowerMonitor({
          zones,
          resources: { refresh: () => next },
          intervalMs: 0,
          stalenessMs: 500,
          maxTerminated: 500,
          minTerminatedEnergyThresholdJ: 0,
          idle,
          logger: silent,
          clock: () => clock.now,
        });
        const writer = new VmPowercapWriter({ dir, keepMs: 60_000, zoneNames: ZONES, logger: silent, clock: () => clock.now });
        monitor.onSnapshot(writer.onSnapshot);
        const guest = vm('vm1');
        const other = vm('vm2'); // so that vm1 gets a share, not the whole node
        monitor.refresh();

        // The guest's view: its sysfs/class/powercap is the VM's folder.
        const sysfs = join(dir, 'guest-sysfs');
        mkdirSync(join(sysfs, 'class'), { recursive: true });
        let meter: RaplMeter | undefined;
        let guestZones: ReturnType<RaplMeter['zones']> = [];
        let t = 0;
        for (let i = 1; i <= 5; i++) {
          zones[0].counter += 30_000_000 * i;
          zones[1].counter += 20_000_000 * i;
          zones[2].counter += 3_000_000 * i;
          clock.now += 1000;
          t += i;
          next = sample({ nodeActiveCpuSec: 2 * i, nodeTotalCpuSec: 8 * i, usageRatio: 0.25, vms: [cpu(guest, i, t), cpu(other, i, t)] });
          const s = monitor.refresh();
          if (!meter) {
            symlinkSync(join(dir, 'vm1'), join(sysfs, 'class', 'powercap'));
            meter = new RaplMeter({ sysfs, zoneFilter: [] });
            guestZones = meter.zones();
            assert.deepEqual(
              guestZones.map((z) => [z.name, z.index, z.maxEnergy()]),
              [
                ['package', 0, Number(MAX)],
                ['core', 0, Number(MAX)],
                ['dram', 0, Number(MAX)],
              ],
            );
          }
          const w = s.vms.workloads.find((x) => x.info.key === guest.key);
          assert.ok(w);
          ZONES.forEach((_, z) => {
            const expected = w.energyUj[z] + (w.idleUj?.[z] ?? 0n);
            assert.ok(expected > 0n);
            assert.equal(BigInt(guestZones[z].energy()), expected, `${idle.attribution} zone ${ZONES[z]} refresh ${i}`);
          });
          if (idle.attribution === 'cpu') assert.ok((w.idleUj?.[0] ?? 0n) > 0n, 'an idle share is billed');
        }
        assert.equal(writer.errors(), 0);
        assert.deepEqual(
          tree(join(dir, 'vm1')).filter((p) => !p.includes('/')),
          ['intel-rapl:0', 'intel-rapl:0:0', 'intel-rapl:0:1'],
        );
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
  });

  test('writes are atomic: a reader racing the writer never sees a missing, empty or partial counter, and no temporary file stays', async () => {
    const dir = tempDir();
    try {
      const writer = new VmPowercapWriter({ dir, keepMs: 0, zoneNames: ZONES, logger: silent });
      const a = vm('racer');
      writer.onSnapshot(snap([energy(a, [1n, 1n, 1n])]));
      const file = join(dir, 'racer', 'intel-rapl:0', 'energy_uj');
      const stop = new Int32Array(new SharedArrayBuffer(4));
      const worker = new Worker(
        `const { workerData, parentPort } = require('node:worker_threads');
         const { readFileSync } = require('node:fs');
         const stop = new Int32Array(workerData.stop);
         let reads = 0, bad = [];
         while (Atomics.load(stop, 0) === 0) {
           let text;
           try { text = readFileSync(workerData.file, 'utf8'); } catch (e) { text = 'error ' + e.code; }
           reads++;
           if (!/^[0-9]+\\n$/.test(text) && bad.length < 5) bad.push(text);
         }
         parentPort.postMessage({ reads, bad });`,
        { eval: true, workerData: { file, stop: stop.buffer } },
      );
      const result = new Promise<{ reads: number; bad: string[] }>((resolve, reject) => {
        worker.once('message', resolve);
        worker.once('error', reject);
      });
      // Counters of growing length (1, 10, ..., 10^17 and back), so a partial write would show.
      const started = Date.now();
      let i = 0;
      for (; i < 200 || Date.now() - started < 500; i++) {
        const v = 10n ** BigInt(i % 18) + BigInt(i);
        writer.onSnapshot(snap([energy(a, [v, v, v])]));
      }
      Atomics.store(stop, 0, 1);
      const { reads, bad } = await result;
      await worker.terminate();
      assert.deepEqual(bad, []);
      assert.ok(reads > 100, `the reader raced the writer (${reads} reads over ${i} snapshots)`);
      assert.equal(writer.errors(), 0);
      assert.deepEqual(
        tree(dir).filter((p) => p.includes('.tmp')),
        [],
      );
      // Nothing but the tree.
      assert.deepEqual(tree(dir), [
        'racer',
        'racer/intel-rapl:0',
        'racer/intel-rapl:0/energy_uj',
        'racer/intel-rapl:0/max_energy_range_uj',
        'racer/intel-rapl:0/name',
        'racer/intel-rapl:0:0',
        'racer/intel-rapl:0:0/energy_uj',
        'racer/intel-rapl:0:0/max_energy_range_uj',
        'racer/intel-rapl:0:0/name',
        'racer/intel-rapl:0:1',
        'racer/intel-rapl:0:1/energy_uj',
        'racer/intel-rapl:0:1/max_energy_range_uj',
        'racer/intel-rapl:0:1/name',
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('only changed counters are rewritten (200 VMs, one busy)', () => {
    const dir = tempDir();
    try {
      const writer = new VmPowercapWriter({ dir, keepMs: 0, zoneNames: ZONES, logger: silent });
      const vms = Array.from({ length: 200 }, (_, i) => vm(`vm-${i}`));
      const totals = vms.map(() => [5n, 4n, 1n]);
      const step = () => writer.onSnapshot(snap(vms.map((v, i) => energy(v, totals[i]))));
      step();
      // A rename gives the file a new inode: an unchanged inode is a file not written.
      const inodes = () =>
        vms.map((v) =>
          ['intel-rapl:0', 'intel-rapl:0:0', 'intel-rapl:0:1'].map((d) => ['name', 'max_energy_range_uj', 'energy_uj'].map((f) => statSync(join(dir, v.name, d, f)).ino)),
        );
      const before = inodes();
      totals[7] = [6n, 4n, 2n]; // package and dram move, core does not
      step();
      const after = inodes();
      vms.forEach((_, i) =>
        [0, 1, 2].forEach((d) =>
          [0, 1, 2].forEach((f) => {
            const rewritten = i === 7 && f === 2 && d !== 1;
            assert.equal(after[i][d][f] !== before[i][d][f], rewritten, `vm ${i} entry ${d} file ${f}`);
          }),
        ),
      );
      assert.equal(read(join(dir, 'vm-7', 'intel-rapl:0', 'energy_uj')), '6\n');
      assert.equal(read(join(dir, 'vm-7', 'intel-rapl:0:1', 'energy_uj')), '2\n');
      // A wrap to the same counter value is no change either.
      totals[8] = [5n + MAX, 4n + 2n * MAX, 1n];
      step();
      assert.deepEqual(inodes()[8], after[8]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('files are 0644 and folders 0755 whatever the umask, the dir made when missing', () => {
    const root = tempDir();
    const old = process.umask(0o077);
    try {
      const dir = join(root, 'lib', 'scaphandre');
      const writer = new VmPowercapWriter({ dir, keepMs: 0, zoneNames: ['package'], logger: silent });
      writer.onSnapshot(snap([energy(vm('vm1'), [42n])]));
      for (const d of [join(root, 'lib'), dir, join(dir, 'vm1'), join(dir, 'vm1', 'intel-rapl:0:1')]) assert.equal(statSync(d).mode & 0o777, 0o755, d);
      for (const p of tree(join(dir, 'vm1')).filter((p) => p.includes('/'))) assert.equal(statSync(join(dir, 'vm1', p)).mode & 0o777, 0o644, p);
      assert.equal(read(join(dir, 'vm1', 'intel-rapl:0:0', 'energy_uj')), '42\n');
      assert.equal(read(join(dir, 'vm1', 'intel-rapl:0:1', 'energy_uj')), '0\n');
    } finally {
      process.umask(old);
      rmSync(root, { recursive: true, force: true });
    }
  });

  test('a VM that ends keeps its final counters for keepMs, then its folder goes', () => {
    const dir = tempDir();
    try {
      const clock = { now: 10_000 };
      const writer = new VmPowercapWriter({ dir, keepMs: 5_000, zoneNames: ZONES, logger: silent, clock: () => clock.now });
      const a = vm('a');
      const b = vm('b');
      writer.onSnapshot(snap([energy(a, [10n, 5n, 1n]), energy(b, [20n, 5n, 1n])]));
      clock.now += 1000;
      // a ends with its last interval billed; b vanishes without a terminated entry.
      writer.onSnapshot(snap([energy(a, [15n, 7n, 1n], 'terminated')]));
      assert.equal(read(join(dir, 'a', 'intel-rapl:0', 'energy_uj')), '15\n');
      assert.equal(read(join(dir, 'a', 'intel-rapl:0:0', 'energy_uj')), '7\n');
      clock.now += 4_999;
      writer.onSnapshot(snap([], []));
      assert.ok(existsSync(join(dir, 'a')) && existsSync(join(dir, 'b')));
      clock.now += 1;
      writer.onSnapshot(snap([], []));
      assert.deepEqual(readdirSync(dir), []);

      // keepMs 0: gone at the next snapshot, and a VM that ended before its first tree gets none.
      const now = new VmPowercapWriter({ dir, keepMs: 0, zoneNames: ZONES, logger: silent, clock: () => clock.now });
      now.onSnapshot(snap([energy(a, [1n, 1n, 1n])]));
      now.onSnapshot(snap([energy(a, [2n, 1n, 1n], 'terminated'), energy(b, [3n, 1n, 1n], 'terminated')]));
      assert.deepEqual(readdirSync(dir), ['a']);
      assert.equal(read(join(dir, 'a', 'intel-rapl:0', 'energy_uj')), '2\n');
      now.onSnapshot(snap([], []));
      assert.deepEqual(readdirSync(dir), []);

      // A VM of the same name that starts before the folder went takes it over.
      const again = new VmPowercapWriter({ dir, keepMs: 5_000, zoneNames: ZONES, logger: silent, clock: () => clock.now });
      again.onSnapshot(snap([energy(a, [9n, 1n, 1n])]));
      again.onSnapshot(snap([energy(a, [10n, 1n, 1n], 'terminated')]));
      const a2 = vm('a', 'uuid-a-restarted');
      again.onSnapshot(snap([energy(a2, [1n, 1n, 1n])]));
      clock.now += 60_000;
      again.onSnapshot(snap([energy(a2, [2n, 1n, 1n])]));
      assert.equal(read(join(dir, 'a', 'intel-rapl:0', 'energy_uj')), '2\n');
      assert.equal(again.errors(), 0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a hostile VM name writes nothing, and is logged and counted once', () => {
    const root = tempDir();
    try {
      const dir = join(root, 'scaphandre');
      const { logger, lines } = captureLogger();
      const writer = new VmPowercapWriter({ dir, keepMs: 0, zoneNames: ZONES, logger });
      const hostile = ['../escaped', '..', '.', '', 'a/b', 'x\0y', 'z'.repeat(300)].map((n, i) => vm(n, `k${i}`));
      for (let i = 0; i < 3; i++) writer.onSnapshot(snap(hostile.map((v) => energy(v, [BigInt(i), 1n, 1n]))));
      assert.deepEqual(readdirSync(root), ['scaphandre']);
      assert.deepEqual(readdirSync(dir), []);
      assert.equal(lines.length, hostile.length);
      assert.ok(lines.every((l) => l.level === 'WARN' && /cannot be a folder name/.test(l.msg)));
      assert.deepEqual(
        lines.map((l) => l.fields.vm_id),
        hostile.map((v) => v.id),
      );
      assert.equal(writer.errors(), hostile.length);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  test('folders already there: others left alone, a running VM adopts its own, a link is never written through', () => {
    const root = tempDir();
    try {
      const dir = join(root, 'scaphandre');
      const outside = join(root, 'outside');
      mkdirSync(outside);
      mkdirSync(join(dir, 'stranger'), { recursive: true });
      writeFileSync(join(dir, 'stranger', 'keep'), 'x');
      mkdirSync(join(dir, 'vm1', 'intel-rapl:0'), { recursive: true });
      writeFileSync(join(dir, 'vm1', 'intel-rapl:0', 'energy_uj'), '999999\n');
      symlinkSync(outside, join(dir, 'linked'));
      mkdirSync(join(dir, 'sublinked'));
      symlinkSync(outside, join(dir, 'sublinked', 'intel-rapl:0:1'));
      const { logger, lines } = captureLogger();
      const clock = { now: 0 };
      const writer = new VmPowercapWriter({ dir, keepMs: 0, zoneNames: ZONES, logger, clock: () => clock.now });
      writer.onSnapshot(snap([energy(vm('vm1'), [3n, 2n, 1n]), energy(vm('linked'), [3n, 2n, 1n]), energy(vm('sublinked'), [3n, 2n, 1n])]));
      assert.equal(read(join(dir, 'vm1', 'intel-rapl:0', 'energy_uj')), '3\n');
      assert.deepEqual(readdirSync(outside), []);
      assert.equal(read(join(dir, 'stranger', 'keep')), 'x');
      assert.equal(lines.length, 2);
      assert.deepEqual(lines.map((l) => l.fields.vm_name).sort(), ['linked', 'sublinked']);
      assert.equal(writer.errors(), 2);
      // vm1 ends: its adopted folder goes; the stranger and the links stay.
      writer.onSnapshot(snap([], []));
      writer.onSnapshot(snap([], []));
      assert.deepEqual(readdirSync(dir).sort(), ['linked', 'stranger', 'sublinked']);
      assert.ok(lstatSync(join(dir, 'linked')).isSymbolicLink());
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  test('an entry folder swapped for a link after the claim is never written through; a folder others can write in is not adopted', () => {
    const root = tempDir();
    try {
      const dir = join(root, 'scaphandre');
      const outside = join(root, 'outside');
      mkdirSync(outside);
      const { logger, lines } = captureLogger();
      const writer = new VmPowercapWriter({ dir, keepMs: 0, zoneNames: ZONES, logger, clock: () => 0 });
      writer.onSnapshot(snap([energy(vm('vm1'), [3n, 2n, 1n])]));
      // Whoever can write in vm1/ (qemu's user, a guest through a writable share) swaps a folder for a link.
      rmSync(join(dir, 'vm1', 'intel-rapl:0'), { recursive: true });
      symlinkSync(outside, join(dir, 'vm1', 'intel-rapl:0'));
      writer.onSnapshot(snap([energy(vm('vm1'), [9n, 8n, 7n])]));
      assert.deepEqual(readdirSync(outside), [], 'nothing written through the link');
      assert.ok(lines.some((l) => /changed under us/.test(l.msg)));
      // Ended: the swapped folder is not removed recursively (the link would be followed by some tools).
      writer.onSnapshot(snap([], []));
      writer.onSnapshot(snap([], []));
      assert.deepEqual(readdirSync(outside), []);
      // A folder anyone can write in is not adopted.
      mkdirSync(join(dir, 'vm2'));
      chmodSync(join(dir, 'vm2'), 0o777);
      writer.onSnapshot(snap([energy(vm('vm2'), [3n, 2n, 1n])]));
      assert.deepEqual(readdirSync(join(dir, 'vm2')), []);
      assert.ok(lines.some((l) => l.fields.vm_name === 'vm2'));
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  test('two running VMs of one name: the first keeps the folder, the other is logged once', () => {
    const dir = tempDir();
    try {
      const { logger, lines } = captureLogger();
      const writer = new VmPowercapWriter({ dir, keepMs: 0, zoneNames: ZONES, logger });
      for (let i = 1n; i <= 3n; i++) writer.onSnapshot(snap([energy(vm('web', 'system'), [i, 0n, 0n]), energy(vm('web', 'session'), [100n * i, 0n, 0n])]));
      assert.equal(read(join(dir, 'web', 'intel-rapl:0', 'energy_uj')), '3\n');
      assert.equal(lines.length, 1);
      assert.equal(lines[0].fields.vm_id, 'session');
      assert.equal(writer.errors(), 1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('write errors are counted every time, logged once per VM and kind, never thrown; the next snapshot retries', () => {
    const root = tempDir();
    try {
      const { logger, lines } = captureLogger();
      // The dir cannot be made: a file is in the way.
      writeFileSync(join(root, 'file'), '');
      const blocked = new VmPowercapWriter({ dir: join(root, 'file', 'scaphandre'), keepMs: 0, zoneNames: ZONES, logger });
      blocked.onSnapshot(snap([energy(vm('a'), [1n, 1n, 1n])]));
      blocked.onSnapshot(snap([energy(vm('a'), [2n, 1n, 1n])]));
      assert.equal(blocked.errors(), 2);
      assert.equal(lines.length, 1);
      assert.match(lines[0].msg, /passthrough dir/);

      // A file cannot be replaced (as root, EACCES cannot be staged: a folder at the temporary name does it).
      lines.length = 0;
      const dir = join(root, 'ok');
      const writer = new VmPowercapWriter({ dir, keepMs: 0, zoneNames: ZONES, logger });
      writer.onSnapshot(snap([energy(vm('a'), [1n, 1n, 1n]), energy(vm('b'), [1n, 1n, 1n])]));
      const jam = join(dir, 'a', 'intel-rapl:0', `energy_uj.tmp-${process.pid}`);
      mkdirSync(join(jam, 'inside'), { recursive: true });
      writer.onSnapshot(snap([energy(vm('a'), [2n, 2n, 2n]), energy(vm('b'), [2n, 2n, 2n])]));
      writer.onSnapshot(snap([energy(vm('a'), [3n, 3n, 3n]), energy(vm('b'), [3n, 3n, 3n])]));
      assert.equal(writer.errors(), 2);
      assert.equal(lines.length, 1);
      assert.equal(lines[0].fields.vm_id, 'uuid-a');
      assert.equal(read(join(dir, 'a', 'intel-rapl:0', 'energy_uj')), '1\n');
      assert.equal(read(join(dir, 'b', 'intel-rapl:0', 'energy_uj')), '3\n');
      rmSync(jam, { recursive: true });
      writer.onSnapshot(snap([energy(vm('a'), [3n, 3n, 3n]), energy(vm('b'), [3n, 3n, 3n])]));
      assert.equal(read(join(dir, 'a', 'intel-rapl:0', 'energy_uj')), '3\n');
      assert.equal(read(join(dir, 'a', 'intel-rapl:0:0', 'energy_uj')), '3\n');
      assert.equal(writer.errors(), 2);

      // After close, nothing is written and the trees stay.
      writer.close();
      writer.onSnapshot(snap([], []));
      writer.onSnapshot(snap([], []));
      assert.deepEqual(readdirSync(dir).sort(), ['a', 'b']);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  test('writeAtomic replaces a stale temporary file, even a link, without writing through it', () => {
    const dir = tempDir();
    try {
      const target = join(dir, 'target');
      writeFileSync(target, 'untouched');
      const file = join(dir, 'energy_uj');
      symlinkSync(target, `${file}.tmp-${process.pid}`);
      writeAtomic(file, '5\n');
      assert.equal(read(file), '5\n');
      assert.equal(read(target), 'untouched');
      assert.deepEqual(readdirSync(dir).sort(), ['energy_uj', 'target']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
