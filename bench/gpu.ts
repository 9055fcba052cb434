// Section 7: what NVIDIA GPUs add to a refresh. 8 stand-in GPUs (the fake libnvidia-ml.so.1 of
// harness/, compiled with gcc) and 200 GPU processes, 25 per GPU, each a process the resource
// sample knows: the NVML reads alone (NvmlMeter.read of every GPU: energy, mode, MIG mode, the
// process list, process utilization), and a whole PowerMonitor refresh with and without the GPUs
// (the GPU part: reads, idle split, apportioning, the roll-up to containers, pods and VMs).

import { openNvml } from '../src/device/gpu/nvml/nvmlLibrary.js';
import type { EnergyZone } from '../src/device/energyZone.js';
import { PowerMonitor } from '../src/monitor/powerMonitor.js';
import type { ContainerInfo, PodInfo, ProcessInfo, ResourceSample, WorkloadCpu } from '../src/resource/workloads.js';
import { buildFakeNvml } from '../harness/fakeNvml.js';
import { median, quantile, silentLogger as silent, timeEach } from './util.js';

export interface GpuResult {
  gpus: number;
  gpuProcesses: number;
  otherProcesses: number;
  readMs: number;
  readP90Ms: number;
  refreshMs: number;
  refreshNoGpuMs: number;
  refreshP90Ms: number;
}

/** A counter that always advances, as a RAPL package zone would. */
function zone(): EnergyZone {
  let uj = 0;
  return { name: 'package', index: 0, path: 'bench', energy: () => (uj += 1_000_000), maxEnergy: () => 0 };
}

export function benchGpu(iterations: number, gpus = 8, perGpu = 25, otherProcesses = 1000): GpuResult {
  const fake = buildFakeNvml();
  try {
    const pids = Array.from({ length: gpus * perGpu }, (_, i) => 100_000 + i);
    fake.write({
      gpus: Array.from({ length: gpus }, (_, g) => ({
        uuid: `GPU-${String(g).padStart(8, '0')}-0000-4000-8000-000000000000`,
        name: 'NVIDIA H100 80GB HBM3',
        energyMj: 1_000_000,
        powerMw: 400_000,
        advanceFromMs: Date.now(),
      })),
      processes: pids.map((pid, i) => ({ gpu: i % gpus, pid, smUtil: 1 + (i % 97) })),
    });
    // The fake reads its state file's path at nvmlInit (a C getenv: Node's process.env reaches it).
    process.env.FAKE_NVML_STATE = fake.statePath;
    const opened = openNvml({ logger: silent, libraryCandidates: [fake.libPath] });
    if ('reason' in opened) throw new Error(`the fake NVML did not open: ${opened.reason}`);
    const meter = opened.meter;
    const readAll = () => {
      for (let g = 0; g < meter.devices.length; g++) meter.read(g);
    };
    for (let i = 0; i < 20; i++) readAll(); // warm-up (JIT)
    const reads = timeEach(iterations * 10, readAll);

    // The resource sample: the GPU processes in 50 containers of 50 pods, and other processes.
    const containers: WorkloadCpu<ContainerInfo>[] = [];
    const pods: WorkloadCpu<PodInfo>[] = [];
    for (let c = 0; c < 50; c++) {
      const id = c.toString(16).padStart(64, '0');
      containers.push({ info: { key: id, id, name: `c${c}`, runtime: 'containerd', podId: `pod-${c}`, cpuRequestCores: 0 }, cpuDeltaSec: 0.1, cpuTotalSec: 1, ended: false });
      pods.push({ info: { key: `pod-${c}`, id: `pod-${c}`, name: `p${c}`, namespace: 'ml', cpuRequestCores: 0 }, cpuDeltaSec: 0.1, cpuTotalSec: 1, ended: false });
    }
    const proc = (pid: number, containerId: string): WorkloadCpu<ProcessInfo> => ({
      info: { key: `${pid}@1`, pid, comm: 'python3', exe: '/usr/bin/python3', type: containerId ? 'container' : 'regular', containerId, vmId: '', kernelThread: false },
      cpuDeltaSec: 0.01,
      cpuTotalSec: 1,
      ended: false,
    });
    const processes = [...pids.map((pid, i) => proc(pid, containers[i % 50].info.id)), ...Array.from({ length: otherProcesses }, (_, i) => proc(200_000 + i, ''))];
    const sample: ResourceSample = { baseline: false, nodeActiveCpuSec: 20, nodeTotalCpuSec: 40, usageRatio: 0.5, processes, containers, vms: [], pods, errors: {} };
    const monitor = (withGpu: boolean) =>
      new PowerMonitor({
        zones: [zone()],
        resources: { refresh: () => sample },
        intervalMs: 0,
        stalenessMs: 0,
        maxTerminated: 500,
        minTerminatedEnergyThresholdJ: 10,
        ...(withGpu ? { gpu: { meter, idleWatts: 0 } } : {}),
        logger: silent,
      });
    const time = (m: PowerMonitor) => {
      for (let i = 0; i < 10; i++) m.refresh();
      return timeEach(iterations, () => m.refresh());
    };
    const withGpu = time(monitor(true));
    const without = time(monitor(false));
    meter.close();
    return {
      gpus,
      gpuProcesses: pids.length,
      otherProcesses,
      readMs: median(reads),
      readP90Ms: quantile(reads, 0.9),
      refreshMs: median(withGpu),
      refreshNoGpuMs: median(without),
      refreshP90Ms: quantile(withGpu, 0.9),
    };
  } finally {
    fake.cleanup();
  }
}
