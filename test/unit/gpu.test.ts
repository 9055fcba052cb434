// GPU attribution: the weights of each sharing mode, the exact apportioning, Kepler's idle rule,
// and the monitor's GPU levels driven by a scripted GPU meter and scripted resource samples,
// checked against the invariants a user relies on (per GPU: total = active + idle; per level:
// workloads + unattributed + dropped = active) over random refreshes. Then the exposition of the
// GPU families, as buildCollectors assembles them.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { buildCollectors } from '../../src/exporter/prometheus/collectors.js';
import { PrometheusExporter } from '../../src/exporter/prometheus/prometheusExporter.js';
import { apportionGpu, gpuWeights, lowestIdleWatts, showsNoWork } from '../../src/monitor/gpuAttribution.js';
import { PowerMonitor } from '../../src/monitor/powerMonitor.js';
import type { GpuSnapshot, LevelSnapshot, Snapshot } from '../../src/monitor/snapshot.js';
import type { ContainerInfo, PodInfo, ProcessInfo, VmInfo, WorkloadCpu } from '../../src/resource/workloads.js';
import { captureLogger } from '../support/captureLogger.js';
import { parseExposition, select, sum } from '../support/exposition.js';
import { FakeZone, gpuDevices, sample, ScriptedGpuMeter, silent } from '../support/fakes.js';
import { prng } from '../support/prng.js';

const proc = (pid: number, extra: Partial<ProcessInfo> = {}): ProcessInfo => ({
  key: `${pid}@1`,
  pid,
  comm: `p${pid}`,
  exe: `/bin/p${pid}`,
  type: 'regular',
  containerId: '',
  vmId: '',
  kernelThread: false,
  ...extra,
});
const cpu = <I>(info: I, cpuDeltaSec: number, ended = false): WorkloadCpu<I> => ({ info, cpuDeltaSec, cpuTotalSec: cpuDeltaSec, ended });

describe('gpuWeights', () => {
  test('time-slicing: SM utilization summed per pid, a process that ended in the interval included', () => {
    const w = gpuWeights({
      mig: false,
      computeMode: 'default',
      processes: [{ pid: 1 }, { pid: 2 }],
      utilization: [
        { pid: 1, smUtil: 30 },
        { pid: 2, smUtil: 10 },
        { pid: 1, smUtil: 30 },
        { pid: 3, smUtil: 20 },
      ],
    });
    assert.equal(w.sharing, 'time-slicing');
    assert.deepEqual(
      [...w.weights],
      [
        [1, 60],
        [2, 10],
        [3, 20],
      ],
    );
  });

  test('time-slicing without samples (or all 0): the running processes equally', () => {
    for (const utilization of [[], undefined, [{ pid: 1, smUtil: 0 }]]) {
      const w = gpuWeights({ mig: false, processes: [{ pid: 1 }, { pid: 2 }], utilization });
      assert.deepEqual(
        [...w.weights],
        [
          [1, 1],
          [2, 1],
        ],
      );
    }
  });

  test('exclusive: the process holding the GPU, whatever the samples say', () => {
    const w = gpuWeights({ mig: false, computeMode: 'exclusive', processes: [{ pid: 7 }], utilization: [{ pid: 9, smUtil: 99 }] });
    assert.equal(w.sharing, 'exclusive');
    assert.deepEqual([...w.weights], [[7, 1]]);
  });

  test('MIG: per GPU instance by engine activity, equally within; equally when an instance has no activity figure', () => {
    const processes = [
      { pid: 1, gpuInstanceId: 1 },
      { pid: 2, gpuInstanceId: 1 },
      { pid: 3, gpuInstanceId: 2 },
    ];
    const measured = gpuWeights({
      mig: true,
      processes,
      instanceActivity: new Map([
        [1, 0.2],
        [2, 0.6],
      ]),
    });
    assert.equal(measured.sharing, 'mig');
    assert.deepEqual(
      [...measured.weights],
      [
        [1, 0.1],
        [2, 0.1],
        [3, 0.6],
      ],
    );
    const partial = gpuWeights({ mig: true, processes, instanceActivity: new Map([[1, 0.2]]) });
    assert.deepEqual(
      [...partial.weights],
      [
        [1, 0.5],
        [2, 0.5],
        [3, 1],
      ],
    );
  });

  test('processes that cannot be listed, or none: no weights (the energy stays unattributed)', () => {
    assert.equal(gpuWeights({ mig: false }).weights.size, 0);
    assert.equal(gpuWeights({ mig: false, processes: [], utilization: [] }).weights.size, 0);
  });
});

describe('apportionGpu and the idle rule', () => {
  test('the shares add up to the active energy exactly and follow the weights within 1 µJ', () => {
    const rand = prng(15);
    for (let i = 0; i < 500; i++) {
      const active = Math.floor(rand() * 1e10);
      const weights = new Map(Array.from({ length: 1 + Math.floor(rand() * 8) }, (_, k) => [k + 1, rand() * 100] as [number, number]));
      const shares = apportionGpu(active, weights);
      assert.equal(
        [...shares.values()].reduce((a, b) => a + b, 0),
        active,
      );
      const total = [...weights.values()].reduce((a, b) => a + b, 0);
      for (const [pid, w] of weights) assert.ok(Math.abs((shares.get(pid) ?? 0) - (active * w) / total) <= 1, `pid ${pid}`);
    }
    assert.equal(apportionGpu(1000, new Map()).size, 0);
    assert.equal(apportionGpu(0, new Map([[1, 1]])).size, 0);
  });

  test('lowest idle: only intervals with no compute work count, the lowest wins', () => {
    assert.equal(lowestIdleWatts(undefined, 80, false), undefined);
    assert.equal(lowestIdleWatts(undefined, 80, true), 80);
    assert.equal(lowestIdleWatts(80, 60, true), 60);
    assert.equal(lowestIdleWatts(60, 90, true), 60);
    assert.equal(lowestIdleWatts(60, 10, false), 60);
    assert.equal(showsNoWork({ mig: false, processes: [], utilization: [] }), true);
    assert.equal(showsNoWork({ mig: false, processes: [{ pid: 1 }] }), false);
    assert.equal(showsNoWork({ mig: false, processes: [], utilization: [{ pid: 4, smUtil: 3 }] }), false, 'a process that ended in the interval worked');
    assert.equal(showsNoWork({ mig: false }), false, 'processes unknown: not known to be idle');
  });
});

// ---------- the monitor's GPU levels ----------

function gpuMonitor(gpus: number, idleWatts = 0, logger = silent) {
  const meter = new ScriptedGpuMeter(gpuDevices(gpus));
  const clock = { now: 1_000 };
  let next = sample({ baseline: true });
  const zone = new FakeZone('package');
  const monitor = new PowerMonitor({
    zones: [zone],
    resources: { refresh: () => next },
    intervalMs: 0,
    stalenessMs: 500,
    maxTerminated: 0,
    minTerminatedEnergyThresholdJ: 0,
    maxZoneWatts: 5000,
    gpu: { meter, idleWatts },
    logger,
    clock: () => clock.now,
    wallClock: () => clock.now,
  });
  return {
    meter,
    monitor,
    /** One refresh `ms` after the last, with this sample. */
    refresh(ms: number, s: Partial<Parameters<typeof sample>[0]> = {}): Snapshot {
      clock.now += ms;
      zone.counter += ms * 1000;
      next = sample(s);
      return monitor.refresh();
    },
  };
}

function gpuOf(s: Snapshot): GpuSnapshot {
  assert.ok(s.gpu, 'the snapshot has no GPU part');
  return s.gpu;
}

function assertConserved(g: GpuSnapshot, msg: string): void {
  g.devices.forEach((d, i) => {
    assert.equal(d.totalUj, d.activeUj + d.idleUj, `${msg}: GPU ${i} total = active + idle`);
    for (const [name, level] of Object.entries({ processes: g.processes, containers: g.containers, vms: g.vms, pods: g.pods }) as [string, LevelSnapshot<unknown>][]) {
      const workloads = level.workloads.reduce((a, w) => a + w.energyUj[i], 0n);
      assert.equal(workloads + level.unattributedUj[i] + level.droppedUj[i], d.activeUj, `${msg}: GPU ${i} ${name}: workloads + unattributed + dropped = active`);
    }
  });
}

describe('PowerMonitor with GPUs', () => {
  test('time-slicing over real shares: SM split, a GPU-only process billed, roll-up to container, pod and VM', () => {
    const m = gpuMonitor(2, 50);
    const pod: PodInfo = { key: 'uid-1', id: 'uid-1', name: 'trainer', namespace: 'ml', cpuRequestCores: 0 };
    const container: ContainerInfo = { key: 'c1', id: 'c1', name: 'train', runtime: 'containerd', podId: 'uid-1', cpuRequestCores: 0 };
    const vm: VmInfo = { key: 'vm-1', id: 'vm-1', name: 'guest', hypervisor: 'kvm' };
    const a = proc(10, { containerId: 'c1', type: 'container' });
    const b = proc(11); // GPU only: no CPU time at all
    const q = proc(12, { type: 'vm', vmId: 'vm-1' });
    const s = {
      processes: [cpu(a, 1), cpu(b, 0), cpu(q, 0.5)],
      containers: [cpu(container, 1)],
      pods: [cpu(pod, 1)],
      vms: [cpu(vm, 0.5)],
      nodeActiveCpuSec: 2,
      nodeTotalCpuSec: 4,
      usageRatio: 0.5,
    };
    m.refresh(0, { ...s, baseline: true });
    // GPU 0: 300 W for 2 s, 50 W idle -> 500 J active, a:b = 3:1 by SM utilization. GPU 1: the VM's process alone.
    m.meter.step(0, 600e6, {
      processes: [{ pid: 10 }, { pid: 11 }],
      utilization: [
        { pid: 10, smUtil: 75 },
        { pid: 11, smUtil: 25 },
      ],
    });
    m.meter.step(1, 200e6, { processes: [{ pid: 12 }], utilization: [{ pid: 12, smUtil: 40 }] });
    const g = gpuOf(m.refresh(2000, s));
    assertConserved(g, 'first interval');
    assert.equal(g.devices[0].activeDeltaUj, 500e6);
    assert.equal(g.devices[0].idleDeltaUj, 100e6);
    assert.deepEqual(g.devices[0].idleBaseline, { watts: 50, source: 'configured' });
    const energy = (level: LevelSnapshot<{ key: string }>, key: string) => level.workloads.find((w) => w.info.key === key)?.energyUj;
    assert.deepEqual(energy(g.processes, a.key), [375_000_000n, 0n]);
    assert.deepEqual(energy(g.processes, b.key), [125_000_000n, 0n], 'a process with GPU work and no CPU time is billed');
    assert.deepEqual(energy(g.processes, q.key), [0n, 100_000_000n]);
    assert.deepEqual(energy(g.containers, 'c1'), [375_000_000n, 0n]);
    assert.deepEqual(energy(g.pods, 'uid-1'), [375_000_000n, 0n]);
    assert.deepEqual(energy(g.vms, 'vm-1'), [0n, 100_000_000n]);
    assert.deepEqual(g.containers.unattributedUj, [125_000_000n, 100_000_000n], 'what no container explains');
  });

  test('exclusive mode bills the holder; processes unknown to the resources stay unattributed', () => {
    const m = gpuMonitor(1, 0);
    const a = proc(20);
    m.refresh(0, { baseline: true, processes: [cpu(a, 0)] });
    m.meter.step(0, 100e6, { computeMode: 'exclusive', processes: [{ pid: 20 }], utilization: [{ pid: 99, smUtil: 100 }] });
    let g = gpuOf(m.refresh(1000, { processes: [cpu(a, 0)] }));
    assert.equal(g.devices[0].sharing, 'exclusive');
    assert.deepEqual(
      g.processes.workloads.map((w) => [w.info.pid, w.energyUj[0]]),
      [[20, 100_000_000n]],
    );
    m.meter.step(0, 100e6, { computeMode: 'default', processes: [{ pid: 21 }], utilization: [] });
    g = gpuOf(m.refresh(1000, { processes: [cpu(a, 0)] }));
    assert.equal(g.processes.unattributedDeltaUj[0], 100e6, 'pid 21 is not among the resources: unattributed');
    assertConserved(g, 'unknown pid');
  });

  test('idle: unknown (all active) until an interval with no compute work, then the lowest power seen then', () => {
    const { logger, lines } = captureLogger();
    const m = gpuMonitor(1, 0, logger);
    const a = proc(30);
    m.refresh(0, { baseline: true, processes: [cpu(a, 0)] });
    m.meter.step(0, 300e6, { processes: [{ pid: 30 }] });
    let g = gpuOf(m.refresh(1000, { processes: [cpu(a, 1)] }));
    assert.deepEqual(g.devices[0].idleBaseline, { watts: 0, source: 'unknown' });
    assert.equal(g.devices[0].activeDeltaUj, 300e6);
    m.meter.step(0, 90e6, { processes: [], utilization: [] });
    m.refresh(1000, { processes: [cpu(a, 1)] }); // the process left during the interval: not yet quiet at both ends
    m.meter.step(0, 70e6, { processes: [], utilization: [] });
    g = gpuOf(m.refresh(1000, { processes: [cpu(a, 0)] }));
    m.meter.step(0, 200e6, { processes: [{ pid: 30 }], utilization: [{ pid: 30, smUtil: 50 }] });
    g = gpuOf(m.refresh(1000, { processes: [cpu(a, 1)] }));
    assert.deepEqual(g.devices[0].idleBaseline, { watts: 70, source: 'lowest' });
    assert.equal(g.devices[0].idleDeltaUj, 70e6);
    assert.equal(g.devices[0].activeDeltaUj, 130e6);
    assertConserved(g, 'learned idle');
    assert.ok(lines.some((l) => l.level === 'INFO' && /GPU idle power learned/.test(l.msg) && l.fields.watts === 70));
  });

  test('a driver reload the meter went on past is billed and counted; a counter that goes back is dropped, and no total goes down', () => {
    const m = gpuMonitor(1, 0);
    m.refresh(0, { baseline: true });
    m.meter.step(0, 5_000e6);
    const before = gpuOf(m.refresh(1000)).devices[0].totalUj;
    m.meter.step(0, 40e6, { counterReset: true });
    let s = m.refresh(1000);
    assert.equal(gpuOf(s).devices[0].deltaUj, 40e6);
    assert.equal(gpuOf(s).devices[0].totalUj, before + 40_000_000n);
    assert.equal(s.health.errors.gpu_counter_reset, 1);
    m.meter.readings[0] = { ...m.meter.readings[0], counterReset: false, energyUj: 1e6 };
    s = m.refresh(1000);
    assert.equal(gpuOf(s).devices[0].totalUj, before + 40_000_000n, 'back with no known range: the interval is dropped');
    assert.equal(s.health.errors.counter_backwards, 1);
  });

  test('an NVML error on one GPU keeps its totals flat, counts it, and the other GPU and the CPU go on', () => {
    const { logger, lines } = captureLogger();
    const m = gpuMonitor(2, 0, logger);
    m.refresh(0, { baseline: true });
    m.meter.step(0, 100e6);
    m.meter.step(1, 100e6);
    const s1 = m.refresh(1000);
    m.meter.failing.add(1);
    m.meter.step(0, 100e6);
    m.meter.step(1, 100e6);
    const s2 = m.refresh(1000);
    m.refresh(1000);
    assert.equal(gpuOf(s2).devices[1].totalUj, gpuOf(s1).devices[1].totalUj);
    assert.equal(gpuOf(s2).devices[0].totalUj, 200_000_000n);
    assert.ok(s2.zones[0].totalUj > s1.zones[0].totalUj, 'the CPU zone goes on');
    assert.equal(lines.filter((l) => l.level === 'WARN' && /GPU reading unusable/.test(l.msg)).length, 1, 'one warning, not one per refresh');
    m.meter.failing.delete(1);
    const s4 = m.refresh(1000);
    assert.equal(gpuOf(s4).devices[1].deltaUj, 100e6, 'the energy of the failed refreshes is billed once it reads again');
    assert.ok(s4.health.errors.gpu_read >= 2);
    assert.ok(lines.some((l) => l.level === 'INFO' && /GPU reading again/.test(l.msg)));
  });

  test('a reading is acknowledged to the meter only when the refresh keeps it (its utilization window then moves on)', () => {
    const meter = new ScriptedGpuMeter(gpuDevices(2));
    let failing = false;
    const monitor = new PowerMonitor({
      zones: [new FakeZone('package')],
      resources: {
        refresh: () => {
          if (failing) throw new Error('informer bug');
          return sample({});
        },
      },
      intervalMs: 0,
      stalenessMs: 0,
      maxTerminated: 0,
      minTerminatedEnergyThresholdJ: 0,
      gpu: { meter, idleWatts: 0 },
      logger: silent,
    });
    monitor.refresh();
    assert.deepEqual(meter.acknowledged, [0, 1]);
    failing = true;
    monitor.refresh();
    assert.deepEqual(meter.acknowledged, [0, 1], 'no resource sample: nothing billed, the window stays open');
    failing = false;
    meter.failing.add(1);
    monitor.refresh();
    assert.deepEqual(meter.acknowledged, [0, 1, 0], 'GPU 1 could not be read');
  });

  test('idle is learned only from intervals of a second or more in which the counter moved', () => {
    const m = gpuMonitor(1, 0);
    m.refresh(0, { baseline: true });
    m.meter.step(0, 10e6, { processes: [], utilization: [] });
    m.refresh(500); // quiet at both ends? not yet: the first reading was not known to be quiet
    m.meter.step(0, 10e6);
    let g = gpuOf(m.refresh(500)); // 20 W, but over half a second
    m.meter.step(0, 0);
    g = gpuOf(m.refresh(1000)); // a counter that did not move: stuck, not 0 W
    assert.deepEqual(g.devices[0].idleBaseline, { watts: 0, source: 'unknown' });
    m.meter.step(0, 45e6);
    m.refresh(1500);
    m.meter.step(0, 30e6);
    g = gpuOf(m.refresh(1000));
    assert.deepEqual(g.devices[0].idleBaseline, { watts: 30, source: 'lowest' });
  });

  test('random refreshes: every invariant holds in every snapshot, with processes coming and going', () => {
    const rand = prng(1515);
    const m = gpuMonitor(3, 0);
    const containers: ContainerInfo[] = [0, 1].map((i) => ({ key: `c${i}`, id: `c${i}`, name: `c${i}`, runtime: 'containerd', podId: `p${i}`, cpuRequestCores: 0 }));
    const pods: PodInfo[] = [0, 1].map((i) => ({ key: `p${i}`, id: `p${i}`, name: `p${i}`, namespace: 'ns', cpuRequestCores: 0 }));
    let live = new Map<number, ProcessInfo>();
    let nextPid = 100;
    m.refresh(0, { baseline: true });
    for (let step = 0; step < 200; step++) {
      const ended: ProcessInfo[] = [];
      for (const [pid, p] of live) {
        if (rand() >= 0.1) continue;
        ended.push(p);
        live.delete(pid);
      }
      while (live.size < 6) {
        const pid = nextPid++;
        const c = rand() < 0.6 ? containers[pid % 2] : undefined;
        live.set(pid, proc(pid, c ? { containerId: c.id, type: 'container' } : {}));
      }
      live = new Map([...live]);
      for (let g = 0; g < 3; g++) {
        const onGpu = [...live.keys()].filter(() => rand() < 0.5);
        const mode = rand() < 0.2 ? 'exclusive' : 'default';
        m.meter.step(g, Math.floor(rand() * 700e6), {
          computeMode: mode,
          processes: onGpu.map((pid) => ({ pid })),
          utilization: [...onGpu, ...ended.map((p) => p.pid)].map((pid) => ({ pid, smUtil: Math.floor(rand() * 100) })),
        });
      }
      if (rand() < 0.05) m.meter.failing.add(Math.floor(rand() * 3));
      else m.meter.failing.clear();
      const processes = [...[...live.values()].map((p) => cpu(p, rand())), ...ended.map((p) => cpu(p, rand(), true))];
      const s = m.refresh(500 + Math.floor(rand() * 1000), {
        processes,
        containers: containers.map((c) => cpu(c, rand())),
        pods: pods.map((p) => cpu(p, rand())),
        nodeActiveCpuSec: 10,
        nodeTotalCpuSec: 20,
        usageRatio: 0.5,
      });
      assertConserved(gpuOf(s), `step ${step}`);
    }
  });
});

// ---------- exposition ----------

describe('GPU families', () => {
  function scrape(legacyMetrics: boolean) {
    const m = gpuMonitor(2, 40);
    const container: ContainerInfo = { key: 'c1', id: 'c1', name: 'train', runtime: 'containerd', podId: '', cpuRequestCores: 0 };
    const a = proc(10, { containerId: 'c1', type: 'container' });
    const idle = proc(11);
    const s = { processes: [cpu(a, 1), cpu(idle, 1)], containers: [cpu(container, 1)], nodeActiveCpuSec: 2, nodeTotalCpuSec: 4, usageRatio: 0.5 };
    m.refresh(0, { ...s, baseline: true });
    m.meter.step(0, 400e6, { processes: [{ pid: 10 }], utilization: [{ pid: 10, smUtil: 90 }] });
    m.meter.step(1, 90e6);
    m.refresh(2000, s);
    const exporter: PrometheusExporter = new PrometheusExporter(m.monitor, silent);
    exporter.register(
      ...buildCollectors({
        nodeName: 'n1',
        prometheus: { metricsLevel: ['node', 'process', 'container', 'vm', 'pod'], legacyMetrics, debugCollectors: [] },
        meter: { name: 'rapl', zones: [{ name: 'package', index: 0 }] },
        gpus: m.meter.devices,
        cpus: [],
        cpuArchitecture: 'unknown',
        build: { version: '0', revision: 'x', branch: 'main' },
        scrapeStats: () => exporter.scrapeStats(),
        snapshots: m.monitor,
        logger: silent,
      }),
    );
    return parseExposition(exporter.render(false).body);
  }

  test("Kepler's node GPU families with its labels, and the workloads' only where they used a GPU", () => {
    const e = scrape(false);
    const info = select(e, 'kepler_node_gpu_info');
    assert.deepEqual(
      info.map((s) => s.labels),
      [0, 1].map((i) => ({ node_name: 'n1', gpu: String(i), gpu_uuid: gpuDevices(2)[i].uuid, gpu_name: 'NVIDIA H100 80GB HBM3', vendor: 'nvidia' })),
    );
    assert.equal(select(e, 'kepler_node_gpu_joules_total', { gpu: '0' })[0].value, 400);
    assert.equal(select(e, 'kepler_node_gpu_idle_joules_total', { gpu: '0' })[0].value, 80);
    assert.equal(select(e, 'kepler_node_gpu_active_watts', { gpu: '0' })[0].value, 160);
    assert.equal(select(e, 'kepler_node_gpu_idle_watts', { gpu: '1' })[0].value, 40);
    assert.equal(select(e, 'kepler_node_gpu_idle_baseline_watts', { gpu: '1', source: 'configured' })[0].value, 40);
    const procs = select(e, 'kepler_process_gpu_joules_total');
    assert.deepEqual(
      procs.map((s) => [s.labels.pid, s.labels.gpu, s.labels.container_id, s.labels.state, s.value]),
      [['10', '0', 'c1', 'running', 320]],
      'pid 11 never used a GPU, and pid 10 never used GPU 1: no series',
    );
    assert.deepEqual(Object.keys(procs[0].labels).sort(), ['comm', 'container_id', 'exe', 'gpu', 'gpu_uuid', 'node_name', 'pid', 'state', 'type', 'vm_id']);
    assert.equal(select(e, 'kepler_process_gpu_watts', { pid: '10', gpu: '0' })[0].value, 160);
    assert.deepEqual(Object.keys(select(e, 'kepler_container_gpu_joules_total')[0].labels).sort(), [
      'container_id',
      'container_name',
      'gpu',
      'gpu_uuid',
      'node_name',
      'pod_id',
      'runtime',
      'state',
    ]);
    for (const level of ['process', 'container', 'vm', 'pod']) {
      for (const gpu of ['0', '1']) {
        const workloads = sum(select(e, `kepler_${level}_gpu_joules_total`, { gpu }));
        const unattributed = select(e, 'kepler_node_gpu_unattributed_joules_total', { gpu, level })[0].value;
        const active = select(e, 'kepler_node_gpu_active_joules_total', { gpu })[0].value;
        assert.ok(Math.abs(workloads + unattributed - active) < 1e-6, `${level} GPU ${gpu}: workloads + unattributed = active`);
      }
    }
  });

  test('the Kepler 0.7 family carries the same GPU energy on node, process and container', () => {
    const e = scrape(true);
    assert.equal(select(e, 'kepler_node_gpu_joules_total', { package: '0', mode: 'dynamic' })[0].value, 320);
    assert.equal(select(e, 'kepler_node_gpu_joules_total', { package: '1', mode: 'idle' })[0].value, 80);
    assert.equal(select(e, 'kepler_process_gpu_joules_total', { pid: '10', mode: 'dynamic' })[0].value, 320);
    assert.equal(select(e, 'kepler_container_gpu_joules_total', { container_id: 'c1', mode: 'dynamic' })[0].value, 320);
  });
});
