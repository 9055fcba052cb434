// Pure: the watts of the machine the exporter runs on, at a given load, from a whole-server model.
// Bare metal is the whole server. A virtual machine is its share of a host: its vCPUs over the
// host's logical CPUs, of that host's idle power and of the dynamic power its own load causes
// (the per-vCPU view of Cloud Carbon Footprint, with a whole-server model underneath). User
// corrections from configuration (measured points, idle/max watts) are applied last, to this
// machine's watts.

import type { CpuTimes } from '../resource/procStat.js';
import { clampLoad, type PowerBreakdown, type PowerModel, type ServerSpec } from './powerModel.js';
import { interpolate } from './specpowerModel.js';

export interface Calibration {
  /** This machine's watts at active idle (for a VM: the VM's share). */
  idleWatts?: number;
  /** This machine's watts at full load. */
  maxWatts?: number;
  /** Measured (load 0-1, watts) points; two or more replace the curve, one scales it. */
  points?: { load: number; watts: number }[];
}

export interface MachineEstimate {
  model: PowerModel;
  /** The server the model is asked about: this machine, or for a VM the host it is a share of. */
  server: ServerSpec;
  /** This machine's share of `server`: 1 for bare metal, vCPUs / host CPUs for a VM. */
  share: number;
  calibration: Calibration;
}

/** Threads per package assumed for a VM's host when neither the config nor the CPU catalog says. */
export const DEFAULT_HOST_THREADS_PER_CHIP = 64;
/** Cloud hosts are two-socket servers almost everywhere. */
export const DEFAULT_HOST_CHIPS = 2;

/**
 * Pure: the host a VM is a share of. `hostCpus` (config) wins; else two packages of the catalog's
 * core count for this CPU model; else 2 x 64 threads. x86 hosts run two threads per core whatever
 * topology the hypervisor shows the guest; ARM server cores have one. The host's memory is the
 * VM's memory per vCPU times the host's CPUs. Never smaller than the VM.
 */
export function hostOfVirtualMachine(vm: ServerSpec, opts: { hostCpus?: number; coresPerChip?: number }): { host: ServerSpec; share: number } {
  const smt = vm.vendor !== 'arm';
  const threadsPerChip = opts.coresPerChip ? opts.coresPerChip * (smt ? 2 : 1) : DEFAULT_HOST_THREADS_PER_CHIP;
  const hostThreads = Math.max(vm.threads, opts.hostCpus && opts.hostCpus > 0 ? opts.hostCpus : DEFAULT_HOST_CHIPS * threadsPerChip);
  const host: ServerSpec = {
    ...vm,
    chips: DEFAULT_HOST_CHIPS,
    threads: hostThreads,
    cores: smt ? Math.max(1, Math.round(hostThreads / 2)) : hostThreads,
    memGb: (vm.memGb / Math.max(1, vm.threads)) * hostThreads,
  };
  return { host, share: vm.threads / hostThreads };
}

/** Pure: this machine's watts at `load`, parts included, after share and calibration. */
export function machinePower(est: MachineEstimate, load: number): PowerBreakdown {
  const u = clampLoad(load);
  const base = scale(est.model.predict(est.server, u), est.share);
  const target = calibratedTotal(est, u, base.total);
  return target === base.total ? base : scale(base, base.total > 0 ? target / base.total : 0);
}

function calibratedTotal(est: MachineEstimate, u: number, baseTotal: number): number {
  const { points = [], idleWatts, maxWatts } = est.calibration;
  const at = (l: number) => est.model.predict(est.server, l).total * est.share;
  if (points.length >= 2) {
    const sorted = [...points].sort((a, b) => a.load - b.load);
    return Math.max(0, extrapolate(sorted, u));
  }
  if (points.length === 1) {
    const ref = at(points[0].load);
    return ref > 0 ? baseTotal * (points[0].watts / ref) : points[0].watts;
  }
  if (idleWatts === undefined && maxWatts === undefined) return baseTotal;
  const idle0 = at(0);
  const max0 = at(1);
  // Only one given: keep the model's idle/max ratio (the inner fallbacks are never taken: one is set).
  const idle = idleWatts ?? (maxWatts === undefined ? idle0 : (maxWatts * idle0) / max0);
  const max = maxWatts ?? (idleWatts === undefined ? max0 : (idleWatts * max0) / idle0);
  const g = max0 > idle0 ? (baseTotal - idle0) / (max0 - idle0) : u;
  return idle + (max - idle) * g;
}

/** Piecewise-linear through the points, continued along the end segments beyond them. */
function extrapolate(points: { load: number; watts: number }[], u: number): number {
  const xs = points.map((p) => p.load);
  const ys = points.map((p) => p.watts);
  const n = xs.length;
  const slope = (i: number, j: number) => (xs[j] === xs[i] ? 0 : (ys[j] - ys[i]) / (xs[j] - xs[i]));
  if (u < xs[0]) return ys[0] + slope(0, 1) * (u - xs[0]);
  if (u > xs[n - 1]) return ys[n - 1] + slope(n - 2, n - 1) * (u - xs[n - 1]);
  return interpolate(xs, ys, u);
}

function scale(p: PowerBreakdown, k: number): PowerBreakdown {
  return { total: p.total * k, cpu: p.cpu * k, memory: p.memory * k, other: p.other * k };
}

/**
 * Pure: the load the estimator uses from two /proc/stat readings' deltas: busy time over all
 * time, where time stolen by the hypervisor is neither (this VM did not run, so it drew nothing).
 */
export function loadOfInterval(d: CpuTimes): number {
  const busy = d.user + d.nice + d.system + d.irq + d.softirq;
  const all = busy + d.idle + d.iowait;
  return all > 0 ? Math.min(1, Math.max(0, busy / all)) : 0;
}
