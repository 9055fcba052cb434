// The monitor: the attribution arithmetic (attribution.md sections 2 and 3), and PowerMonitor
// driven by fake energy zones, scripted resource samples and an injected clock, checked against
// every invariant of attribution.md section 5 over many random refreshes.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { lastOf } from '../support/assertions.js';
import { captureLogger } from '../support/captureLogger.js';
import { FakeZone, sample, ScriptedResources, silent } from '../support/fakes.js';
import { assessHealth } from '../../src/monitor/health.js';
import { formatJoules } from '../../src/exporter/formatJoules.js';
import { apportion, attributeLevel, idleBasis, splitActiveIdle, splitByBaseline, splitOverParts, type IdleAttribution } from '../../src/monitor/attribution.js';
import { implausibility, knownIdleWatts, PowerMonitor, type IdleOptions, type PowerMonitorOptions, type ResourceSource } from '../../src/monitor/powerMonitor.js';
import { REFRESH_ERROR_KINDS, watts, type LevelSnapshot, type Snapshot, type ZonePartSnapshot } from '../../src/monitor/snapshot.js';
import { AggregatedZone } from '../../src/device/aggregatedZone.js';
import type { EnergyZone } from '../../src/device/energyZone.js';
import type { ContainerInfo, PodInfo, ProcessInfo, ResourceSample, VmInfo, WorkloadCpu } from '../../src/resource/workloads.js';
import { prng } from '../support/prng.js';

// ---------- fakes ----------

/** The monitor's latest snapshot; fails when it has none yet. */
function latestOf(monitor: PowerMonitor): Snapshot {
  const s = monitor.latest();
  assert.ok(s, 'no snapshot yet');
  return s;
}

function proc(pid: number, comm = `proc${pid}`, extra: Partial<ProcessInfo> = {}): ProcessInfo {
  return { key: `${pid}@${pid * 7}`, pid, comm, exe: `/usr/bin/${comm}`, type: 'regular', containerId: '', vmId: '', kernelThread: false, ...extra };
}

function cpu<I>(info: I, cpuDeltaSec: number, ended = false, cpuTotalSec = cpuDeltaSec): WorkloadCpu<I> {
  return { info, cpuDeltaSec, cpuTotalSec, ended };
}

function monitorWith(zones: EnergyZone[], res: ResourceSource, opts: Partial<PowerMonitorOptions> = {}) {
  const clock = { now: 10_000 };
  const monitor = new PowerMonitor({
    zones,
    resources: res,
    intervalMs: 0,
    stalenessMs: 500,
    maxTerminated: -1,
    minTerminatedEnergyThresholdJ: 0,
    // Kepler's split unless a test says otherwise: the worked numbers of the tests written before
    // the baseline model are Kepler's (the idle tests below set the model they test).
    idle: { model: 'usage-ratio', attribution: 'none' },
    logger: silent,
    clock: () => clock.now,
    wallClock: () => 1_700_000_000_000 + clock.now,
    ...opts,
  });
  return { monitor, clock };
}

/** Exact decimal of a µJ count, the slow obvious way, as the reference for formatJoules. */
function referenceJoules(uj: bigint): string {
  const s = uj.toString().padStart(7, '0');
  const whole = s.slice(0, -6).replace(/^0+(?=\d)/, '');
  const frac = s.slice(-6).replace(/0+$/, '');
  return frac ? `${whole}.${frac}` : whole;
}

// ---------- attribution arithmetic ----------

describe('splitActiveIdle', () => {
  test('ratio 0 makes it all idle, 1 all active', () => {
    assert.deepEqual(splitActiveIdle(1_234_567, 0), { activeUj: 0, idleUj: 1_234_567 });
    assert.deepEqual(splitActiveIdle(1_234_567, 1), { activeUj: 1_234_567, idleUj: 0 });
  });

  test('ratio 0.37 splits proportionally and active + idle = delta exactly', () => {
    const { activeUj, idleUj } = splitActiveIdle(1_000_003, 0.37);
    assert.equal(activeUj, 370_001); // 370001.11 rounded
    assert.equal(idleUj, 630_002);
    assert.equal(activeUj + idleUj, 1_000_003);
  });

  test('random deltas up to 1e13 µJ: integers, active within 0.5 µJ of delta x u, sum exact', () => {
    const rnd = prng(37);
    for (let i = 0; i < 5000; i++) {
      const delta = Math.floor(rnd() * 10 ** Math.floor(rnd() * 13));
      const u = rnd();
      const { activeUj, idleUj } = splitActiveIdle(delta, u);
      assert.ok(Number.isInteger(activeUj) && Number.isInteger(idleUj), `${delta} x ${u}`);
      assert.equal(activeUj + idleUj, delta, `${delta} x ${u}`);
      assert.ok(activeUj >= 0 && idleUj >= 0, `${delta} x ${u}`);
      assert.ok(Math.abs(activeUj - delta * u) <= 0.5 + delta * 1e-15, `${delta} x ${u} -> ${activeUj}`);
    }
  });
});

describe('attributeLevel', () => {
  test('shares are proportional to CPU time when the node explains it all (D = node active CPU)', () => {
    const r = attributeLevel([1000, 500], [1, 3], 8);
    assert.deepEqual(r.sharesUj, [
      [125, 62],
      [375, 187],
    ]);
    assert.deepEqual(r.unattributedUj, [500, 251]);
  });

  test('workloads CPU above the node CPU: D is their sum, so shares add up to at most A', () => {
    // node says 4 s active, workloads 3 + 5 = 8 s: D = 8, not 4 (which would give 1.5 x A).
    const r = attributeLevel([8000], [3, 5], 4);
    assert.deepEqual(r.sharesUj, [[3000], [5000]]);
    assert.deepEqual(r.unattributedUj, [0]);
  });

  test('zero D bills nothing and leaves all active energy unattributed', () => {
    const r = attributeLevel([700, 0], [0, 0], 0);
    assert.deepEqual(r.sharesUj, [
      [0, 0],
      [0, 0],
    ]);
    assert.deepEqual(r.unattributedUj, [700, 0]);
    assert.deepEqual(attributeLevel([700], [], 0).unattributedUj, [700]);
  });

  test('a workload with zero CPU time gets 0', () => {
    const r = attributeLevel([9000], [0, 2, 0], 3);
    assert.deepEqual(r.sharesUj, [[0], [6000], [0]]);
    assert.deepEqual(r.unattributedUj, [3000]);
  });

  test('random levels: shares + unattributed = active exactly, shares within 1 µJ of A x c / D', () => {
    const rnd = prng(2024);
    for (let i = 0; i < 3000; i++) {
      const zones = 1 + Math.floor(rnd() * 3);
      const active = Array.from({ length: zones }, () => Math.floor(rnd() * 10 ** Math.floor(rnd() * 12)));
      const n = Math.floor(rnd() * 12);
      const c = Array.from({ length: n }, () => (rnd() < 0.2 ? 0 : rnd() < 0.5 ? Math.floor(rnd() * 10) / 10 : rnd() * 4));
      const sum = c.reduce((a, b) => a + b, 0);
      const node = rnd() < 0.3 ? sum * rnd() : sum + rnd() * 5;
      const d = Math.max(node, sum);
      const r = attributeLevel(active, c, node);
      for (let z = 0; z < zones; z++) {
        let billed = 0;
        for (let w = 0; w < n; w++) {
          const s = r.sharesUj[w][z];
          assert.ok(Number.isInteger(s) && s >= 0, `share ${s}`);
          if (d > 0) assert.ok(Math.abs(s - (active[z] * c[w]) / d) < 1 + 1e-9 * active[z], `share ${s} vs ${(active[z] * c[w]) / d}`);
          billed += s;
        }
        assert.equal(billed + r.unattributedUj[z], active[z], `case ${i} zone ${z}`);
        assert.ok(r.unattributedUj[z] >= 0, `unattributed ${r.unattributedUj[z]} (case ${i}: A=${active[z]} c=${c.join(',')} node=${node})`);
      }
    }
  });
});

describe('formatJoules', () => {
  test('a year at 10 kW plus odd µJ keeps every digit', () => {
    const year = 10_000n * 365n * 24n * 3600n; // J
    assert.equal(year, 315_360_000_000n);
    assert.equal(formatJoules(year * 1_000_000n), '315360000000');
    assert.equal(formatJoules(315_360_000_000_123_457n), '315360000000.123457');
    assert.equal(formatJoules(315_360_000_000_000_001n), '315360000000.000001');
    assert.equal(formatJoules(315_360_000_000_100_000n), '315360000000.1');
  });

  test('zero and small values', () => {
    assert.equal(formatJoules(0n), '0');
    assert.equal(formatJoules(1n), '0.000001');
    assert.equal(formatJoules(123_457n), '0.123457');
    assert.equal(formatJoules(1_500_000n), '1.5');
    assert.equal(formatJoules(42_000_000n), '42');
  });

  test('values below 2^53 µJ are exact too (past 2^33 J a double has no µJ resolution)', () => {
    assert.equal(formatJoules(8_589_934_591_999_999n), '8589934591.999999');
    assert.equal(formatJoules(8_589_934_592_000_001n), '8589934592.000001');
    assert.equal(formatJoules(8_600_000_000_000_001n), '8600000000.000001');
    assert.equal(formatJoules(9_007_199_254_740_991n), '9007199254.740991'); // 2^53 - 1
    assert.equal(formatJoules(9_007_199_254_740_992n), '9007199254.740992'); // 2^53
  });

  test('random values of every magnitude match the exact decimal', () => {
    const rnd = prng(53);
    for (let i = 0; i < 20000; i++) {
      const digits = 1 + Math.floor(rnd() * 21);
      let uj = 0n;
      for (let d = 0; d < digits; d++) uj = uj * 10n + BigInt(Math.floor(rnd() * 10));
      assert.equal(formatJoules(uj), referenceJoules(uj), `${uj} µJ`);
      // What a scraper parses is the same number.
      if (uj < 2n ** 53n) assert.equal(Number(formatJoules(uj)), Number(uj) / 1e6);
    }
  });
});

// ---------- PowerMonitor ----------

describe('PowerMonitor basics', () => {
  test('baseline snapshot is all zeros even when the resources report CPU time', () => {
    const z = new FakeZone('package', 0, '/sys/class/powercap/intel-rapl:0', 1_000_000);
    z.counter = 987_654;
    const res = new ScriptedResources();
    const p = proc(10);
    const c: ContainerInfo = { key: 'c'.repeat(64), id: 'c'.repeat(64), name: 'web', runtime: 'docker', podId: 'pod-1', cpuRequestCores: 0 };
    const pod: PodInfo = { key: 'pod-1', id: 'pod-1', name: '', namespace: '', cpuRequestCores: 0 };
    res.next = sample({ baseline: true, nodeActiveCpuSec: 5, usageRatio: 0.5, processes: [cpu(p, 3)], containers: [cpu(c, 2)], pods: [cpu(pod, 2)] });
    const { monitor } = monitorWith([z], res);
    const s = monitor.refresh();
    assert.equal(s.seq, 1);
    assert.equal(s.elapsedSec, 0);
    assert.deepEqual(
      s.zones.map((x) => [x.totalUj, x.activeUj, x.idleUj, x.deltaUj, x.activeDeltaUj, x.idleDeltaUj]),
      [[0n, 0n, 0n, 0, 0, 0]],
    );
    for (const level of [s.processes, s.containers, s.pods] as LevelSnapshot<unknown>[]) {
      assert.equal(level.workloads.length, 1);
      assert.deepEqual(level.workloads[0].energyUj, [0n]);
      assert.deepEqual(level.workloads[0].deltaUj, [0]);
      assert.deepEqual(level.unattributedUj, [0n]);
    }
    assert.equal(watts(s.zones[0].deltaUj, s.elapsedSec), 0);
  });

  test('one interval: zone split, shares, unattributed and watts', () => {
    const z = new FakeZone('package', 0, '/sys/class/powercap/intel-rapl:0', 0);
    const res = new ScriptedResources();
    const a = proc(1);
    const b = proc(2);
    const { monitor, clock } = monitorWith([z], res);
    monitor.refresh();
    z.add(20_000_000); // 20 J
    clock.now += 2000;
    res.next = sample({ nodeActiveCpuSec: 4, nodeTotalCpuSec: 16, usageRatio: 0.25, processes: [cpu(a, 1), cpu(b, 2)] });
    const s = monitor.refresh();
    assert.equal(s.elapsedSec, 2);
    const zs = s.zones[0];
    assert.deepEqual([zs.totalUj, zs.activeUj, zs.idleUj], [20_000_000n, 5_000_000n, 15_000_000n]);
    assert.equal(watts(zs.deltaUj, s.elapsedSec), 10);
    assert.equal(watts(zs.activeDeltaUj, s.elapsedSec), 2.5);
    const byPid = new Map(s.processes.workloads.map((w) => [w.info.pid, w]));
    assert.deepEqual(byPid.get(1)?.energyUj, [1_250_000n]);
    assert.deepEqual(byPid.get(2)?.energyUj, [2_500_000n]);
    assert.deepEqual(s.processes.unattributedUj, [1_250_000n]);
  });

  test('freshSnapshot refreshes only when the last one is older than stalenessMs', () => {
    const res = new ScriptedResources();
    const { monitor, clock } = monitorWith([new FakeZone('package', 0, 'p', 0)], res, { stalenessMs: 500 });
    assert.equal(monitor.latest(), undefined);
    const first = monitor.freshSnapshot();
    assert.equal(first.seq, 1);
    assert.equal(res.calls, 1);
    res.next = sample({});
    clock.now += 499;
    assert.equal(monitor.freshSnapshot(), first);
    clock.now += 1; // exactly stalenessMs old: not older
    assert.equal(monitor.freshSnapshot(), first);
    assert.equal(res.calls, 1);
    clock.now += 1;
    const second = monitor.freshSnapshot();
    assert.equal(second.seq, 2);
    assert.equal(second.elapsedSec, 0.501);
    assert.equal(res.calls, 2);
    assert.equal(monitor.freshSnapshot(), second);
    assert.equal(monitor.latest(), second);
  });

  test('refresh duration histogram is cumulative, with le as an inclusive upper bound', () => {
    const res = new ScriptedResources();
    const { monitor, clock } = monitorWith([new FakeZone('package', 0, 'p', 0)], res);
    const took = [10, 300, 3];
    let i = 0;
    const inner = res.refresh.bind(res);
    res.refresh = () => {
      clock.now += took[i++]; // the refresh takes this long
      return inner();
    };
    monitor.refresh();
    monitor.refresh();
    const h = monitor.refresh().health;
    const count = (le: number) => h.durationBuckets.find((b) => b.le === le)?.count;
    assert.equal(h.refreshes, 3);
    assert.deepEqual([count(0.005), count(0.01), count(0.25), count(0.5), count(5)], [1, 2, 2, 3, 3]);
    assert.ok(Math.abs(h.durationSumSec - 0.313) < 1e-12);
    assert.equal(h.lastDurationSec, 0.003);
  });

  test('a resource refresh that throws still publishes a snapshot and counts the error', () => {
    const z = new FakeZone('package', 0, 'p', 0);
    const res = new ScriptedResources();
    const { monitor, clock } = monitorWith([z], res);
    monitor.refresh();
    res.refresh = () => {
      throw new Error('boom');
    };
    z.add(1000);
    clock.now += 1000;
    const s = monitor.refresh();
    assert.equal(s.seq, 2);
    assert.equal(s.health.errors.resources, 1);
    assert.equal(s.zones[0].totalUj, s.zones[0].activeUj + s.zones[0].idleUj);
    assert.equal(s.processes.workloads.length, 0);
  });
});

describe('terminated workloads', () => {
  /** Two processes run; `ending` ends at the third refresh. 100 J per interval, all active. */
  function scenario(opts: Partial<PowerMonitorOptions>, energies: number[]) {
    const z = new FakeZone('package', 0, 'p', 0);
    const res = new ScriptedResources();
    const { monitor, clock } = monitorWith([z], res, opts);
    const infos = energies.map((_, i) => proc(100 + i));
    res.next = sample({ baseline: true, processes: infos.map((p) => cpu(p, 0)) });
    monitor.refresh();
    const step = (ended: boolean) => {
      // Each process gets `energies[i]` J of the interval's active energy.
      const total = energies.reduce((a, b) => a + b, 0);
      z.add(total * 1e6);
      clock.now += 1000;
      res.next = sample({ nodeActiveCpuSec: total, usageRatio: 1, processes: infos.map((p, i) => cpu(p, energies[i], ended)) });
      return monitor.refresh();
    };
    return { monitor, step, infos, clock, z, res };
  }

  test('an ended workload appears once with state terminated and its final totals, then is gone after export', () => {
    const z = new FakeZone('package', 0, 'p', 0);
    const res = new ScriptedResources();
    const { monitor, clock } = monitorWith([z], res, { maxTerminated: 500, minTerminatedEnergyThresholdJ: 0 });
    const keep = proc(1, 'keep');
    const gone = proc(2, 'gone');
    res.next = sample({ baseline: true, processes: [cpu(keep, 0), cpu(gone, 0)] });
    monitor.refresh();
    const interval = (goneCpu: number, ended: boolean) => {
      z.add(10_000_000);
      clock.now += 1000;
      res.next = sample({
        nodeActiveCpuSec: 2,
        usageRatio: 1,
        processes: ended ? [cpu(keep, 1), cpu(gone, goneCpu, true)] : [cpu(keep, 1), cpu(gone, goneCpu)],
      });
      return monitor.refresh();
    };
    interval(1, false); // gone: 5 J
    const s3 = interval(1, true); // gone: 5 J more, then ends
    const term = s3.processes.workloads.filter((w) => w.state === 'terminated');
    assert.equal(term.length, 1);
    assert.equal(term[0].info, gone);
    assert.deepEqual(term[0].energyUj, [10_000_000n]);
    assert.deepEqual(term[0].deltaUj, [5_000_000]);
    assert.equal(s3.processes.workloads.filter((w) => w.info === gone).length, 1, 'not also running');

    // Not yet exported: still there at the next refresh, same totals, and no power any more.
    z.add(10_000_000);
    clock.now += 1000;
    res.next = sample({ nodeActiveCpuSec: 2, usageRatio: 1, processes: [cpu(keep, 1)] });
    const s4 = monitor.refresh();
    const again = s4.processes.workloads.filter((w) => w.state === 'terminated');
    assert.equal(again.length, 1);
    assert.deepEqual(again[0].energyUj, [10_000_000n]);
    assert.deepEqual(again[0].deltaUj, [0], 'a process that ended last interval used no energy in this one');
    assert.equal(watts(again[0].deltaUj[0], s4.elapsedSec), 0);
    // The snapshot already published is unchanged.
    assert.deepEqual(term[0].deltaUj, [5_000_000]);

    monitor.acknowledgeExport(s4);
    clock.now += 1000;
    const s5 = monitor.refresh();
    assert.equal(s5.processes.workloads.filter((w) => w.state === 'terminated').length, 0);
    assert.deepEqual(
      s5.processes.workloads.map((w) => w.info.comm),
      ['keep'],
    );
  });

  test('acknowledging an older snapshot that showed the workload also drops it', () => {
    const { monitor, step, res } = scenario({}, [5, 7]);
    step(false);
    const shown = step(true);
    assert.equal(shown.processes.workloads.filter((w) => w.state === 'terminated').length, 2);
    res.next = sample({});
    assert.equal(monitor.refresh().processes.workloads.length, 2); // a periodic refresh between render and acknowledgement
    monitor.acknowledgeExport(shown);
    assert.equal(monitor.refresh().processes.workloads.length, 0);
  });

  test('maxTerminated 0 keeps none', () => {
    const { step } = scenario({ maxTerminated: 0 }, [5, 7, 9]);
    step(false);
    const s = step(true);
    assert.equal(s.processes.workloads.length, 0);
  });

  test('maxTerminated N keeps the N highest-energy ones', () => {
    const { step, monitor, res } = scenario({ maxTerminated: 2 }, [5, 30, 7, 20]);
    step(false);
    const s = step(true);
    const kept = s.processes.workloads.map((w) => [w.info.pid, w.state, w.energyUj[0]]);
    assert.deepEqual(
      kept.sort((a, b) => Number(a[0]) - Number(b[0])),
      [
        [101, 'terminated', 60_000_000n],
        [103, 'terminated', 40_000_000n],
      ],
    );
    // Not yet exported: still kept at the next refresh.
    res.next = sample({});
    assert.equal(monitor.refresh().processes.workloads.length, 2);
  });

  test('maxTerminated -1 keeps them all', () => {
    const energies = Array.from({ length: 600 }, (_, i) => 1 + (i % 13));
    const { step } = scenario({ maxTerminated: -1 }, energies);
    step(false);
    const s = step(true);
    assert.equal(s.processes.workloads.length, 600);
    assert.ok(s.processes.workloads.every((w) => w.state === 'terminated'));
  });

  test('minTerminatedEnergyThreshold drops those under it', () => {
    const { step } = scenario({ maxTerminated: 500, minTerminatedEnergyThresholdJ: 10 }, [3, 6, 12]);
    // Totals at the end: 6 J, 12 J, 24 J: only the first is under 10 J.
    step(false);
    const s = step(true);
    assert.deepEqual(s.processes.workloads.map((w) => w.info.pid).sort(), [101, 102]);
  });
});

// ---------- random refreshes against every invariant ----------

interface SimProc {
  info: ProcessInfo;
  container?: SimContainer;
  vm?: SimVm;
}
interface SimContainer {
  info: ContainerInfo;
  pod?: SimPod;
  procs: Set<SimProc>;
}
interface SimPod {
  info: PodInfo;
  containers: Set<SimContainer>;
}
interface SimVm {
  info: VmInfo;
  proc: SimProc;
}

/** A CPU request in cores from a workload's number: none for one in three, else 0.25 to 1.5. */
const requestOf = (n: number) => ((n * 37) % 7) * 0.25 * (n % 3 === 0 ? 0 : 1);

/** A node whose workloads start, run and end at random; one ResourceSample per step. */
class World {
  procs = new Set<SimProc>();
  containers = new Set<SimContainer>();
  pods = new Set<SimPod>();
  vms = new Set<SimVm>();
  private nextPid = 100;
  private nextId = 1;

  constructor(private readonly rnd: () => number) {
    for (let i = 0; i < 4; i++) this.spawnProc();
    const pod = this.spawnPod();
    this.spawnContainer(pod);
    this.spawnContainer(undefined);
    this.spawnVm();
  }

  private pick<T>(s: Set<T>): T | undefined {
    const a = [...s];
    return a.length ? a[Math.floor(this.rnd() * a.length)] : undefined;
  }

  spawnProc(container?: SimContainer, extra: Partial<ProcessInfo> = {}): SimProc {
    const pid = this.nextPid++;
    const p: SimProc = {
      info: proc(pid, `w${pid}`, { type: container ? 'container' : 'regular', containerId: container?.info.id ?? '', ...extra }),
      container,
    };
    this.procs.add(p);
    container?.procs.add(p);
    return p;
  }

  spawnContainer(pod: SimPod | undefined): SimContainer {
    const id = (this.nextId++).toString(16).padStart(64, '0');
    // Requests from the id, not from rnd(): the random sequences of the other tests stay as they were.
    const cpuRequestCores = requestOf(this.nextId);
    const c: SimContainer = { info: { key: id, id, name: `c${id.slice(-4)}`, runtime: 'containerd', podId: pod?.info.id ?? '', cpuRequestCores }, pod, procs: new Set() };
    this.containers.add(c);
    pod?.containers.add(c);
    this.spawnProc(c);
    if (this.rnd() < 0.5) this.spawnProc(c);
    return c;
  }

  spawnPod(): SimPod {
    const id = `pod-${this.nextId++}`;
    const pod: SimPod = { info: { key: id, id, name: '', namespace: '', cpuRequestCores: requestOf(this.nextId) * 2 }, containers: new Set() };
    this.pods.add(pod);
    return pod;
  }

  spawnVm(): SimVm {
    const id = `vm-${this.nextId++}`;
    const vm = { info: { key: id, id, name: id, hypervisor: 'kvm' } } as SimVm;
    vm.proc = this.spawnProc(undefined, { type: 'vm', vmId: id, comm: 'qemu-system-x86' });
    vm.proc.vm = vm;
    this.vms.add(vm);
    return vm;
  }

  /** One interval: events, then CPU times. `cpuOf` maps each info to its CPU delta. */
  step(baseline: boolean): { sample: ResourceSample; cpuOf: Map<object, number> } {
    const r = this.rnd;
    const endingProcs = new Set<SimProc>();
    const endingContainers = new Set<SimContainer>();
    const endingPods = new Set<SimPod>();
    const endingVms = new Set<SimVm>();
    if (!baseline) {
      if (r() < 0.6) this.spawnProc(r() < 0.5 ? this.pick(this.containers) : undefined);
      if (r() < 0.15) this.spawnContainer(r() < 0.7 ? this.pick(this.pods) : undefined);
      if (r() < 0.08) this.spawnContainer(this.spawnPod());
      if (r() < 0.05) this.spawnVm();
      for (const pod of this.pods) if (r() < 0.04) endingPods.add(pod);
      for (const c of this.containers) if (r() < 0.05 || (c.pod && endingPods.has(c.pod))) endingContainers.add(c);
      for (const vm of this.vms) if (r() < 0.05) endingVms.add(vm);
      for (const p of this.procs) {
        if ((p.container && endingContainers.has(p.container)) || (p.vm && endingVms.has(p.vm))) endingProcs.add(p);
        else if (!p.vm && r() < 0.1) endingProcs.add(p);
      }
      // A pod whose containers have all ended ends with them.
      for (const pod of this.pods) if (pod.containers.size > 0 && [...pod.containers].every((c) => endingContainers.has(c))) endingPods.add(pod);
    }
    const cpuOf = new Map<object, number>();
    const cpuRand = () => (r() < 0.3 ? 0 : r() < 0.3 ? Math.floor(r() * 20) / 10 : r() * 2);
    for (const p of this.procs) cpuOf.set(p.info, cpuRand());
    for (const c of this.containers) {
      let sum = 0;
      for (const p of c.procs) sum += cpuOf.get(p.info) ?? 0;
      // The cgroup also counts processes that started and ended between two refreshes.
      cpuOf.set(c.info, sum + (r() < 0.3 ? r() * 0.5 : 0));
    }
    for (const pod of this.pods) {
      let sum = 0;
      for (const c of pod.containers) sum += cpuOf.get(c.info) ?? 0;
      cpuOf.set(pod.info, sum);
    }
    for (const vm of this.vms) cpuOf.set(vm.info, cpuOf.get(vm.proc.info) ?? 0);

    const sumOf = (s: Iterable<{ info: object }>) => {
      let t = 0;
      for (const x of s) t += cpuOf.get(x.info) ?? 0;
      return t;
    };
    const explained = Math.max(sumOf(this.procs), sumOf(this.containers));
    // Mostly the node's CPU covers every workload; sometimes accounting skew says otherwise.
    const nodeActiveCpuSec = r() < 0.2 ? explained * r() : explained + r() * 3;
    const u = r();
    const usageRatio = u < 0.1 ? 0 : u < 0.2 ? 1 : r();
    const list = <I extends object>(s: Iterable<{ info: I }>, ending: Set<unknown>) => [...s].map((x) => cpu(x.info, cpuOf.get(x.info) ?? 0, ending.has(x)));
    const s = sample({
      baseline,
      nodeActiveCpuSec,
      nodeTotalCpuSec: usageRatio > 0 ? nodeActiveCpuSec / usageRatio : nodeActiveCpuSec,
      usageRatio,
      processes: list(this.procs, endingProcs),
      containers: list(this.containers, endingContainers),
      vms: list(this.vms, endingVms),
      pods: list(this.pods, endingPods),
      errors: r() < 0.1 ? { process_vanished: 1 + Math.floor(r() * 3) } : {},
    });
    for (const p of endingProcs) {
      this.procs.delete(p);
      p.container?.procs.delete(p);
    }
    for (const c of endingContainers) {
      this.containers.delete(c);
      c.pod?.containers.delete(c);
    }
    for (const pod of endingPods) this.pods.delete(pod);
    for (const vm of endingVms) this.vms.delete(vm);
    return { sample: s, cpuOf };
  }
}

describe('PowerMonitor invariants over random refreshes', () => {
  for (const seed of [1, 7, 42, 1234, 99991]) {
    test(`seed ${seed}`, () => runRandom(seed));
  }
  // The baseline model (package pinned, dram learned, psys the estimator's) with each idle policy:
  // per zone, joules = active + idle exactly and idle = the baseline over the zone's span (capped);
  // per zone and level, the workloads' idle + unattributed idle = node idle in every snapshot.
  const baseline = (attribution: IdleAttribution): IdleOptions => ({ model: 'baseline', attribution, pinnedWatts: { package: 1.5 }, meterWatts: { psys: 0.4 } });
  for (const [seed, idle] of [
    [5, baseline('none')],
    [11, baseline('cpu')],
    [12, baseline('request')],
    [13, baseline('even')],
    [14, { model: 'usage-ratio', attribution: 'cpu' }],
    [15, baseline('cpu')],
    [16, baseline('request')],
    [17, baseline('even')],
  ] as const) {
    test(`seed ${seed}, idle ${idle.model}, attribution ${idle.attribution}`, () => runRandom(seed, idle));
  }
});

function runRandom(seed: number, idle: IdleOptions = { model: 'usage-ratio', attribution: 'none' }): void {
  const rnd = prng(seed);
  const zones = [
    new FakeZone('package', 0, 'aggregated-package', 2_000_000), // wraps nearly every other step
    new FakeZone('dram', 0, '/sys/class/powercap/intel-rapl:0/intel-rapl:0:0', 700_000),
    new FakeZone('psys', 0, '/sys/class/powercap/intel-rapl:1', 0), // range unknown
  ];
  const Z = zones.length;
  for (const z of zones) z.counter = Math.floor(rnd() * (z.max || 1e9));
  const res = new ScriptedResources();
  const { monitor, clock } = monitorWith(zones, res, { maxTerminated: -1, minTerminatedEnergyThresholdJ: 0, idle });
  const world = new World(rnd);
  const attributing = idle.attribution !== 'none';
  /** Monotonic ms of each zone's last usable reading: its idle is the baseline over the time since. */
  const lastRead: (number | undefined)[] = zones.map(() => undefined);
  const idleSeen = { sources: new Set<string>(), capped: 0, billed: 0, folded: 0 };

  const STEPS = 120;
  const vanishAt = new Set([9, 10, 57]); // dram unreadable at these steps (twice in a row once)
  const backwardsAt = new Set([33, 80]); // psys counter goes down: range unknown -> dropped
  const pending = zones.map(() => 0); // energy since the last good read
  const expectErrors: Record<string, number> = {};
  const countErr = (k: string, n = 1) => (expectErrors[k] = (expectErrors[k] ?? 0) + n);

  let prev: Snapshot | undefined;
  const prevSeries = new Map<string, readonly bigint[]>();
  const prevIdle = new Map<string, readonly bigint[]>();
  // Every workload's last totals, kept after it is dropped: for the cumulative level invariant.
  const everBilled = new Map<string, readonly bigint[]>();
  // Terminated infos not yet acknowledged, per level.
  const unacked = { processes: new Set<object>(), containers: new Set<object>(), vms: new Set<object>(), pods: new Set<object>() };
  let wrapped = 0;
  let podChecks = 0;
  let containerChecks = 0;
  let terminatedSeen = 0;
  let carriedSeen = 0;

  for (let step = 0; step < STEPS; step++) {
    const baseline = step === 0;
    const expectDelta = zones.map(() => 0);
    if (!baseline) {
      const dt = 500 + Math.floor(rnd() * 5500);
      clock.now += dt;
      zones.forEach((z, i) => {
        // Under a third of the range: three intervals without a read still wrap at most once.
        const e = Math.floor(rnd() * (z.max ? z.max * 0.33 : 5_000_000));
        const before = z.counter;
        z.add(e);
        if (z.counter < before) wrapped++;
        pending[i] += e;
      });
    }
    zones[1].failing = vanishAt.has(step);
    if (zones[1].failing) countErr('zone_read');
    if (backwardsAt.has(step)) {
      zones[2].counter = Math.floor(zones[2].counter / 3);
      countErr('counter_backwards');
    }
    zones.forEach((z, i) => {
      if (z.failing) return;
      expectDelta[i] = baseline || (backwardsAt.has(step) && i === 2) ? 0 : pending[i];
      pending[i] = 0;
    });

    const { sample: smp, cpuOf } = world.step(baseline);
    for (const [k, n] of Object.entries(smp.errors)) countErr(k, n);
    res.next = smp;
    const s = monitor.refresh();
    const msg = `seed ${seed} step ${step}`;

    // --- node ---
    assert.equal(s.seq, step + 1);
    assert.equal(s.idleModel, idle.model);
    assert.equal(s.idleAttribution, idle.attribution);
    assert.ok(s.usageRatio >= 0 && s.usageRatio <= 1, msg);
    if (baseline) assert.equal(s.elapsedSec, 0, msg);
    else {
      assert.ok(prev, msg);
      assert.equal(s.elapsedSec, (s.monotonicMs - prev.monotonicMs) / 1000, msg);
    }
    s.zones.forEach((zs, i) => {
      assert.equal(zs.deltaUj, expectDelta[i], `${msg} zone ${zs.name} delta`);
      assert.equal(zs.activeDeltaUj + zs.idleDeltaUj, zs.deltaUj, msg);
      assert.ok(zs.activeDeltaUj >= 0 && zs.idleDeltaUj >= 0, msg);
      const b = zs.idleBaseline;
      if (idle.model === 'usage-ratio' || b?.source === 'usage-ratio') {
        assert.ok(Math.abs(zs.activeDeltaUj - zs.deltaUj * s.usageRatio) <= 0.5, `${msg}: active = delta x usage`);
      }
      if (idle.model === 'usage-ratio') assert.equal(b, undefined, msg);
      else {
        assert.ok(b, `${msg}: a baseline per zone`);
        idleSeen.sources.add(`${zs.name}:${b.source}`);
        assert.equal(b.source, ['pinned', undefined, 'estimator'][i] ?? b.source, `${msg} ${zs.name}: source`);
        if (b.source !== 'usage-ratio') {
          const last = lastRead[i];
          const spanSec = last === undefined ? 0 : (s.monotonicMs - last) / 1000;
          assert.equal(zs.idleDeltaUj, Math.min(zs.deltaUj, Math.round(b.watts * spanSec * 1e6)), `${msg} ${zs.name}: idle = baseline x span, capped`);
          if (zs.deltaUj > 0 && zs.idleDeltaUj === zs.deltaUj) idleSeen.capped++;
        }
      }
      assert.equal(zs.totalUj, zs.activeUj + zs.idleUj, `${msg} zone ${zs.name}: total = active + idle`);
      const p = prev?.zones[i];
      assert.equal(zs.totalUj, (p?.totalUj ?? 0n) + BigInt(zs.deltaUj), msg);
      assert.equal(zs.activeUj, (p?.activeUj ?? 0n) + BigInt(zs.activeDeltaUj), msg);
      assert.equal(zs.idleUj, (p?.idleUj ?? 0n) + BigInt(zs.idleDeltaUj), msg);
      for (const d of [zs.deltaUj, zs.activeDeltaUj, zs.idleDeltaUj]) {
        const w = watts(d, s.elapsedSec);
        assert.ok(Math.abs(w * s.elapsedSec - d / 1e6) <= 1e-9 * Math.max(1, d / 1e6), `${msg}: watts x elapsed = delta`);
      }
    });

    zones.forEach((z, i) => {
      if (!z.failing) lastRead[i] = s.monotonicMs;
    });

    // --- levels ---
    const levels = [
      ['processes', s.processes, smp.processes],
      ['containers', s.containers, smp.containers],
      ['vms', s.vms, smp.vms],
      ['pods', s.pods, smp.pods],
    ] as const;
    const denominators: Record<string, number> = {};
    for (const [name, level, cpus] of levels) {
      const lsnap = level as LevelSnapshot<{ key: string }>;
      const sumC = (cpus as readonly WorkloadCpu<object>[]).reduce((a, w) => a + w.cpuDeltaSec, 0);
      denominators[name] = Math.max(smp.nodeActiveCpuSec, sumC);
      for (let z = 0; z < Z; z++) {
        let billed = 0;
        for (const w of lsnap.workloads) billed += w.deltaUj[z];
        assert.equal(billed + lsnap.unattributedDeltaUj[z], s.zones[z].activeDeltaUj, `${msg} ${name} zone ${z}: shares + unattributed = active`);
        assert.ok(lsnap.unattributedDeltaUj[z] >= 0, msg);
        assert.equal(lsnap.unattributedUj[z], (prev ? (prev[name] as LevelSnapshot<unknown>).unattributedUj[z] : 0n) + BigInt(lsnap.unattributedDeltaUj[z]), msg);
      }
      const seen = new Set<string>();
      const terminatedNow = new Set<object>();
      for (const w of lsnap.workloads) {
        const series = `${name}|${w.info.key}|${w.state}`;
        assert.ok(!seen.has(series), `${msg}: ${series} listed twice`);
        seen.add(series);
        const before = prevSeries.get(series) ?? (w.state === 'terminated' ? prevSeries.get(`${name}|${w.info.key}|running`) : undefined);
        for (let z = 0; z < Z; z++) {
          assert.ok(w.deltaUj[z] >= 0, msg);
          assert.equal(w.energyUj[z], (before?.[z] ?? 0n) + BigInt(w.deltaUj[z]), `${msg} ${series}: total = previous + delta (monotonic)`);
          const ww = watts(w.deltaUj[z], s.elapsedSec);
          assert.ok(Math.abs(ww * s.elapsedSec - w.deltaUj[z] / 1e6) <= 1e-9 * Math.max(1, w.deltaUj[z] / 1e6), msg);
        }
        const c = cpuOf.get(w.info);
        if (c !== undefined) {
          // Billed this interval: its share is A x c / D, rounded down.
          const d = denominators[name === 'pods' ? 'containers' : name];
          for (let z = 0; z < Z; z++) {
            const exact = d > 0 ? (s.zones[z].activeDeltaUj * c) / d : 0;
            assert.ok(w.deltaUj[z] <= exact + 1e-6 * Math.max(1, exact) && w.deltaUj[z] > exact - 1 - 1e-6 * exact, `${msg} ${series}: share ${w.deltaUj[z]} vs ${exact}`);
            if (c === 0) assert.equal(w.deltaUj[z], 0, msg);
          }
        } else {
          // Kept from an earlier interval: terminated, totals unchanged, no power.
          assert.equal(w.state, 'terminated', msg);
          assert.deepEqual(w.deltaUj, new Array(Z).fill(0), `${msg} ${series}: carried-over terminated has no power`);
          carriedSeen++;
        }
        if (w.state === 'terminated') terminatedNow.add(w.info);
        everBilled.set(`${name}|${w.info.key}`, w.energyUj);
      }
      // Ended this interval, plus earlier ones not yet exported: exactly those are terminated.
      for (const w of cpus as readonly WorkloadCpu<object>[]) if (w.ended) unacked[name].add(w.info);
      assert.deepEqual(terminatedNow, unacked[name], `${msg} ${name}: terminated set`);
      terminatedSeen += terminatedNow.size;
      // Running workloads: exactly the ones not ended.
      assert.deepEqual(
        new Set(lsnap.workloads.filter((w) => w.state === 'running').map((w) => w.info)),
        new Set((cpus as readonly WorkloadCpu<object>[]).filter((w) => !w.ended).map((w) => w.info)),
        msg,
      );
      // Cumulative: everything ever billed at this level + unattributed = node active, per zone.
      for (let z = 0; z < Z; z++) {
        let sum = lsnap.unattributedUj[z];
        for (const [k, e] of everBilled) if (k.startsWith(`${name}|`)) sum += e[z];
        assert.equal(sum, s.zones[z].activeUj, `${msg} ${name} zone ${z}: workloads + unattributed = node active`);
      }
      checkIdleLevel(name, lsnap, cpus as readonly WorkloadCpu<{ cpuRequestCores?: number }>[], name === 'pods' ? denominators.containers : denominators[name]);
    }

    // --- idle attribution ---
    function checkIdleLevel(name: string, lsnap: LevelSnapshot<{ key: string }>, cpus: readonly WorkloadCpu<{ cpuRequestCores?: number }>[], d: number) {
      const prevLevel = prev ? (prev[name as 'processes'] as LevelSnapshot<unknown>) : undefined;
      if (!attributing) {
        assert.equal(lsnap.idle, undefined, msg);
        for (const w of lsnap.workloads) assert.equal(w.idleUj, undefined, msg);
        return;
      }
      const li = lsnap.idle;
      assert.ok(li, msg);
      // The policy's weights, from the sample: the CPU time over the active denominator; the
      // request (containers, pods); 1 for each that has used CPU.
      const weightOf = (w: WorkloadCpu<{ cpuRequestCores?: number }>) =>
        idle.attribution === 'cpu' ? w.cpuDeltaSec : idle.attribution === 'request' ? (w.info.cpuRequestCores ?? 0) : w.cpuTotalSec > 0 ? 1 : 0;
      const sumW = cpus.reduce((a, w) => a + weightOf(w), 0);
      const denom = idle.attribution === 'cpu' ? d : sumW;
      const weights = new Map(cpus.map((w) => [w.info as object, weightOf(w)]));
      for (let z = 0; z < Z; z++) {
        let billed = 0;
        let total: bigint = li.unattributedUj[z];
        for (const w of lsnap.workloads) {
          assert.ok(w.idleUj && w.idleDeltaUj, msg);
          billed += w.idleDeltaUj[z];
          total += w.idleUj[z];
          const wt = weights.get(w.info);
          const exact = wt === undefined || denom <= 0 ? 0 : (s.zones[z].idleDeltaUj * wt) / denom;
          assert.ok(
            w.idleDeltaUj[z] <= exact + 1e-6 * Math.max(1, exact) && w.idleDeltaUj[z] > exact - 1 - 1e-6 * exact,
            `${msg} ${name}: idle share ${w.idleDeltaUj[z]} vs ${exact}`,
          );
          if (w.idleDeltaUj[z] > 0) idleSeen.billed++;
        }
        // This interval: shares + unattributed = the zone's idle; since start: every series' idle + unattributed idle = node idle.
        assert.equal(billed + li.unattributedDeltaUj[z], s.zones[z].idleDeltaUj, `${msg} ${name} zone ${z}: idle shares + unattributed = idle`);
        assert.ok(li.unattributedDeltaUj[z] >= 0, msg);
        assert.equal(total, s.zones[z].idleUj, `${msg} ${name} zone ${z}: workloads' idle + unattributed idle = node idle`);
        const before = prevLevel?.idle?.unattributedUj[z] ?? 0n;
        assert.ok(li.unattributedUj[z] >= before + BigInt(li.unattributedDeltaUj[z]), `${msg}: unattributed idle never goes down`);
        if (li.unattributedUj[z] > before + BigInt(li.unattributedDeltaUj[z])) idleSeen.folded++;
      }
      for (const w of lsnap.workloads) {
        const series = `${name}|${w.info.key}|${w.state}`;
        const beforeW = prevIdle.get(series) ?? (w.state === 'terminated' ? prevIdle.get(`${name}|${w.info.key}|running`) : undefined);
        for (let z = 0; z < Z; z++) assert.equal(w.idleUj?.[z], (beforeW?.[z] ?? 0n) + BigInt(w.idleDeltaUj?.[z] ?? 0), `${msg} ${series}: idle total = previous + delta`);
      }
    }

    // pod = sum of its containers (rounding: each container share is rounded down on its own).
    for (const pod of s.pods.workloads) {
      if (!cpuOf.has(pod.info)) continue;
      const members = s.containers.workloads.filter((c) => c.info.podId === pod.info.id && cpuOf.has(c.info));
      for (let z = 0; z < Z; z++) {
        const sum = members.reduce((a, c) => a + c.deltaUj[z], 0);
        assert.ok(pod.deltaUj[z] - sum >= 0 && pod.deltaUj[z] - sum <= members.length, `${msg} pod ${pod.info.id} zone ${z}: ${pod.deltaUj[z]} vs containers ${sum}`);
      }
      podChecks++;
    }
    // container >= sum of its processes (= where no process exited), where both levels share D.
    if (denominators.processes === denominators.containers) {
      for (const c of s.containers.workloads) {
        const cc = cpuOf.get(c.info);
        if (cc === undefined) continue;
        const members = s.processes.workloads.filter((p) => p.info.containerId === c.info.id && cpuOf.has(p.info));
        const procCpu = members.reduce((a, p) => a + (cpuOf.get(p.info) ?? 0), 0);
        for (let z = 0; z < Z; z++) {
          const sum = members.reduce((a, p) => a + p.deltaUj[z], 0);
          assert.ok(c.deltaUj[z] >= sum, `${msg} container ${c.info.name} zone ${z}: ${c.deltaUj[z]} < processes ${sum}`);
          if (cc === procCpu) assert.ok(c.deltaUj[z] - sum <= members.length, `${msg}: container = sum of processes`);
        }
        containerChecks++;
      }
    }

    // --- errors by kind ---
    // Every known kind is present from the start; only those that happened are non-zero.
    assert.deepEqual(Object.keys(s.health.errors).sort(), [...REFRESH_ERROR_KINDS].sort(), msg);
    for (const k of REFRESH_ERROR_KINDS) assert.equal(s.health.errors[k], expectErrors[k] ?? 0, `${msg}: errors ${k}`);
    assert.equal(s.health.refreshes, step + 1);
    assert.equal(lastOf(s.health.durationBuckets, 'duration bucket').count, step + 1); // the fake clock does not move during a refresh

    // --- a scrape now and then: what it showed as terminated is gone next time ---
    if (rnd() < 0.4) {
      monitor.acknowledgeExport(s);
      for (const set of Object.values(unacked)) set.clear();
    }
    prevSeries.clear();
    prevIdle.clear();
    for (const [name, level] of levels) {
      for (const w of (level as LevelSnapshot<{ key: string }>).workloads) {
        prevSeries.set(`${name}|${w.info.key}|${w.state}`, w.energyUj);
        if (w.idleUj) prevIdle.set(`${name}|${w.info.key}|${w.state}`, w.idleUj);
      }
    }
    prev = s;
  }
  if (idle.model === 'baseline') {
    // Every source the scenario claims: pinned, the estimator's, Kepler's split before the first interval, then learned.
    for (const src of ['package:pinned', 'psys:estimator', 'dram:usage-ratio', 'dram:lowest'])
      assert.ok(idleSeen.sources.has(src), `seed ${seed}: ${[...idleSeen.sources].join(',')}`);
    assert.ok(idleSeen.capped > 0, `seed ${seed}: some interval had less energy than its baseline`);
  }
  if (attributing) {
    assert.ok(idleSeen.billed > 50, `seed ${seed}: idle shares billed ${idleSeen.billed}`);
    assert.ok(idleSeen.folded > 0, `seed ${seed}: ended workloads' idle moved into the unattributed idle`);
  }
  // The scenario really exercised what it claims to.
  assert.ok(wrapped >= 10, `wraps: ${wrapped}`);
  assert.ok(podChecks >= 20, `pod checks: ${podChecks}`);
  assert.ok(containerChecks >= 20, `container checks: ${containerChecks}`);
  assert.ok(terminatedSeen >= 20, `terminated: ${terminatedSeen}`);
  assert.ok(carriedSeen >= 1, `carried-over terminated: ${carriedSeen}`);
  assert.ok(prev);
  assert.equal(prev.health.errors.zone_read, 3);
  assert.equal(prev.health.errors.counter_backwards, 2);
}

// ---------- summed zones: each socket carried to the snapshot (Kepler 0.7's per-socket node series) ----------

/** Per summed zone of a snapshot: the parts add up to the zone exactly, and each part's total = active + idle. */
function assertPartsAddUp(s: Snapshot, msg: string): void {
  for (const z of s.zones) {
    if (!z.parts) continue;
    const sum = (f: (p: ZonePartSnapshot) => bigint) => z.parts?.reduce((a, p) => a + f(p), 0n);
    assert.equal(
      sum((p) => p.totalUj),
      z.totalUj,
      `${msg} ${z.name}: parts' totals`,
    );
    assert.equal(
      sum((p) => p.activeUj),
      z.activeUj,
      `${msg} ${z.name}: parts' active`,
    );
    assert.equal(
      sum((p) => p.idleUj),
      z.idleUj,
      `${msg} ${z.name}: parts' idle`,
    );
    for (const p of z.parts) assert.equal(p.activeUj + p.idleUj, p.totalUj, `${msg} ${z.name}/${p.index}: total = active + idle`);
  }
}

describe('summed zones: each socket carried to the snapshot', () => {
  test('two sockets: each part holds its own counter energy, split by the usage ratio; the parts add up to the zone', () => {
    const s0 = new FakeZone('package', 0, '/sys/class/powercap/intel-rapl:0', 1_000_000_000);
    const s1 = new FakeZone('package', 1, '/sys/class/powercap/intel-rapl:1', 1_000_000_000);
    const single = new FakeZone('psys', 0, '/sys/class/powercap/intel-rapl:2', 0);
    const res = new ScriptedResources();
    const { monitor, clock } = monitorWith([new AggregatedZone([s0, s1]), single], res);
    const base = monitor.refresh();
    assert.deepEqual(base.zones[0].parts, [
      { index: 0, path: s0.path, totalUj: 0n, activeUj: 0n, idleUj: 0n },
      { index: 1, path: s1.path, totalUj: 0n, activeUj: 0n, idleUj: 0n },
    ]);
    assert.equal(base.zones[1].parts, undefined, 'a single counter has no parts');
    s0.add(30_000_001);
    s1.add(10_000_000);
    clock.now += 1000;
    res.next = sample({ nodeActiveCpuSec: 2, nodeTotalCpuSec: 8, usageRatio: 0.25 });
    const s = monitor.refresh();
    assert.equal(s.zones[0].path, 'aggregated-package');
    assert.equal(s.zones[0].totalUj, 40_000_001n);
    // active 10,000,000 (0.25 of 40,000,001, rounded) over 30,000,001 : 10,000,000.
    assert.deepEqual(
      s.zones[0].parts?.map((p) => [p.index, p.totalUj, p.activeUj, p.idleUj]),
      [
        [0, 30_000_001n, 7_500_000n, 22_500_001n],
        [1, 10_000_000n, 2_500_000n, 7_500_000n],
      ],
    );
    assertPartsAddUp(s, 'one interval');
  });

  test('random refreshes with wraps, a socket going back with no known range, unreadable reads, unsampled intervals and implausible steps: the parts add up exactly in every snapshot, never go down, and hold their own energy', () => {
    for (const seed of [3, 17, 2024]) {
      const rnd = prng(seed);
      // package: one socket with a range, one without (the sum then wraps at 2^50); dram: both with
      // small ranges, so that the sum wraps at their sum every few refreshes.
      const pkg = [new FakeZone('package', 0, 'intel-rapl:0', 150_000_000), new FakeZone('package', 1, 'intel-rapl:1', 0)];
      const dram = [new FakeZone('dram', 0, 'intel-rapl:0:1', 60_000_000), new FakeZone('dram', 1, 'intel-rapl:1:1', 45_000_000)];
      const members = [...pkg, ...dram];
      for (const m of members) m.counter = Math.floor(rnd() * (m.max || 1e9));
      const res = new ScriptedResources();
      let resourcesFail = false;
      const resources = { refresh: () => (resourcesFail ? boom() : res.refresh()) };
      const { monitor, clock } = monitorWith([new AggregatedZone(pkg), new AggregatedZone(dram)], resources, { maxZoneWatts: 100 });
      // Energy of each member since the monitor last took a reading of its zone, and whether some
      // of it was legitimately lost (a member gone back with no range, an implausible step).
      const pending = members.map(() => 0);
      const lost = [false, false];
      let prev: Snapshot | undefined;
      const seen = { exact: 0, wraps: 0, backwards: 0, unreadable: 0, unsampled: 0, implausible: 0 };
      res.next = sample({ baseline: true });
      for (let step = 0; step < 150; step++) {
        const msg = `seed ${seed} step ${step}`;
        if (step > 0) {
          clock.now += 1000;
          members.forEach((m, k) => {
            const e = Math.floor(rnd() * (k < 2 ? 40e6 : 15e6));
            const before = m.counter;
            m.add(e);
            if (m.counter < before) seen.wraps++;
            pending[k] += e;
          });
          res.next = sample({ nodeActiveCpuSec: 4, nodeTotalCpuSec: 8, usageRatio: Math.round(rnd() * 100) / 100 });
        }
        const event = step > 2 ? rnd() : 1;
        resourcesFail = event < 0.06;
        dram[0].failing = event >= 0.06 && event < 0.12;
        if (event >= 0.12 && event < 0.17) {
          pkg[1].counter = Math.floor(pkg[1].counter / 2); // backwards, range unknown: its interval is dropped
          lost[0] = true;
          seen.backwards++;
        }
        if (event >= 0.17 && event < 0.2) {
          pkg[1].add(150e6); // 150 J in a second on a 100 W ceiling: the package interval is dropped
          pending[1] += 150e6;
          lost[0] = true;
          seen.implausible++;
        }
        if (resourcesFail) seen.unsampled++;
        if (dram[0].failing) seen.unreadable++;
        const s = monitor.refresh();
        if (resourcesFail) assert.ok(s.health.errors.resources > 0, msg);
        assertPartsAddUp(s, msg);
        s.zones.forEach((z, zi) => {
          const parts = z.parts ?? [];
          assert.equal(parts.length, 2, msg);
          parts.forEach((p, k) => {
            const before = prev?.zones[zi].parts?.[k];
            for (const f of ['totalUj', 'activeUj', 'idleUj'] as const) assert.ok(p[f] >= (before?.[f] ?? 0n), `${msg} ${z.name}/${p.index} ${f} went down`);
            assert.equal(p.index, k);
          });
        });
        // A zone read with the resources sampled took its members' pending energy: exactly, unless some was lost.
        if (!resourcesFail && step > 0) {
          for (let zi = 0; zi < 2; zi++) {
            if (zi === 1 && dram[0].failing) continue;
            const ks = zi === 0 ? [0, 1] : [2, 3];
            if (!lost[zi]) {
              ks.forEach((k, j) => {
                const got = (s.zones[zi].parts?.[j].totalUj ?? 0n) - (prev?.zones[zi].parts?.[j].totalUj ?? 0n);
                assert.equal(got, BigInt(pending[k]), `${msg} zone ${zi} part ${j}: its own energy`);
              });
              seen.exact++;
            }
            for (const k of ks) pending[k] = 0;
            lost[zi] = false;
          }
        }
        prev = s;
      }
      assert.ok(prev);
      assert.ok(
        seen.exact > 150 && seen.wraps > 20 && seen.backwards > 0 && seen.unreadable > 0 && seen.unsampled > 0 && seen.implausible > 0,
        `seed ${seed}: ${JSON.stringify(seen)}`,
      );
      assert.ok(prev.health.errors.counter_backwards >= seen.backwards, 'the dropped socket readings are counted');
    }
  });

  test('splitOverParts: integers; the parts add up to the zone in active and idle; each part active + idle = its delta, active <= delta', () => {
    const rnd = prng(8);
    for (let i = 0; i < 3000; i++) {
      const n = 1 + Math.floor(rnd() * 4);
      const deltas = Array.from({ length: n }, () => (rnd() < 0.15 ? 0 : Math.floor(rnd() * 10 ** (1 + rnd() * 12))));
      const total = deltas.reduce((a, b) => a + b, 0);
      const zone = splitActiveIdle(total, rnd());
      const parts = splitOverParts(zone, deltas);
      assert.equal(
        parts.reduce((a, p) => a + p.activeUj, 0),
        zone.activeUj,
      );
      assert.equal(
        parts.reduce((a, p) => a + p.idleUj, 0),
        zone.idleUj,
      );
      parts.forEach((p, k) => {
        assert.ok(Number.isInteger(p.activeUj) && Number.isInteger(p.idleUj) && p.activeUj >= 0 && p.idleUj >= 0, JSON.stringify(p));
        assert.equal(p.activeUj + p.idleUj, deltas[k]);
      });
    }
    // Weights that do not add up to the delta (never from the monitor): apportioned, still exact.
    assert.deepEqual(apportion(10, [1, 1, 1]), [4, 3, 3]);
    assert.deepEqual(apportion(7, [0, 0]), [4, 3]);
    assert.deepEqual(apportion(2 ** 52, [2 ** 51, 2 ** 51 + 1]), [2 ** 51, 2 ** 51], 'exact past 2^53 in the products');
    assert.deepEqual(splitOverParts({ activeUj: 3, idleUj: 1 }, [1, 1]), [
      { activeUj: 2, idleUj: 0 },
      { activeUj: 1, idleUj: 1 },
    ]);
  });
});

function boom(): never {
  throw new Error('resource informer failed');
}

// ---------- faults: a refresh completes or changes nothing; unusable readings ----------

/** Per zone and level: the level's workloads + unattributed = node active, in this snapshot's totals. */
function assertLevelsAddUp(s: Snapshot, msg: string): void {
  for (const [name, level] of [
    ['processes', s.processes],
    ['containers', s.containers],
  ] as const) {
    s.zones.forEach((z, i) => {
      let sum = level.unattributedUj[i] + level.droppedUj[i];
      for (const w of level.workloads) sum += w.energyUj[i];
      assert.equal(sum, z.activeUj, `${msg}: ${name} zone ${z.name}`);
    });
  }
}

describe('refresh faults', () => {
  test('a refresh that fails half way changes nothing, is counted, and a scrape gets the previous snapshot', () => {
    const z = new FakeZone('package', 0, 'p', 0);
    const res = new ScriptedResources();
    const { logger, lines } = captureLogger();
    const { monitor, clock } = monitorWith([z], res, { logger, stalenessMs: 0 });
    const c: ContainerInfo = { key: 'c1', id: 'c1', name: 'web', runtime: 'docker', podId: '', cpuRequestCores: 0 };
    res.next = sample({ baseline: true, containers: [cpu(c, 0)] });
    monitor.refresh();
    z.add(10_000_000);
    clock.now += 1000;
    res.next = sample({ nodeActiveCpuSec: 2, usageRatio: 0.5, containers: [cpu(c, 1)] });
    const good = monitor.refresh();
    assert.deepEqual(good.zones[0].totalUj, 10_000_000n);

    // A meter bug: the zone reads, then fails to give its range. The refresh cannot complete.
    z.add(10_000_000);
    clock.now += 1000;
    res.next = sample({ nodeActiveCpuSec: 2, usageRatio: 0.5, containers: [cpu(c, 1)] });
    const zone = z as unknown as { maxEnergy: () => number };
    zone.maxEnergy = () => {
      throw new Error('maxEnergy: a bug');
    };
    assert.throws(() => monitor.refresh(), /a bug/);
    assert.equal(monitor.latest(), good, 'nothing published');
    const served = monitor.freshSnapshot(); // a scrape: refreshes (staleness 0), fails again, serves the last one
    assert.equal(served.seq, good.seq);
    assert.equal(served.zones, good.zones, 'the same totals');
    assert.equal(served.health.errors.refresh, 2, 'both failures counted, the scrape-triggered one too');
    assert.equal(lines.filter((l) => l.level === 'ERROR' && l.msg.startsWith('refresh failed')).length, 2);

    // The next good refresh bills the energy of all three intervals against this one's CPU: no
    // zone advanced alone, so every level still adds up.
    zone.maxEnergy = () => 0;
    z.add(10_000_000);
    clock.now += 1000;
    res.next = sample({ nodeActiveCpuSec: 2, usageRatio: 0.5, containers: [cpu(c, 1)] });
    const after = monitor.refresh();
    assert.equal(after.zones[0].totalUj, 30_000_000n);
    assert.equal(after.zones[0].deltaUj, 20_000_000, 'the failed intervals are in this one');
    assertLevelsAddUp(after, 'after the failures');
    assert.equal(after.health.errors.refresh, 2);
  });

  test('CPU times that are not finite numbers >= 0 (an informer bug) are billed as 0 and counted, never NaN', () => {
    const z = new FakeZone('package', 0, 'p', 0);
    const res = new ScriptedResources();
    const { monitor, clock } = monitorWith([z], res);
    const a: ContainerInfo = { key: 'a', id: 'a', name: 'a', runtime: 'docker', podId: '', cpuRequestCores: 0 };
    const b: ContainerInfo = { key: 'b', id: 'b', name: 'b', runtime: 'docker', podId: '', cpuRequestCores: 0 };
    res.next = sample({ baseline: true, containers: [cpu(a, 0), cpu(b, 0)] });
    monitor.refresh();
    z.add(10_000_000);
    clock.now += 1000;
    res.next = sample({ nodeActiveCpuSec: 2, usageRatio: NaN, containers: [cpu(a, Infinity), cpu(b, 1)] });
    const s = monitor.refresh();
    assert.equal(s.health.errors.resources, 3, 'the NaN ratio, and the infinite CPU time (delta and total)');
    assert.equal(s.usageRatio, 0);
    assert.equal(s.zones[0].totalUj, 10_000_000n);
    assertLevelsAddUp(s, 'sanitised');
    for (const w of s.containers.workloads) assert.ok(w.energyUj.every((e) => e >= 0n));
  });

  test('when the resources cannot be sampled, the zones keep their readings: the next refresh bills that energy', () => {
    const z = new FakeZone('package', 0, 'p', 0);
    const res = new ScriptedResources();
    const { monitor, clock } = monitorWith([z], res);
    const c: ContainerInfo = { key: 'c', id: 'c', name: 'c', runtime: 'docker', podId: '', cpuRequestCores: 0 };
    res.next = sample({ baseline: true, containers: [cpu(c, 0)] });
    monitor.refresh();
    z.add(10_000_000);
    clock.now += 1000;
    const real = res.refresh.bind(res);
    res.refresh = () => {
      throw new Error('informer bug');
    };
    const failed = monitor.refresh();
    assert.equal(failed.health.errors.resources, 1);
    assert.equal(failed.zones[0].totalUj, 0n, 'nothing billed without the CPU times');
    assert.equal(failed.containers.workloads.length, 1, 'the workloads are unknown this time, not gone');
    assert.deepEqual([failed.containers.billed.length, failed.containers.unattributedDeltaUj, failed.containers.workloads[0].deltaUj], [0, [0], [0]], 'nothing billed twice');
    assertLevelsAddUp(failed, 'no sample');
    res.refresh = real;
    z.add(5_000_000);
    clock.now += 1000;
    res.next = sample({ nodeActiveCpuSec: 1, usageRatio: 1, containers: [cpu(c, 1)] });
    const next = monitor.refresh();
    assert.equal(next.zones[0].deltaUj, 15_000_000, 'both intervals, not only the last');
    assert.equal(next.elapsedSec, 2, 'over both intervals, so the watts stay right');
    assertLevelsAddUp(next, 'after');
  });

  test('implausibility: more than the range always; more than the watts ceiling unless it is 0 (off)', () => {
    assert.match(implausibility(2_000_000, 1_000_000, 1, undefined) ?? '', /more than the counter's range/);
    assert.match(implausibility(6_000e6, 0, 1, 5000) ?? '', /6000 W over 1\.000 s is above monitor\.maxZoneWatts \(5000 W\)/);
    assert.equal(implausibility(6_000e6, 0, 1, 0), undefined, '0: no ceiling');
    assert.equal(implausibility(6_000e6, 0, 2, 5000), undefined, '3 kW over 2 s');
    // Over at least a second: a coarse counter's tick in a short interval is not a spike.
    assert.equal(implausibility(400e6, 0, 0.1, 5000), undefined);
  });

  test('a counter stepping back 1 µJ with a known range is not a wrap of 857,742 W: dropped, counted, flat', () => {
    const range = 262_143_328_850; // a real max_energy_range_uj
    const z = new FakeZone('package', 0, 'p', range);
    z.counter = 5_000_000_000;
    const res = new ScriptedResources();
    const { logger, lines } = captureLogger();
    const { monitor, clock } = monitorWith([z], res, { maxZoneWatts: 5000, logger });
    monitor.refresh();
    z.add(50_000_000); // 50 W for 1 s
    clock.now += 1000;
    res.next = sample({ nodeActiveCpuSec: 1, usageRatio: 1 });
    assert.equal(monitor.refresh().zones[0].deltaUj, 50_000_000);
    z.counter -= 1;
    clock.now += 1000;
    const glitch = monitor.refresh();
    assert.equal(glitch.zones[0].deltaUj, 0, 'no interval of (range - 1) µJ');
    assert.equal(glitch.zones[0].totalUj, 50_000_000n, 'the total stays flat');
    assert.equal(glitch.health.errors.counter_implausible, 1);
    z.add(40_000_000);
    clock.now += 1000;
    const next = monitor.refresh();
    assert.equal(next.zones[0].deltaUj, 40_000_000, 'counting resumes from the new reading');
    assert.equal(next.health.errors.counter_implausible, 1);
    const warns = lines.filter((l) => l.level === 'WARN');
    assert.equal(warns.length, 1, 'one WARN for the glitch');
    assert.match(String(warns[0].fields?.err), /above monitor\.maxZoneWatts \(5000 W\)/);
    assert.equal(lines.filter((l) => l.level === 'INFO' && l.msg === 'zone reading again').length, 1, 'one INFO when it reads well again');
  });

  test('a forward jump larger than the counter range is refused even without a watts ceiling', () => {
    const z = new FakeZone('package', 0, 'p', 1_000_000_000);
    const res = new ScriptedResources();
    const { monitor, clock } = monitorWith([z], res);
    monitor.refresh();
    // A reader returning more than max_energy_range_uj allows since the last reading.
    (z as unknown as { energy: () => number }).energy = () => 1_500_000_000;
    clock.now += 1000;
    res.next = sample({ nodeActiveCpuSec: 1, usageRatio: 1 });
    const s = monitor.refresh();
    assert.equal(s.zones[0].deltaUj, 0);
    assert.equal(s.health.errors.counter_implausible, 1);
  });

  test('readings that are not whole µJ (NaN, Infinity, fractions) are zone_read errors, and the zone resumes', () => {
    const z = new FakeZone('package', 0, 'p', 0);
    const res = new ScriptedResources();
    const { monitor, clock } = monitorWith([z], res);
    monitor.refresh();
    const zone = z as unknown as { energy: () => number };
    const real = zone.energy.bind(z);
    for (const bad of [NaN, Infinity, 1.5, -3]) {
      zone.energy = () => bad;
      clock.now += 1000;
      const s = monitor.refresh();
      assert.equal(s.zones[0].totalUj, 0n, `${bad}`);
    }
    zone.energy = real;
    z.add(7_000_000);
    clock.now += 1000;
    res.next = sample({ nodeActiveCpuSec: 1, usageRatio: 1 });
    const s = monitor.refresh();
    assert.equal(s.zones[0].deltaUj, 7_000_000);
    assert.equal(s.health.errors.zone_read, 4);
  });

  test('zone failures: one WARN when a zone starts failing, one INFO when it recovers, and the count health reads', () => {
    const a = new FakeZone('package', 0, '/sys/class/powercap/intel-rapl:0', 0);
    const b = new FakeZone('dram', 0, '/sys/class/powercap/intel-rapl:0:0', 0);
    const res = new ScriptedResources();
    const { logger, lines } = captureLogger();
    const { monitor, clock } = monitorWith([a, b], res, { logger });
    monitor.refresh();
    a.failing = true;
    const failures: number[][] = [];
    for (let i = 0; i < 5; i++) {
      clock.now += 1000;
      failures.push([...monitor.refresh().health.zoneFailures]);
    }
    assert.deepEqual(failures, [
      [1, 0],
      [2, 0],
      [3, 0],
      [4, 0],
      [5, 0],
    ]);
    assert.equal(assessHealth(monitor.latest(), clock.now, 1000).status, 'degraded', 'one zone of two unreadable');
    a.failing = false;
    clock.now += 1000;
    assert.deepEqual(monitor.refresh().health.zoneFailures, [0, 0]);
    const about = lines.filter((l) => l.fields?.path === a.path && l.level !== 'DEBUG');
    assert.deepEqual(
      about.map((l) => [l.level, l.msg]),
      [
        ['WARN', 'zone reading unusable; its totals stay flat until it reads again'],
        ['INFO', 'zone reading again'],
      ],
    );
    assert.equal(about[1].fields?.failed_refreshes, 5);
    // Both unreadable: the meter produces nothing.
    a.failing = true;
    b.failing = true;
    for (let i = 0; i < 3; i++) {
      clock.now += 1000;
      monitor.refresh();
    }
    assert.deepEqual(assessHealth(monitor.latest(), clock.now, 1000), { status: 'meter_failing', healthy: false, failingZones: ['package/0', 'dram/0'] });
  });

  test('a zone that reads but does not advance for 3 refreshes of a second is reported (degraded), never meter_failing', () => {
    const a = new FakeZone('package', 0, 'p', 0);
    const res = new ScriptedResources();
    const { monitor, clock } = monitorWith([a], res);
    monitor.refresh();
    res.next = sample({ nodeActiveCpuSec: 1, usageRatio: 0.5 });
    const status = () => assessHealth(monitor.latest(), clock.now, 1000).status;
    for (let i = 0; i < 3; i++) {
      clock.now += 400; // shorter than a second: a coarse counter may not have ticked
      monitor.refresh();
    }
    assert.equal(status(), 'ok');
    for (let i = 0; i < 3; i++) {
      clock.now += 1000;
      monitor.refresh();
    }
    assert.deepEqual(latestOf(monitor).health.zoneStalls, [3]);
    assert.equal(status(), 'degraded');
    a.add(1_000_000);
    clock.now += 1000;
    monitor.refresh();
    assert.equal(status(), 'ok');
  });
});

// ---------- retention of terminated workloads, and the energy no export showed ----------

describe('terminated retention and dropped energy', () => {
  const c = (n: number): ContainerInfo => ({ key: `c${n}`, id: `c${n}`, name: `c${n}`, runtime: 'docker', podId: '', cpuRequestCores: 0 });

  test('a terminated workload stays until retention has passed since a scrape first showed it; HEAD-like renders do not count', () => {
    const z = new FakeZone('package', 0, 'p', 0);
    const res = new ScriptedResources();
    const { monitor, clock } = monitorWith([z], res, { terminatedRetentionMs: 10_000, minTerminatedEnergyThresholdJ: 0 });
    const a = c(1);
    res.next = sample({ baseline: true, containers: [cpu(a, 0)] });
    monitor.refresh();
    /** 5 J an interval, all of it the container's while it runs. */
    const interval = (a_: 'running' | 'ends' | 'gone') => {
      z.add(5_000_000);
      clock.now += 1000;
      res.next = sample({ nodeActiveCpuSec: 1, usageRatio: 1, containers: a_ === 'gone' ? [] : [cpu(a, 1, a_ === 'ends')] });
      return monitor.refresh();
    };
    interval('running');
    const ended = interval('ends');
    const terminated = (s: Snapshot) => s.containers.workloads.filter((w) => w.state === 'terminated').length;
    assert.equal(terminated(ended), 1);
    // Rendered but never acknowledged (a HEAD request): kept however long it takes.
    for (let i = 0; i < 30; i++) assert.equal(terminated(interval('gone')), 1, `unshown, refresh ${i}`);
    // Scraper A shows it: it stays for 10 s more, so scraper B (2 s later) sees it too.
    monitor.acknowledgeExport(latestOf(monitor));
    const shownAt = clock.now;
    let seen = 0;
    while (clock.now - shownAt < 20_000) {
      const s = interval('gone');
      if (terminated(s) === 1) seen++;
      else break;
    }
    assert.equal(clock.now - shownAt, 10_000, 'dropped at the first refresh once retention has passed');
    assert.equal(seen, 9);
    assert.deepEqual(latestOf(monitor).containers.droppedUj, [10_000_000n], 'its totals moved to dropped when its series ended');
    assertLevelsAddUp(latestOf(monitor), 'after the retention');
  });

  test('under the threshold: the totals of workloads not kept go to dropped, whatever scrapes saw', () => {
    const z = new FakeZone('package', 0, 'p', 0);
    const res = new ScriptedResources();
    const { monitor, clock } = monitorWith([z], res, { minTerminatedEnergyThresholdJ: 10, maxTerminated: 500 });
    const shortLived = c(1);
    const shownWhileRunning = c(2);
    res.next = sample({ baseline: true, containers: [cpu(shownWhileRunning, 0)] });
    monitor.refresh();
    // Interval 1: both run, 4 J each.
    z.add(8_000_000);
    clock.now += 1000;
    res.next = sample({ nodeActiveCpuSec: 2, usageRatio: 1, containers: [cpu(shortLived, 1), cpu(shownWhileRunning, 1)] });
    const s1 = monitor.refresh();
    monitor.acknowledgeExport(s1); // a scrape shows both running at 4 J
    // Interval 2: both use 3 J more and end, 7 J each: under the 10 J threshold, not kept.
    z.add(6_000_000);
    clock.now += 1000;
    res.next = sample({ nodeActiveCpuSec: 2, usageRatio: 1, containers: [cpu(shortLived, 1, true), cpu(shownWhileRunning, 1, true)] });
    const s2 = monitor.refresh();
    assert.equal(s2.containers.workloads.length, 0);
    // Their series end here: their totals (7 J each) are in dropped, so what any scraper sees
    // still adds up: no series (0) + unattributed (0) + dropped (14) = active (14).
    assert.deepEqual(s2.containers.droppedUj, [14_000_000n]);
    assert.equal(s2.zones[0].activeUj, 14_000_000n);
    assertLevelsAddUp(s2, 'after');
  });

  test('random lives, thresholds, evictions, retention and scrapes: in every snapshot, workloads + unattributed + dropped = active', () => {
    for (const seed of [3, 17, 2026]) {
      const rnd = prng(seed);
      const zones = [new FakeZone('package', 0, 'p', 5_000_000), new FakeZone('dram', 0, 'd', 0)];
      const res = new ScriptedResources();
      const { monitor, clock } = monitorWith(zones, res, { minTerminatedEnergyThresholdJ: 1, maxTerminated: 3, terminatedRetentionMs: 3000 });
      const world = new World(rnd);
      let droppedSeen = 0n;
      for (let step = 0; step < 150; step++) {
        const { sample: smp } = world.step(step === 0);
        for (const z of zones) z.add(Math.floor(rnd() * 3_000_000));
        clock.now += 500 + Math.floor(rnd() * 1000);
        res.next = smp;
        const s = monitor.refresh();
        if (rnd() < 0.7) monitor.acknowledgeExport(s); // a scrape, now and then
        for (const [name, level] of [
          ['processes', s.processes],
          ['containers', s.containers],
          ['vms', s.vms],
          ['pods', s.pods],
        ] as const) {
          const l = level as LevelSnapshot<{ key: string }>;
          s.zones.forEach((zone, z) => {
            let sum = l.unattributedUj[z] + l.droppedUj[z];
            for (const w of l.workloads) sum += w.energyUj[z];
            assert.equal(sum, zone.activeUj, `seed ${seed} step ${step} ${name} zone ${zone.name}`);
          });
          droppedSeen += l.droppedUj[0];
        }
      }
      assert.ok(droppedSeen > 0n, `seed ${seed}: the scenario dropped something`);
    }
  });
});

// ---------- idle power (monitor.idle): the baseline model and who pays for idle ----------

/** A container of the idle tests, with a CPU request. */
const reqContainer = (n: number, cpuRequestCores: number): ContainerInfo => ({ key: `r${n}`, id: `r${n}`, name: `r${n}`, runtime: 'docker', podId: '', cpuRequestCores });

describe('idle power: the arithmetic', () => {
  test("splitByBaseline: 20 W at zero load, 83 W at 90 % usage over 5 s: 100 J idle, 315 J active (Kepler's split: 41.5 J idle)", () => {
    const dE = 83 * 5 * 1e6;
    assert.deepEqual(splitByBaseline(dE, 20, 5), { activeUj: 315_000_000, idleUj: 100_000_000 });
    assert.deepEqual(splitActiveIdle(dE, 0.9), { activeUj: 373_500_000, idleUj: 41_500_000 });
  });

  test('splitByBaseline: idle is capped at the interval energy, never negative, and active + idle = delta exactly', () => {
    assert.deepEqual(splitByBaseline(50_000_000, 100, 1), { activeUj: 0, idleUj: 50_000_000 }, 'a baseline above the power of the interval');
    assert.deepEqual(splitByBaseline(7, 0, 5), { activeUj: 7, idleUj: 0 });
    assert.deepEqual(splitByBaseline(7, -3, 5), { activeUj: 7, idleUj: 0 }, 'a negative baseline is none');
    assert.deepEqual(splitByBaseline(7, 1, 0), { activeUj: 7, idleUj: 0 }, 'no time, no idle');
    assert.deepEqual(splitByBaseline(7, Infinity, 1), { activeUj: 0, idleUj: 7 });
    const rnd = prng(31);
    for (let i = 0; i < 3000; i++) {
      const dE = Math.floor(rnd() * 10 ** (rnd() * 13));
      const w = rnd() * 500;
      const t = rnd() * 30;
      const { activeUj, idleUj } = splitByBaseline(dE, w, t);
      assert.ok(Number.isInteger(activeUj) && Number.isInteger(idleUj) && activeUj >= 0 && idleUj >= 0, `${dE} ${w} ${t}`);
      assert.equal(activeUj + idleUj, dE);
      assert.equal(idleUj, Math.min(dE, Math.round(w * t * 1e6)));
    }
  });

  test('idleBasis: cpu weighs CPU time over the active denominator; request the requests (none for processes); even 1 per workload that has used CPU', () => {
    const ws = [
      { cpuDeltaSec: 2, cpuTotalSec: 5, cpuRequestCores: 0.5 },
      { cpuDeltaSec: 0, cpuTotalSec: 3, cpuRequestCores: 0 },
      { cpuDeltaSec: 0, cpuTotalSec: 0, cpuRequestCores: 1.5 },
      { cpuDeltaSec: 1, cpuTotalSec: 1 }, // a process: no request
    ];
    assert.deepEqual(idleBasis('cpu', ws, 8), { weights: [2, 0, 0, 1], floor: 8 });
    assert.deepEqual(idleBasis('request', ws, 8), { weights: [0.5, 0, 1.5, 0], floor: 0 });
    assert.deepEqual(idleBasis('even', ws, 8), { weights: [1, 1, 0, 1], floor: 0 });
    assert.deepEqual(idleBasis('request', [{ cpuDeltaSec: 1, cpuTotalSec: 1, cpuRequestCores: NaN }], 1).weights, [0], 'a request that is not a number is none');
    // With the level's shares (attributeLevel), 1000 µJ of idle: cpu leaves the CPU no workload explains unattributed.
    const share = (b: { weights: number[]; floor: number }) => attributeLevel([1000], b.weights, b.floor);
    assert.deepEqual(share(idleBasis('cpu', ws, 8)).unattributedUj, [625]);
    assert.deepEqual(share(idleBasis('request', ws, 8)).sharesUj, [[250], [0], [750], [0]]);
    assert.deepEqual(share(idleBasis('even', ws, 8)).sharesUj, [[333], [333], [0], [333]]);
    assert.deepEqual(share(idleBasis('even', ws, 8)).unattributedUj, [1]);
    assert.deepEqual(share(idleBasis('request', [{ cpuDeltaSec: 1, cpuTotalSec: 1 }], 1)).unattributedUj, [1000], 'no request anywhere: all unattributed');
  });

  test('knownIdleWatts: pinned before the estimator, a node total split over zones of one name, the rest learned', () => {
    assert.deepEqual(knownIdleWatts(['package', 'dram', 'platform', 'core'], { package: 35, dram: 4 }, { package: 60, platform: 90 }), [
      { watts: 35, source: 'pinned' },
      { watts: 4, source: 'pinned' },
      { watts: 90, source: 'estimator' },
      undefined,
    ]);
    assert.deepEqual(knownIdleWatts(['power1', 'power1'], { power1: 30 }), [
      { watts: 15, source: 'pinned' },
      { watts: 15, source: 'pinned' },
    ]);
    assert.deepEqual(knownIdleWatts(['package'], { package: NaN }), [undefined], 'not a number: learned');
    assert.deepEqual(knownIdleWatts(['toString']), [undefined], 'no inherited keys');
  });
});

/** A zone drawing `watts(u)` at node usage u: each step advances it and the clock by `sec`, then refreshes. */
function poweredRig(zones: EnergyZone[], counters: FakeZone[], idle: IdleOptions, opts: Partial<PowerMonitorOptions> = {}) {
  const res = new ScriptedResources();
  const { monitor, clock } = monitorWith(zones, res, { idle, ...opts });
  monitor.refresh();
  return {
    monitor,
    clock,
    res,
    step(u: number, watts: (z: FakeZone) => number, sec = 5, extra: Partial<ResourceSample> = {}): Snapshot {
      for (const z of counters) z.add(Math.round(watts(z) * sec * 1e6));
      clock.now += sec * 1000;
      res.next = sample({ nodeActiveCpuSec: 16 * sec * u, nodeTotalCpuSec: 16 * sec, usageRatio: u, ...extra });
      return monitor.refresh();
    },
  };
}

/** 20 W at zero load, 90 W at full load. */
const PKG = (u: number) => 20 + 70 * u;

describe('idle power: the baseline model in the monitor', () => {
  test('pinned: at 90 % usage the idle is the pinned 20 W, not the 8.3 W of the usage-ratio split; joules = active + idle per zone', () => {
    for (const model of ['baseline', 'usage-ratio'] as const) {
      const z = new FakeZone('package');
      const r = poweredRig([z], [z], { model, attribution: 'none', pinnedWatts: { package: 20 } });
      const s = r.step(0.9, () => PKG(0.9));
      const zs = s.zones[0];
      assert.equal(watts(zs.deltaUj, s.elapsedSec), 83);
      assert.equal(watts(zs.idleDeltaUj, s.elapsedSec), model === 'baseline' ? 20 : 8.3);
      assert.equal(watts(zs.activeDeltaUj, s.elapsedSec), model === 'baseline' ? 63 : 74.7);
      assert.equal(zs.totalUj, zs.activeUj + zs.idleUj);
      assert.deepEqual(zs.idleBaseline, model === 'baseline' ? { watts: 20, source: 'pinned' } : undefined);
      assert.equal(s.idleModel, model);
    }
  });

  test("the estimator's own idle watts are used where nothing is pinned; pinned wins", () => {
    const pkg = new FakeZone('package');
    const dram = new FakeZone('dram');
    const r = poweredRig([pkg, dram], [pkg, dram], { model: 'baseline', attribution: 'none', pinnedWatts: { dram: 3 }, meterWatts: { package: 25, dram: 5 } });
    const base = latestOf(r.monitor);
    assert.deepEqual(
      base.zones.map((z) => z.idleBaseline),
      [
        { watts: 25, source: 'estimator' },
        { watts: 3, source: 'pinned' },
      ],
      'known from the first (baseline) snapshot',
    );
    const s = r.step(0.5, (z) => (z.name === 'package' ? 60 : 8), 2);
    assert.deepEqual(
      s.zones.map((z) => [z.idleDeltaUj, z.activeDeltaUj]),
      [
        [50_000_000, 70_000_000],
        [6_000_000, 10_000_000],
      ],
    );
  });

  test("learned: Kepler's split for the first interval, the lowest power seen while usage has not varied, then the fitted zero-load power", () => {
    const z = new FakeZone('package');
    const r = poweredRig([z], [z], { model: 'baseline', attribution: 'none' });
    assert.deepEqual(latestOf(r.monitor).zones[0].idleBaseline, { watts: 0, source: 'usage-ratio' }, 'nothing learned at the baseline refresh');
    // A busy node first: 60 % usage, 62 W.
    const first = r.step(0.6, () => PKG(0.6));
    assert.deepEqual(first.zones[0].idleBaseline?.source, 'usage-ratio');
    assert.deepEqual([first.zones[0].activeDeltaUj, first.zones[0].idleDeltaUj], [186_000_000, 124_000_000], "Kepler's split of 310 J at 60 %");
    const second = r.step(0.6, () => PKG(0.6));
    assert.deepEqual(second.zones[0].idleBaseline, { watts: 62, source: 'lowest' }, 'the first interval, not this one: an interval is never split by what it taught');
    assert.deepEqual([second.zones[0].activeDeltaUj, second.zones[0].idleDeltaUj], [0, 310_000_000], 'the lowest power seen is all idle');
    // Then usage varies (with 3 % noise on the meter): the fit finds the 20 W.
    const rnd = prng(77);
    let s = second;
    let fittedAfter = -1;
    for (let i = 0; i < 240; i++) {
      const u = rnd();
      s = r.step(u, () => PKG(u) * (1 + (rnd() - 0.5) * 0.06));
      if (fittedAfter < 0 && s.zones[0].idleBaseline?.source === 'fitted') fittedAfter = i;
    }
    assert.ok(fittedAfter >= 0 && fittedAfter < 60, `fitted after ${fittedAfter} intervals of 5 s`);
    const b = s.zones[0].idleBaseline;
    assert.ok(b && b.source === 'fitted' && Math.abs(b.watts - 20) < 1.5, JSON.stringify(b));
    // Now at 90 % usage the idle is about 20 W, where the usage-ratio split would say 8.3 W.
    const busy = r.step(0.9, () => PKG(0.9));
    const idleW = watts(busy.zones[0].idleDeltaUj, busy.elapsedSec);
    assert.ok(Math.abs(idleW - 20) < 1.5, `idle ${idleW} W`);
    assert.equal(busy.zones[0].totalUj, busy.zones[0].activeUj + busy.zones[0].idleUj);
  });

  test('a node that only runs at one usage keeps the lowest power seen, and says so', () => {
    const z = new FakeZone('package');
    const r = poweredRig([z], [z], { model: 'baseline', attribution: 'none' });
    let s = r.step(0.3, () => PKG(0.3));
    for (let i = 0; i < 100; i++) s = r.step(0.3, () => PKG(0.3));
    assert.deepEqual(s.zones[0].idleBaseline, { watts: 41, source: 'lowest' });
  });

  test('the learner is taught only by intervals whose usage ratio was measured', () => {
    const z = new FakeZone('package');
    const r = poweredRig([z], [z], { model: 'baseline', attribution: 'none' });
    for (let i = 0; i < 4; i++) r.step(0.5, () => 30);
    // /proc/stat unreadable (usage reported as 0), then the interval after it (its ratio spans
    // two intervals), then no CPU time at all: none of them may teach the learner 10 W.
    r.step(0, () => 10, 5, { errors: { proc_stat: 1 }, nodeTotalCpuSec: 0, nodeActiveCpuSec: 0 });
    r.step(0, () => 10);
    r.step(0, () => 10, 5, { nodeTotalCpuSec: 0, nodeActiveCpuSec: 0 });
    assert.deepEqual(r.step(0.5, () => 30).zones[0].idleBaseline, { watts: 30, source: 'lowest' });
    // Measured intervals at 10 W are learned (10 s: the time a usage bin needs to count).
    r.step(0.1, () => 10);
    r.step(0.1, () => 10);
    assert.deepEqual(r.step(0.5, () => 30).zones[0].idleBaseline, { watts: 10, source: 'lowest' });
  });

  test('a zone that resumes after an unreadable refresh: its idle is the baseline over all the time its energy covers', () => {
    const z = new FakeZone('package');
    const r = poweredRig([z], [z], { model: 'baseline', attribution: 'none', pinnedWatts: { package: 10 } });
    r.step(0.5, () => 30, 1);
    z.failing = true;
    const lost = r.step(0.5, () => 30, 1);
    assert.equal(lost.zones[0].deltaUj, 0);
    z.failing = false;
    const back = r.step(0.5, () => 30, 1);
    assert.deepEqual([back.zones[0].deltaUj, back.zones[0].idleDeltaUj, back.zones[0].activeDeltaUj], [60_000_000, 20_000_000, 40_000_000]);
  });

  test('idle is capped at the energy of the interval: a baseline above the power makes it all idle and bills no active energy', () => {
    const z = new FakeZone('package');
    const r = poweredRig([z], [z], { model: 'baseline', attribution: 'cpu', pinnedWatts: { package: 100 } });
    const c = reqContainer(1, 1);
    const s = r.step(0.5, () => 50, 2, { containers: [cpu(c, 16)] });
    assert.deepEqual([s.zones[0].activeDeltaUj, s.zones[0].idleDeltaUj], [0, 100_000_000]);
    assert.deepEqual(s.containers.workloads[0].deltaUj, [0]);
    assert.deepEqual(s.containers.workloads[0].idleDeltaUj, [100_000_000], 'all of it idle, and by CPU time the only container pays it');
  });

  test('summed zones: with a baseline each socket still holds its own energy and the sockets add up to the zone exactly', () => {
    for (const idle of [
      { model: 'baseline', attribution: 'none', pinnedWatts: { package: 30 } },
      { model: 'baseline', attribution: 'none' },
    ] as IdleOptions[]) {
      const s0 = new FakeZone('package', 0, 'intel-rapl:0', 1_000_000_000);
      const s1 = new FakeZone('package', 1, 'intel-rapl:1', 1_000_000_000);
      const r = poweredRig([new AggregatedZone([s0, s1])], [s0, s1], idle);
      const rnd = prng(9);
      let prev: Snapshot | undefined;
      for (let i = 0; i < 60; i++) {
        const u = rnd();
        const s = r.step(u, (z) => (z.index === 0 ? 10 + 50 * u : 5 + 20 * u) * (0.5 + rnd()), 1 + rnd() * 4);
        assertPartsAddUp(s, `step ${i}`);
        const zs = s.zones[0];
        const d0 = (zs.parts?.[0].totalUj ?? 0n) - (prev?.zones[0].parts?.[0].totalUj ?? 0n);
        const d1 = (zs.parts?.[1].totalUj ?? 0n) - (prev?.zones[0].parts?.[1].totalUj ?? 0n);
        assert.equal(d0 + d1, BigInt(zs.deltaUj));
        if (idle.pinnedWatts) assert.equal(zs.idleDeltaUj, Math.min(zs.deltaUj, Math.round(30 * s.elapsedSec * 1e6)));
        prev = s;
      }
    }
  });

  test('says when a learned baseline changes source, once per change', () => {
    const { logger, lines } = captureLogger();
    const z = new FakeZone('package');
    const r = poweredRig([z], [z], { model: 'baseline', attribution: 'none' }, { logger });
    const rnd = prng(3);
    for (let i = 0; i < 120; i++) {
      const u = rnd();
      r.step(u, () => PKG(u));
    }
    const said = lines.filter((l) => l.msg === 'idle baseline').map((l) => l.fields.source);
    assert.deepEqual(said, ['lowest', 'fitted']);
  });
});

describe('idle power: who pays for it', () => {
  /** One interval of 16 J of idle (package pinned at 8 W over 2 s) over three containers and three processes. */
  function oneInterval(attribution: IdleAttribution) {
    const z = new FakeZone('package');
    const r = poweredRig([z], [z], { model: 'baseline', attribution, pinnedWatts: { package: 8 } });
    const cs = [reqContainer(1, 0.5), reqContainer(2, 1.5), reqContainer(3, 0)];
    const ps = [proc(1), proc(2), proc(3)];
    // 10 CPU-s of node active CPU; containers 2 + 1 + 0 (sleeping, but has run before); processes 4 + 0 (never ran) + 1.
    return r.step(0.5, () => 20, 2, {
      nodeActiveCpuSec: 10,
      containers: [cpu(cs[0], 2, false, 9), cpu(cs[1], 1, false, 3), cpu(cs[2], 0, false, 1)],
      processes: [cpu(ps[0], 4), cpu(ps[1], 0, false, 0), cpu(ps[2], 1, true)],
    });
  }
  const idleOf = (l: LevelSnapshot<unknown>) => l.workloads.map((w) => w.idleDeltaUj?.[0]);

  test('none: workloads get active energy only, and no idle is tracked', () => {
    const s = oneInterval('none');
    assert.equal(s.zones[0].idleDeltaUj, 16_000_000);
    assert.deepEqual(idleOf(s.containers), [undefined, undefined, undefined]);
    assert.equal(s.containers.idle, undefined);
    assert.equal(s.idleAttribution, 'none');
  });

  test('cpu: by CPU time over the same denominator as active energy; the CPU time no container explains keeps its idle unattributed', () => {
    const s = oneInterval('cpu');
    assert.deepEqual(idleOf(s.containers), [3_200_000, 1_600_000, 0]);
    assert.deepEqual(s.containers.idle?.unattributedDeltaUj, [11_200_000]);
    assert.deepEqual(idleOf(s.processes), [6_400_000, 0, 1_600_000], 'a process that ended in the interval pays for it');
    assert.deepEqual(s.processes.idle?.unattributedUj, [8_000_000n]);
  });

  test('request: by CPU request, among the containers that have one; processes have none, so their idle stays unattributed', () => {
    const s = oneInterval('request');
    assert.deepEqual(idleOf(s.containers), [4_000_000, 12_000_000, 0]);
    assert.deepEqual(s.containers.idle?.unattributedUj, [0n]);
    assert.deepEqual(idleOf(s.processes), [0, 0, 0]);
    assert.deepEqual(s.processes.idle?.unattributedUj, [16_000_000n]);
  });

  test('even: equally among the workloads that have used CPU (running, or ended in the interval), the µJ left unattributed', () => {
    const s = oneInterval('even');
    assert.deepEqual(idleOf(s.containers), [5_333_333, 5_333_333, 5_333_333]);
    assert.deepEqual(s.containers.idle?.unattributedUj, [1n]);
    assert.deepEqual(idleOf(s.processes), [8_000_000, 0, 8_000_000], 'one that never ran is not billed');
  });

  test("an ended workload's idle moves into the unattributed idle when its series ends; the identity holds at every refresh", () => {
    const z = new FakeZone('package');
    const r = poweredRig([z], [z], { model: 'baseline', attribution: 'even', pinnedWatts: { package: 4 } }, { minTerminatedEnergyThresholdJ: 0, maxTerminated: 10 });
    const a = reqContainer(1, 0);
    const b = reqContainer(2, 0);
    const check = (s: Snapshot, msg: string) => {
      let sum = s.containers.idle?.unattributedUj[0] ?? -1n;
      for (const w of s.containers.workloads) sum += w.idleUj?.[0] ?? 0n;
      assert.equal(sum, s.zones[0].idleUj, msg);
    };
    check(
      r.step(0.5, () => 10, 1, { containers: [cpu(a, 1), cpu(b, 1)] }),
      'both run',
    );
    const ended = r.step(0.5, () => 10, 1, { containers: [cpu(a, 1), cpu(b, 1, true)] });
    check(ended, 'b ended: terminated, still shown with its idle');
    assert.deepEqual(
      ended.containers.workloads.map((w) => [w.info.key, w.state, w.idleUj?.[0]]),
      [
        ['r1', 'running', 4_000_000n],
        ['r2', 'terminated', 4_000_000n],
      ],
    );
    assert.deepEqual(ended.containers.idle?.unattributedUj, [0n]);
    r.monitor.acknowledgeExport(ended); // a scrape showed it: gone at the next refresh
    const after = r.step(0.5, () => 10, 1, { containers: [cpu(a, 1)] });
    check(after, 'b dropped');
    assert.deepEqual(
      after.containers.workloads.map((w) => w.info.key),
      ['r1'],
    );
    assert.deepEqual(after.containers.idle?.unattributedUj, [4_000_000n], "b's idle total, now unattributed");
    assert.deepEqual(after.containers.idle?.unattributedDeltaUj, [0], 'not energy of this interval');
    assert.deepEqual(after.containers.droppedUj, [1_500_000n], 'its active total (6 W x 1/8 of the CPU, twice) went to dropped, as before');
  });

  test('an unsampled refresh bills no idle: totals stay, deltas are 0', () => {
    const z = new FakeZone('package');
    const r = poweredRig([z], [z], { model: 'baseline', attribution: 'cpu', pinnedWatts: { package: 4 } });
    const a = reqContainer(1, 0);
    const s1 = r.step(0.5, () => 10, 1, { containers: [cpu(a, 8)] });
    r.res.refresh = boom;
    z.add(5_000_000);
    r.clock.now += 1000;
    const s2 = r.monitor.refresh();
    assert.deepEqual(s2.containers.workloads[0].idleUj, s1.containers.workloads[0].idleUj);
    assert.deepEqual(s2.containers.workloads[0].idleDeltaUj, [0]);
    assert.deepEqual(s2.containers.idle?.unattributedDeltaUj, [0]);
    assert.deepEqual(s2.containers.idle?.unattributedUj, s1.containers.idle?.unattributedUj);
  });

  test('random lives, thresholds, evictions, retention and scrapes with each policy: in every snapshot, workloads + unattributed + dropped = active, and workloads idle + unattributed idle = idle', () => {
    for (const [seed, attribution] of [
      [3, 'cpu'],
      [17, 'request'],
      [2026, 'even'],
    ] as const) {
      const rnd = prng(seed);
      const zones = [new FakeZone('package', 0, 'p', 5_000_000), new FakeZone('dram', 0, 'd', 0)];
      const res = new ScriptedResources();
      const { monitor, clock } = monitorWith(zones, res, {
        minTerminatedEnergyThresholdJ: 1,
        maxTerminated: 3,
        terminatedRetentionMs: 3000,
        idle: { model: 'baseline', attribution, pinnedWatts: { package: 1 } },
      });
      const world = new World(rnd);
      let folded = 0n;
      for (let step = 0; step < 150; step++) {
        const { sample: smp } = world.step(step === 0);
        for (const z of zones) z.add(Math.floor(rnd() * 3_000_000));
        clock.now += 500 + Math.floor(rnd() * 1000);
        res.next = smp;
        const s = monitor.refresh();
        if (rnd() < 0.7) monitor.acknowledgeExport(s);
        for (const [name, level] of [
          ['processes', s.processes],
          ['containers', s.containers],
          ['vms', s.vms],
          ['pods', s.pods],
        ] as const) {
          const l = level as LevelSnapshot<{ key: string }>;
          s.zones.forEach((zone, z) => {
            let sum = l.unattributedUj[z] + l.droppedUj[z];
            let idleSum = l.idle?.unattributedUj[z] ?? -1n;
            for (const w of l.workloads) {
              sum += w.energyUj[z];
              idleSum += w.idleUj?.[z] ?? 0n;
            }
            assert.equal(sum, zone.activeUj, `seed ${seed} step ${step} ${name} zone ${zone.name}`);
            assert.equal(idleSum, zone.idleUj, `seed ${seed} step ${step} ${name} zone ${zone.name}: idle`);
          });
          folded += l.droppedUj[0];
        }
      }
      assert.ok(folded > 0n, `seed ${seed}: some series ended`);
    }
  });
});
