// Section 8: the live page's history ring (PowerHistory) under 5,000 workloads coming and going.
// A real PowerMonitor over an advancing package and dram zone bills, every simulated second,
// 5,000 processes in 5,000 containers of 500 pods; each second 250 of them (5 %) are replaced by
// new ones that are the busiest of the node, so every point's top list names workloads no other
// point names: the worst case for the names the ring keeps. After 20 simulated minutes (more than
// the 15-minute window) it reports the points and names held, the heap the ring retains (measured
// by dropping it and collecting), the cost of adding a refresh (merged 1 s refreshes and 5 s
// ones), and the size and build time of the full /api/v1/history answer.

import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { EnergyZone } from '../src/device/energyZone.js';
import { PowerHistory } from '../src/exporter/web/powerHistory.js';
import { PowerMonitor } from '../src/monitor/powerMonitor.js';
import type { Snapshot } from '../src/monitor/snapshot.js';
import type { ContainerInfo, PodInfo, ProcessInfo, ResourceSample, WorkloadCpu } from '../src/resource/workloads.js';
import { median, quantile, silentLogger as silent } from './util.js';

export interface HistoryResult {
  workloads: number;
  replacedPerRefresh: number;
  refreshes: number;
  points: number;
  maxPoints: number;
  names: number;
  retainedBytes: number;
  addMergedMs: number;
  addMergedP99Ms: number;
  addSingleMs: number;
  addSingleP99Ms: number;
  viewMs: number;
  viewBytes: number;
}

/** A heap collection: the bench runs without --expose-gc, so expose it here. */
function collector(): () => void {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  return () => {
    gc();
    gc();
  };
}

/** A zone whose counter the feed advances: power that follows the CPU work, as a real package's does. */
function zone(name: string, counter: { uj: number }): EnergyZone {
  return { name, index: 0, path: `bench/${name}`, energy: () => Math.round(counter.uj), maxEnergy: () => 0 };
}

/** Feeds `history` `refreshes` refreshes of `stepMs`; returns the milliseconds each onSnapshot took. */
function feed(history: PowerHistory, refreshes: number, stepMs: number, workloads: number, replaced: number): number[] {
  const clock = { now: 1000 };
  let serial = 0;
  const make = (busyCpu: number) => {
    const n = serial++;
    const podIndex = n % (workloads / 10);
    // Names as long as real ones: a pod UID, Deployment-style pod names, a 64-hex container id, a
    // long exe path (a process's detail line), so that what the names cost is not understated.
    const uid = `${podIndex.toString(16).padStart(8, '0')}-1c2d-4e5f-8a9b-0c1d2e3f4a5b`;
    const pod: PodInfo = {
      key: uid,
      id: uid,
      name: `payments-api-worker-7d9f8c6b5d-${podIndex.toString(36).padStart(5, 'x')}`,
      namespace: 'team-payments-production',
      cpuRequestCores: 0,
    };
    const id = n.toString(16).padStart(64, '0');
    const container: ContainerInfo = { key: id, id, name: `payments-api-worker-sidecar-${n}`, runtime: 'containerd', podId: pod.id, cpuRequestCores: 0 };
    const proc: ProcessInfo = {
      key: `${n}:${1_000_000 + n}`,
      pid: n,
      comm: `worker-${n}`.slice(0, 15),
      exe: `/opt/payments/releases/2026.12.03-build-${n}/bin/payments-api-worker-with-a-long-name`,
      type: 'container',
      containerId: id,
      vmId: '',
      kernelThread: false,
    };
    return { pod, container, proc, cpu: busyCpu };
  };
  let live = Array.from({ length: workloads }, () => make(0.001));
  let next: ResourceSample | undefined;
  const pkg = { uj: 0 };
  const dram = { uj: 0 };
  const monitor = new PowerMonitor({
    zones: [zone('package', pkg), zone('dram', dram)],
    resources: { refresh: () => next ?? { baseline: true, nodeActiveCpuSec: 0, nodeTotalCpuSec: 0, usageRatio: 0, processes: [], containers: [], vms: [], pods: [], errors: {} } },
    intervalMs: 0,
    stalenessMs: 0,
    maxTerminated: 0,
    minTerminatedEnergyThresholdJ: 0,
    logger: silent,
    clock: () => clock.now,
    wallClock: () => 1_700_000_000_000 + clock.now,
  });
  monitor.refresh();
  const times: number[] = [];
  monitor.onSnapshot((s: Snapshot) => {
    const t0 = performance.now();
    history.onSnapshot(s);
    times.push(performance.now() - t0);
  });
  for (let r = 0; r < refreshes; r++) {
    // The oldest `replaced` end; as many new ones start, busier than anything else on the node, and
    // by a varying amount: power that never varies with usage would all be idle (baseline model).
    const busyCpu = 0.1 + 0.05 * (r % 17);
    live = [...live.slice(replaced).map((w) => ({ ...w, cpu: 0.001 })), ...Array.from({ length: replaced }, () => make(busyCpu))];
    const sec = stepMs / 1000;
    const cpu = <I>(info: I, c: number): WorkloadCpu<I> => ({ info, cpuDeltaSec: c * sec, cpuTotalSec: c * sec, ended: false });
    const pods = new Map<string, WorkloadCpu<PodInfo>>();
    for (const w of live) pods.set(w.pod.key, cpu(w.pod, w.cpu));
    next = {
      baseline: false,
      nodeActiveCpuSec: live.reduce((a, w) => a + w.cpu, 0) * sec,
      nodeTotalCpuSec: 256 * sec,
      usageRatio: live.reduce((a, w) => a + w.cpu, 0) / 256,
      processes: live.map((w) => cpu(w.proc, w.cpu)),
      containers: live.map((w) => cpu(w.container, w.cpu)),
      vms: [],
      pods: [...pods.values()],
      errors: {},
    };
    const cores = live.reduce((a, w) => a + w.cpu, 0);
    pkg.uj += (40 + 20 * cores) * stepMs * 1000;
    dram.uj += (5 + 2 * cores) * stepMs * 1000;
    clock.now += stepMs;
    monitor.refresh();
  }
  return times;
}

export function benchHistory(workloads = 5000, replacedPerRefresh = 250, minutes = 20): HistoryResult {
  const gc = collector();
  const merged = feed(new PowerHistory(), 100, 1000, workloads, replacedPerRefresh);
  const single = feed(new PowerHistory(), 100, 5000, workloads, replacedPerRefresh);

  let history: PowerHistory | undefined = new PowerHistory();
  const refreshes = minutes * 60;
  feed(history, refreshes, 1000, workloads, replacedPerRefresh);
  gc();
  const withRing = process.memoryUsage().heapUsed;
  const { points, workloads: names } = history.size();
  const maxPoints = history.maxPoints;
  const viewTimes: number[] = [];
  let viewBytes = 0;
  for (let i = 0; i < 10; i++) {
    const t0 = performance.now();
    viewBytes = JSON.stringify(history.view()).length;
    viewTimes.push(performance.now() - t0);
  }
  history = undefined;
  gc();
  const without = process.memoryUsage().heapUsed;
  return {
    workloads,
    replacedPerRefresh,
    refreshes,
    points,
    maxPoints,
    names,
    retainedBytes: withRing - without,
    addMergedMs: median(merged),
    addMergedP99Ms: quantile(merged, 0.99),
    addSingleMs: median(single),
    addSingleP99Ms: quantile(single, 0.99),
    viewMs: median(viewTimes),
    viewBytes,
  };
}
