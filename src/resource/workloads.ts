// What the resource layer knows about each workload: identity and labels, and its CPU time.

import type { ContainerRuntime } from './containerId.js';

export type ProcessType = 'regular' | 'container' | 'vm';

export interface ProcessInfo {
  /** Unique for the life of the exporter: pid plus start time, so a reused pid is a new process. */
  readonly key: string;
  readonly pid: number;
  readonly comm: string;
  readonly exe: string;
  readonly type: ProcessType;
  readonly containerId: string;
  readonly vmId: string;
  readonly kernelThread: boolean;
}

export interface ContainerInfo {
  readonly key: string; // the container id
  readonly id: string;
  readonly name: string;
  readonly runtime: ContainerRuntime;
  readonly podId: string;
  /**
   * Its Kubernetes CPU request in cores; 0 when it has none or it is not known (no pod informer, a
   * container outside Kubernetes). Not part of its identity: a request that changes (in-place
   * resize) gives a new info object with the same key.
   */
  readonly cpuRequestCores: number;
}

export interface VmInfo {
  readonly key: string;
  readonly id: string;
  readonly name: string;
  readonly hypervisor: string;
}

export interface PodInfo {
  readonly key: string; // the pod UID
  readonly id: string;
  readonly name: string;
  readonly namespace: string;
  /**
   * The sum of cpuRequestCores over the pod's containers in this sample that are running (when all
   * of them ended in this interval: over those). Not part of its identity, like a container's.
   */
  readonly cpuRequestCores: number;
}

export interface WorkloadCpu<I> {
  readonly info: I;
  /** CPU seconds used in this interval (all CPUs). */
  readonly cpuDeltaSec: number;
  /** CPU seconds used since the exporter first saw it (or since it started, if later). */
  readonly cpuTotalSec: number;
  /** True when the workload ended in this interval; it is billed its last delta, then terminated. */
  readonly ended: boolean;
}

/** Problems the resource layer counts during a refresh; none of them stops it. */
export const RESOURCE_ERROR_KINDS = [
  'proc_stat', // /proc/stat unreadable: the interval has no usage ratio
  'proc_uptime',
  'proc_list', // /proc could not be listed
  'process_vanished', // a process exited between the listing and the read (normal)
  'process_unreadable',
  'process_parse',
  'process_cgroup',
  'process_cmdline',
  'process_exe',
  'process_environ',
  'cgroup_read',
  'cgroup_fallback', // container CPU taken from its processes
] as const;
export type ResourceErrorKind = (typeof RESOURCE_ERROR_KINDS)[number];

export interface ResourceSample {
  /** True on the first refresh: nothing is billed, only baselines are taken. */
  readonly baseline: boolean;
  /** Node CPU seconds of the interval, over all CPUs. */
  readonly nodeActiveCpuSec: number;
  readonly nodeTotalCpuSec: number;
  /** active / total CPU time of the interval, in [0, 1]. */
  readonly usageRatio: number;
  readonly processes: WorkloadCpu<ProcessInfo>[];
  readonly containers: WorkloadCpu<ContainerInfo>[];
  readonly vms: WorkloadCpu<VmInfo>[];
  readonly pods: WorkloadCpu<PodInfo>[];
  /** Problems met during this refresh, by kind; none of them stops it. */
  readonly errors: Partial<Record<ResourceErrorKind, number>>;
  /** Known processes whose stat was not read: their cgroups used no CPU since the previous refresh (quietCgroups.ts). */
  readonly processesSkipped?: number;
}
