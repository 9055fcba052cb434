// One pass over procfs and the container cgroups per refresh, producing the CPU time every
// process, container, VM and pod used in the interval. Labels (exe, container, VM) are read once
// per process, when it is first seen; afterwards only /proc/<pid>/stat is read, which keeps the
// refresh close to the cost of reading those files at all, and not even that for a process whose
// cgroup used no CPU since the previous refresh (quietCgroups.ts: one counter per cgroup instead of
// one file per sleeping process).
//
// Without the process level (`processes: false`: nothing shows processes), the informer reads no
// process it does not need: containers are found from the cgroup tree (cgroupDiscovery.ts, the
// same naming as on /proc/<pid>/cgroup), pods from their containers, and VMs from the qemu
// processes in the hypervisors' cgroups. The containers, pods and VMs, and their CPU time, are
// those the process walk gives; the sample has no processes.

import { readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { cgroupCpuSource, detectCgroupLayout, readCgroupCpuSeconds, type CgroupCpuSource, type CgroupLayout } from './cgroupCpu.js';
import { CgroupTree, type CgroupContainerDirs } from './cgroupDiscovery.js';
import { CgroupNamespace } from './cgroupNamespace.js';
import { containerOfProcess, matchContainer, parseProcCgroup, podUidFromCgroupPath, type CgroupLine, type ContainerRuntime } from './containerId.js';
import { detachedCopy, StringTable } from '../util/stringTable.js';
import { commIs, commOf, newPidStatScan, scanPidStat, PF_KTHREAD, type PidStatScan } from './pidStat.js';
import { cpuInterval, parseProcStat, type CpuTimes } from './procStat.js';
import { QuietCgroups, type ProcessCgroup } from './quietCgroups.js';
import { vmFromCmdline } from './vm.js';
import type { ContainerInfo, PodInfo, ProcessInfo, ResourceErrorKind, ResourceSample, VmInfo, WorkloadCpu } from './workloads.js';
import { errnoCode, FileReader } from '../util/fileReader.js';

/** Clock ticks per second of /proc times (USER_HZ); 100 on every Linux architecture in use. */
export const CLOCK_TICKS = 100;

export interface ResourceInformerOptions {
  procfs: string;
  sysfs: string;
  /** Kubernetes' names for containers (the pod informer); without it, names come from the container. */
  pods?: PodMetadataSource;
  /**
   * Whether the sample lists processes (default true). False: the cgroup-only mode, for when
   * nothing needs the process level; containers, pods and VMs come out the same, at a fraction of
   * the cost.
   */
  processes?: boolean;
}

/** Pod and container names, and CPU requests (cores; absent: none), by container id, as Kubernetes reports them. */
export interface PodMetadataSource {
  lookup(containerId: string): { containerName: string; pod: { uid: string; name: string; namespace: string }; cpuRequestCores?: number } | undefined;
}

interface TrackedProcess {
  info: ProcessInfo;
  startTicks: number;
  lastTicks: number;
  totalSec: number;
  seen: number; // refresh generation
  /** The last refresh at whose start its stat was known: read then or since, or skipped then (quietCgroups.ts). */
  currentAt: number;
  /** The refresh in which it is skipped: its cgroup used no CPU since the previous one. */
  quietAt: number;
  /** The refresh that first saw it (its stat was read before its cgroup file: it may have moved in between). */
  trackedAt: number;
  /** Its v2 cgroup, when its processes may be skipped (quietCgroups.ts). */
  cgroup?: ProcessCgroup;
  /**
   * Its row in the previous sample. A process that used no CPU since is handed the same row again:
   * most of thousands of processes sleep through most intervals, and a fresh object per process
   * per refresh is most of what a refresh leaves for the garbage collector (rows live one interval,
   * long enough to be promoted to the old generation).
   */
  row?: WorkloadCpu<ProcessInfo>;
  /** Where its container id was found, kept to locate the container's cgroup on first sight. */
  container?: { lines: CgroupLine[]; foundOn: CgroupLine; runtime: ContainerRuntime };
}

interface TrackedContainer {
  info: ContainerInfo;
  source?: CgroupCpuSource;
  lastUsageSec?: number;
  totalSec: number;
}

/** A container with at least one live process in this refresh, as either mode found it. */
interface LiveContainer {
  /** Its live processes' CPU time of the interval; undefined where they are not read (cgroup-only mode). */
  processSum: number | undefined;
  /** Whether all its processes started since the previous refresh (asked of a new container only). */
  started(): boolean;
  /** First sight: its labels and its cgroup's CPU file. */
  discover(): TrackedContainer;
}

/** A container already tracked, found live again: nothing to discover. */
const KNOWN: LiveContainer = {
  processSum: undefined,
  started: () => false,
  discover: () => {
    throw new Error('a tracked container is not discovered again');
  },
};

/** One hierarchy of the cgroup-only mode: the tree, and how a directory of it reads in a /proc/<pid>/cgroup file. */
interface ScannedTree {
  tree: CgroupTree;
  line: (path: string) => CgroupLine;
}

/** A container's directories, per hierarchy it was found in (v2 first). */
interface ScannedContainer {
  id: string;
  found: { t: ScannedTree; dirs: CgroupContainerDirs }[];
}

/** A running process's row of this sample: the previous one when nothing in it changed. */
function rowOf(t: TrackedProcess, cpuDeltaSec: number): WorkloadCpu<ProcessInfo> {
  const r = t.row;
  if (r && r.info === t.info && r.cpuDeltaSec === cpuDeltaSec && r.cpuTotalSec === t.totalSec) return r;
  return (t.row = { info: t.info, cpuDeltaSec, cpuTotalSec: t.totalSec, ended: false });
}

/** Errors of one refresh, by kind. */
class ErrorCounts {
  readonly byKind: Partial<Record<ResourceErrorKind, number>> = {};
  add(kind: ResourceErrorKind): void {
    this.byKind[kind] = (this.byKind[kind] ?? 0) + 1;
  }
}

export class ResourceInformer {
  private readonly reader = new FileReader();
  /** Where each /proc/<pid>/stat is scanned: one object for the whole walk. */
  private readonly scan: PidStatScan = newPidStatScan();
  private readonly layout: CgroupLayout;
  private readonly procs = new Map<number, TrackedProcess>();
  /** The cgroups of the known processes, whose counters tell which processes used no CPU. */
  private readonly quiet: QuietCgroups;
  /**
   * Tree paths of the v2 paths read from /proc/<pid>/cgroup, which the kernel writes relative to
   * this process's cgroup namespace (private in a Kubernetes pod): the cgroup-only mode's paths.
   */
  private readonly cgroupNs: CgroupNamespace;
  private readonly containers = new Map<string, TrackedContainer>();
  /** One copy of each comm, executable and container id that the processes' labels repeat. */
  private readonly strings = new StringTable();
  /** VMs with at least one live process, by id. */
  private readonly vmInfos = new Map<string, VmInfo>();
  private readonly vmTotals = new Map<string, number>();
  private readonly podTotals = new Map<string, number>();
  /** Pods with a running container, by UID: names and namespaces from the pod informer. */
  private readonly podInfos = new Map<string, PodInfo>();
  private prevCpu: CpuTimes | undefined;
  /** Uptime (ticks) read before the previous refresh listed /proc: a process started at or after it is new. */
  private prevUptimeTicks = -1;
  private generation = 0;
  /** Known processes not read in this refresh: their cgroups used no CPU. */
  private skipped = 0;

  /** `<procfs>/`, joined once: path.join per process is measurable at thousands of pids. */
  private readonly procPrefix: string;
  /** The cgroup-only mode's hierarchies, v2 first (as /proc/<pid>/cgroup's v2 line is preferred); undefined in the process mode. */
  private readonly trees: ScannedTree[] | undefined;

  constructor(private readonly opts: ResourceInformerOptions) {
    this.layout = detectCgroupLayout(opts.sysfs);
    this.quiet = new QuietCgroups(this.layout.v2Root);
    this.cgroupNs = new CgroupNamespace(opts.procfs, this.layout.v2Root);
    this.procPrefix = join(opts.procfs, '/');
    if (opts.processes === false) {
      this.trees = [];
      if (this.layout.v2Root) this.trees.push({ tree: new CgroupTree(this.layout.v2Root), line: (path) => ({ hierarchy: '0', controllers: [], path }) });
      if (this.layout.v1CpuacctRoot)
        this.trees.push({ tree: new CgroupTree(this.layout.v1CpuacctRoot), line: (path) => ({ hierarchy: 'cpuacct', controllers: ['cpuacct'], path }) });
    }
  }

  cgroupLayout(): CgroupLayout {
    return this.layout;
  }

  refresh(): ResourceSample {
    const errors = new ErrorCounts();
    const baseline = this.prevUptimeTicks < 0;
    const gen = ++this.generation;
    const uptimeTicks = this.readUptimeTicks(errors);

    // Node CPU. When /proc/stat cannot be read, the usage ratio of the interval is unknown: report
    // it as an error and bill nothing rather than guess.
    let nodeActiveCpuSec = 0;
    let nodeTotalCpuSec = 0;
    let usageRatio = 0;
    try {
      const cur = parseProcStat(this.reader.readText(join(this.opts.procfs, 'stat')));
      if (this.prevCpu) {
        const iv = cpuInterval(this.prevCpu, cur);
        nodeActiveCpuSec = iv.activeTicks / CLOCK_TICKS;
        nodeTotalCpuSec = iv.totalTicks / CLOCK_TICKS;
        usageRatio = iv.usageRatio;
      }
      this.prevCpu = cur;
    } catch {
      errors.add('proc_stat');
    }

    // Known containers' counters are read right after /proc/stat, so that node and container CPU
    // time describe the same interval even when the walk over thousands of pids takes a while.
    const usage = new Map<TrackedContainer, number | undefined>();
    for (const c of this.containers.values()) usage.set(c, this.sampleUsage(c));
    // Before any process is read: the cgroups that ran nothing since the previous refresh.
    this.quiet.sample(this.reader, gen, (pid, cg) => {
      const t = this.procs.get(pid);
      // Read in the previous refresh or skipped then, and read at least once after the one that
      // found its cgroup (a move between its first stat and cgroup reads would go unseen).
      if (t && t.cgroup === cg && t.currentAt === gen - 1 && t.trackedAt < gen - 1) t.quietAt = gen;
    });
    this.skipped = 0;
    let processes: WorkloadCpu<ProcessInfo>[];
    let containers: WorkloadCpu<ContainerInfo>[];
    let vmProcesses: WorkloadCpu<ProcessInfo>[];
    if (this.trees) {
      // Cgroup-only: the processes read are those of the VMs' cgroups; none is reported.
      const scan = this.scanCgroups(this.trees, errors);
      vmProcesses = this.refreshProcesses(scan.vmPids, gen, baseline, errors);
      containers = this.refreshContainers(this.liveFromCgroups(scan.containers, baseline, errors), usage, baseline, errors);
      processes = [];
    } else {
      processes = this.refreshProcesses(this.listProcesses(errors), gen, baseline, errors);
      containers = this.refreshContainers(this.liveFromProcesses(processes, errors), usage, baseline, errors);
      vmProcesses = processes;
    }
    const vms = this.aggregate(
      vmProcesses.filter((p) => p.info.type === 'vm'),
      (p) => this.vmInfos.get(p.info.vmId),
      this.vmTotals,
    );
    for (const v of vms) if (v.ended) this.vmInfos.delete(v.info.key);
    this.applyPodRequests(containers);
    const pods = this.aggregate(
      containers.filter((c) => c.info.podId !== ''),
      (c) => this.podInfo(c.info.podId),
      this.podTotals,
    );
    for (const p of pods) if (p.ended) this.podInfos.delete(p.info.key);
    this.prevUptimeTicks = uptimeTicks;
    return { baseline, nodeActiveCpuSec, nodeTotalCpuSec, usageRatio, processes, containers, vms, pods, errors: errors.byKind, processesSkipped: this.skipped };
  }

  private readUptimeTicks(errors: ErrorCounts): number {
    try {
      const text = this.reader.readText(join(this.opts.procfs, 'uptime'));
      const sec = Number(text.slice(0, text.indexOf(' ')));
      if (Number.isFinite(sec)) return Math.floor(sec * CLOCK_TICKS);
    } catch {
      // fall through
    }
    errors.add('proc_uptime');
    // Unknown uptime: treat every new process as pre-existing (bills nothing) rather than guess.
    return Number.MAX_SAFE_INTEGER;
  }

  private listProcesses(errors: ErrorCounts): string[] {
    try {
      return readdirSync(this.opts.procfs);
    } catch {
      errors.add('proc_list');
      return [];
    }
  }

  /** The processes `names` lists (entries of /proc; those that are not pids are skipped), and those tracked that it no longer does, ended. */
  private refreshProcesses(names: readonly string[], gen: number, baseline: boolean, errors: ErrorCounts): WorkloadCpu<ProcessInfo>[] {
    const out: WorkloadCpu<ProcessInfo>[] = [];
    for (const name of names) {
      const c0 = name.charCodeAt(0);
      if (c0 < 48 || c0 > 57) continue; // not a pid
      const pid = Number(name);
      let tracked = this.procs.get(pid);
      if (tracked?.quietAt === gen) {
        // Its cgroup ran nothing since the previous refresh: neither did it (quietCgroups.ts).
        tracked.seen = gen;
        tracked.currentAt = gen;
        this.skipped++;
        out.push(rowOf(tracked, 0));
        continue;
      }
      const st = this.scan;
      let n: number;
      try {
        n = this.reader.readRaw(`${this.procPrefix}${name}/stat`);
      } catch (err) {
        // A process that exited between the listing and the read is normal; anything else is counted apart.
        const gone = errnoCode(err) === 'ENOENT' || errnoCode(err) === 'ESRCH';
        errors.add(gone ? 'process_vanished' : 'process_unreadable');
        if (!gone) this.keepAlive(pid, gen, out);
        continue;
      }
      const bytes = this.reader.bytes();
      if (!scanPidStat(bytes, n, st)) {
        errors.add('process_parse');
        this.keepAlive(pid, gen, out);
        continue;
      }
      let reused = false;
      if (tracked && tracked.startTicks !== st.startTicks) {
        // The pid was reused: the old process ended.
        this.forget(tracked);
        out.push({ info: tracked.info, cpuDeltaSec: 0, cpuTotalSec: tracked.totalSec, ended: true });
        tracked = undefined;
        reused = true;
      }
      let deltaTicks: number;
      if (tracked) {
        // A zombie leader whose threads live on may have been left in its cgroup while they moved
        // to another (the kernel does not move an exiting task): never skipped again.
        if (tracked.cgroup && st.stateEnd - st.stateStart === 1 && bytes[st.stateStart] === 90 /* Z */) this.forget(tracked);
        deltaTicks = Math.max(0, st.cpuTicks - tracked.lastTicks);
        // A new comm means the process exec'd another program: its exe changed too.
        if (!commIs(bytes, st, tracked.info.comm)) tracked.info = { ...tracked.info, comm: this.commString(bytes, st), exe: this.readExe(pid, errors) };
      } else {
        tracked = this.track(pid, this.commString(bytes, st), st, errors);
        this.procs.set(pid, tracked);
        // A process started since the previous refresh is billed all its CPU time; one that was
        // already running when we first see it (the first refresh) is a baseline. So is one on a
        // reused pid: it started after the old process's last read, which may be older than the
        // previous refresh when that one was skipped (quietCgroups.ts).
        deltaTicks = !baseline && (reused || st.startTicks >= this.prevUptimeTicks) ? st.cpuTicks : 0;
      }
      tracked.lastTicks = st.cpuTicks;
      tracked.seen = gen;
      tracked.currentAt = gen;
      const deltaSec = deltaTicks / CLOCK_TICKS;
      tracked.totalSec += deltaSec;
      out.push(rowOf(tracked, deltaSec));
    }
    for (const [pid, t] of this.procs) {
      if (t.seen !== gen) {
        this.procs.delete(pid);
        this.forget(t);
        out.push({ info: t.info, cpuDeltaSec: 0, cpuTotalSec: t.totalSec, ended: true });
      }
    }
    return out;
  }

  /** A known process that ended: it leaves its cgroup. */
  private forget(t: TrackedProcess): void {
    if (t.cgroup) this.quiet.leave(t.cgroup);
    t.cgroup = undefined;
  }

  /**
   * A listed process whose stat could not be read this time is still alive: it keeps its state,
   * is reported with no CPU time for now (its series does not blink out), and is billed its CPU
   * time at the next good read, instead of ending and starting over.
   */
  private keepAlive(pid: number, gen: number, out: WorkloadCpu<ProcessInfo>[]): void {
    const tracked = this.procs.get(pid);
    if (!tracked) return;
    tracked.seen = gen;
    out.push(rowOf(tracked, 0));
  }

  /** First sight of a process: read its labels once. */
  private track(pid: number, comm: string, st: PidStatScan, errors: ErrorCounts): TrackedProcess {
    const kernelThread = (st.flags & PF_KTHREAD) !== 0;
    const dir = join(this.opts.procfs, String(pid));
    let exe = '';
    let containerId = '';
    let vm: VmInfo | undefined;
    let container: TrackedProcess['container'];
    let cgroup: ProcessCgroup | undefined;
    if (!kernelThread) {
      exe = this.readExe(pid, errors);
      try {
        // Tree paths from here on: the cgroup's counter, whether its processes may be skipped, the
        // container and pod it names are those the cgroup-only mode finds in the tree.
        const lines = this.cgroupNs.treeLines(parseProcCgroup(this.reader.readText(join(dir, 'cgroup'))));
        cgroup = this.quiet.join(lines);
        const c = containerOfProcess(lines);
        if (c) {
          // The table's copy: the match is a view of the file's whole text, which it would keep.
          containerId = this.strings.of(c.id);
          // Kept only to find a new container's cgroup: a process joining a tracked container keeps
          // none (its lines, ten on a hybrid host, were a good part of the memory per process), and
          // a tracked container cannot end while this process lives.
          if (!this.containers.has(c.id)) container = { lines, foundOn: c.line, runtime: c.runtime };
        }
      } catch {
        errors.add('process_cgroup');
      }
      if (!containerId) {
        try {
          const v = vmFromCmdline(splitNul(this.reader.readUtf8(join(dir, 'cmdline'))), pid);
          if (v) {
            vm = { key: v.id, ...v };
            if (!this.vmInfos.has(vm.id)) this.vmInfos.set(vm.id, vm);
          }
        } catch {
          errors.add('process_cmdline');
        }
      }
    }
    const info: ProcessInfo = {
      // A flat copy: the template makes a rope (cons string) that would keep its parts alongside.
      key: detachedCopy(`${pid}/${st.startTicks}`),
      pid,
      comm,
      exe,
      type: containerId ? 'container' : vm ? 'vm' : 'regular',
      containerId,
      vmId: vm?.id ?? '',
      kernelThread,
    };
    return { info, startTicks: st.startTicks, lastTicks: 0, totalSec: 0, seen: 0, currentAt: -1, quietAt: -1, trackedAt: this.generation, cgroup, container };
  }

  /**
   * A new comm, from the table: processes share a few dozen. Not a kernel thread's: most are
   * one of a kind (kworker/3:1, ksoftirqd/7), a few thousand on a large host, and would only make
   * the table start over.
   */
  private commString(bytes: Uint8Array, st: PidStatScan): string {
    const comm = commOf(bytes, st);
    return (st.flags & PF_KTHREAD) !== 0 ? comm : this.strings.of(comm);
  }

  private readExe(pid: number, errors: ErrorCounts): string {
    try {
      return this.strings.of(readlinkSync(`${this.procPrefix}${pid}/exe`));
    } catch (err) {
      // EACCES without CAP_SYS_PTRACE, ENOENT for zombies: keep the process, without its exe.
      if (errnoCode(err) !== 'ENOENT') errors.add('process_exe');
      return '';
    }
  }

  /** Process mode: the containers of the live processes, by the container id read on each one's first sight. */
  private liveFromProcesses(processes: WorkloadCpu<ProcessInfo>[], errors: ErrorCounts): Map<string, LiveContainer> {
    const members = new Map<string, WorkloadCpu<ProcessInfo>[]>();
    for (const p of processes) {
      if (p.ended || !p.info.containerId) continue;
      const list = members.get(p.info.containerId);
      if (list) list.push(p);
      else members.set(p.info.containerId, [p]);
    }
    const out = new Map<string, LiveContainer>();
    for (const [id, live] of members) {
      out.set(id, {
        processSum: live.reduce((s, p) => s + p.cpuDeltaSec, 0),
        started: () => live.every((p) => (this.procs.get(p.info.pid)?.startTicks ?? -1) >= this.prevUptimeTicks),
        discover: () => {
          const c = this.discoverContainer(id, live[0].info.pid, errors);
          // Found: its processes' cgroup lines are not needed again.
          for (const p of live) {
            const t = this.procs.get(p.info.pid);
            if (t) t.container = undefined;
          }
          return c;
        },
      });
    }
    return out;
  }

  /**
   * `sampled`: the cgroup readings of the containers known before this refresh's walk (over
   * processes or cgroups).
   */
  private refreshContainers(
    live: Map<string, LiveContainer>,
    sampled: Map<TrackedContainer, number | undefined>,
    baseline: boolean,
    errors: ErrorCounts,
  ): WorkloadCpu<ContainerInfo>[] {
    const out: WorkloadCpu<ContainerInfo>[] = [];
    for (const [id, l] of live) {
      let c = this.containers.get(id);
      let isNew = false;
      if (!c) {
        c = l.discover();
        this.containers.set(id, c);
        isNew = true;
      }
      if (this.opts.pods) this.applyPodMetadata(c, this.opts.pods);
      let delta: number;
      // A container discovered in this walk is read now, at its first sight.
      const usage = sampled.has(c) ? sampled.get(c) : this.sampleUsage(c);
      if (usage === undefined && l.processSum === undefined) {
        // Cgroup-only: no process times to stand in. The counter is cumulative, so the next good
        // read bills this interval too.
        errors.add('cgroup_read');
        delta = 0;
      } else if (usage === undefined) {
        if (c.source) {
          errors.add('cgroup_read');
          c.lastUsageSec = undefined;
        }
        // No cgroup accounting: the sum of its live processes is the best left (short-lived ones are missed).
        errors.add('cgroup_fallback');
        delta = l.processSum ?? 0;
      } else if (c.lastUsageSec === undefined) {
        // First reading. A container whose processes all started since the previous refresh is new:
        // its whole counter is this interval's. Otherwise it is a baseline (or, after a failed
        // read, the live processes stand in for the interval).
        const started = !baseline && l.started();
        delta = isNew ? (started ? usage : 0) : (l.processSum ?? 0);
      } else {
        delta = Math.max(0, usage - c.lastUsageSec);
      }
      if (usage !== undefined || l.processSum !== undefined) c.lastUsageSec = usage;
      c.totalSec += delta;
      out.push({ info: c.info, cpuDeltaSec: delta, cpuTotalSec: c.totalSec, ended: false });
    }
    // Containers with no live process: one last read of their cgroup (it often outlives them by a
    // moment) bills the end of their life, then they are terminated.
    for (const [id, c] of this.containers) {
      if (live.has(id)) continue;
      this.containers.delete(id);
      // Undefined when the cgroup is already removed: its last interval is not recoverable.
      const final = sampled.get(c);
      const delta = final !== undefined && c.lastUsageSec !== undefined ? Math.max(0, final - c.lastUsageSec) : 0;
      c.totalSec += delta;
      out.push({ info: c.info, cpuDeltaSec: delta, cpuTotalSec: c.totalSec, ended: true });
    }
    return out;
  }

  /** Cgroup-only: every hierarchy listed; the pids of the VMs' cgroups, in the order /proc lists them. */
  private scanCgroups(trees: ScannedTree[], errors: ErrorCounts): { containers: ScannedContainer[]; vmPids: string[] } {
    const byId = new Map<string, ScannedContainer>();
    const vmPids = new Set<number>();
    for (const t of trees) {
      const scan = t.tree.scan(() => errors.add('cgroup_read'));
      for (const [id, dirs] of scan.containers) {
        let c = byId.get(id);
        if (!c) byId.set(id, (c = { id, found: [] }));
        c.found.push({ t, dirs });
      }
      for (const dir of scan.vmDirs) {
        // A threaded cgroup's cgroup.procs cannot be read: its processes are listed by the domain above it.
        for (const pid of t.tree.procs(this.reader, dir) ?? []) vmPids.add(pid);
      }
    }
    // In the order /proc is listed (readdir sorts names as strings), as the process walk meets them.
    return { containers: [...byId.values()], vmPids: [...vmPids].map(String).sort() };
  }

  /**
   * Cgroup-only: the containers whose cgroups hold a process. A known one needs one non-empty
   * cgroup.procs; a new one is read as the process walk would first see it: the first of its
   * processes in /proc's order (names sorted as strings) gives its name and, by the cgroup it is
   * in, its CPU file; the start times of its processes tell whether it started in this interval.
   */
  private liveFromCgroups(scanned: ScannedContainer[], baseline: boolean, errors: ErrorCounts): Map<string, LiveContainer> {
    const out = new Map<string, LiveContainer>();
    for (const s of scanned) {
      if (this.containers.has(s.id)) {
        if (s.found.some((f) => f.dirs.dirs.some((d) => f.t.tree.holdsProcesses(this.reader, d)))) out.set(s.id, KNOWN);
        continue;
      }
      // Every process of the container, with the cgroup it is in (per hierarchy; v2 first).
      const where = new Map<number, CgroupLine[]>();
      for (const f of s.found) {
        for (const d of f.dirs.dirs) {
          for (const pid of f.t.tree.procs(this.reader, d) ?? []) {
            const lines = where.get(pid);
            if (lines) lines.push(f.t.line(d));
            else where.set(pid, [f.t.line(d)]);
          }
        }
      }
      // The processes the walk over /proc would count: readable, and no kernel thread.
      const starts: number[] = [];
      let first: number | undefined;
      for (const name of [...where.keys()].map(String).sort()) {
        const pid = Number(name);
        const st = this.scan;
        try {
          // readRaw first: it may replace the buffer bytes() returns.
          const n = this.reader.readRaw(`${this.procPrefix}${name}/stat`);
          if (!scanPidStat(this.reader.bytes(), n, st)) continue;
        } catch {
          continue; // gone since its cgroup was read
        }
        if ((st.flags & PF_KTHREAD) !== 0) continue;
        first ??= pid;
        starts.push(st.startTicks);
      }
      if (first === undefined) continue;
      const pid = first;
      const lines = where.get(pid) ?? [];
      out.set(s.id, {
        processSum: undefined,
        started: () => !baseline && starts.every((t) => t >= this.prevUptimeTicks),
        discover: () => this.discoverCgroupContainer(s.id, lines, pid, errors),
      });
    }
    return out;
  }

  /**
   * Kubernetes' container name and pod for a container, when the pod informer knows it. Until it
   * does (and after it forgets a pod), the container keeps the labels it had.
   */
  private applyPodMetadata(c: TrackedContainer, pods: PodMetadataSource): void {
    const meta = pods.lookup(c.info.id);
    if (!meta) return;
    const { name, namespace } = meta.pod;
    // The cgroup's pod UID wins where there is one: for a static pod the API server reports its
    // mirror pod's UID, and the pod must not change identity between the two modes.
    const uid = c.info.podId || meta.pod.uid;
    const request = meta.cpuRequestCores ?? 0;
    // A new object only when something changed: collectors cache labels per info object.
    if (c.info.name !== meta.containerName || c.info.podId !== uid || c.info.cpuRequestCores !== request) {
      c.info = { ...c.info, name: meta.containerName, podId: uid, cpuRequestCores: request };
    }
    const pod = this.podInfos.get(uid);
    if (!pod || pod.name !== name || pod.namespace !== namespace) this.podInfos.set(uid, { key: uid, id: uid, name, namespace, cpuRequestCores: pod?.cpuRequestCores ?? 0 });
  }

  /**
   * Each pod's CPU request: the sum over its running containers in this sample (over all of them
   * when none is running: the pod ends in this interval). A new info object only when it changed.
   */
  private applyPodRequests(containers: readonly WorkloadCpu<ContainerInfo>[]): void {
    const sums = new Map<string, { running: number; all: number; anyRunning: boolean }>();
    for (const c of containers) {
      if (c.info.podId === '') continue;
      let s = sums.get(c.info.podId);
      if (!s) sums.set(c.info.podId, (s = { running: 0, all: 0, anyRunning: false }));
      s.all += c.info.cpuRequestCores;
      if (!c.ended) {
        s.running += c.info.cpuRequestCores;
        s.anyRunning = true;
      }
    }
    for (const [uid, s] of sums) {
      // Rounded to nanocores, Kubernetes' finest unit: the same requests summed in another order give the same value.
      const request = Math.round((s.anyRunning ? s.running : s.all) * 1e9) / 1e9;
      const info = this.podInfo(uid);
      if (info.cpuRequestCores !== request) this.podInfos.set(uid, { ...info, cpuRequestCores: request });
    }
  }

  /** One info object per pod while its labels and request stay the same (collectors cache labels per object). */
  private podInfo(uid: string): PodInfo {
    let info = this.podInfos.get(uid);
    if (!info) {
      info = { key: uid, id: uid, name: '', namespace: '', cpuRequestCores: 0 };
      this.podInfos.set(uid, info);
    }
    return info;
  }

  /** The container's cgroup CPU seconds, or undefined when it has no cgroup file or it cannot be read. */
  private sampleUsage(c: TrackedContainer): number | undefined {
    if (!c.source) return undefined;
    try {
      return readCgroupCpuSeconds(this.reader, c.source);
    } catch {
      return undefined;
    }
  }

  /**
   * Cgroup-only: a container first seen in the cgroup tree, labelled as discoverContainer labels
   * one from its first process: `lines` are where `pid` is, the v2 directory first.
   */
  private discoverCgroupContainer(id: string, lines: CgroupLine[], pid: number, errors: ErrorCounts): TrackedContainer {
    const foundOn = lines[0];
    const source = foundOn ? cgroupCpuSource(this.layout, foundOn, lines, id) : undefined;
    const podId = foundOn ? (podUidFromCgroupPath(foundOn.path) ?? '') : '';
    const runtime = (foundOn && matchContainer(foundOn.path)?.runtime) ?? 'unknown';
    const info: ContainerInfo = { key: id, id, name: this.containerName(pid, errors), runtime, podId, cpuRequestCores: 0 };
    return { info, source, totalSec: 0 };
  }

  private discoverContainer(id: string, pid: number, errors: ErrorCounts): TrackedContainer {
    const src = this.procs.get(pid)?.container;
    const source = src ? cgroupCpuSource(this.layout, src.foundOn, src.lines, id) : undefined;
    const podId = src ? (podUidFromCgroupPath(src.foundOn.path) ?? '') : '';
    const runtime = src?.runtime ?? 'unknown';
    const info: ContainerInfo = { key: id, id, name: this.containerName(pid, errors), runtime, podId, cpuRequestCores: 0 };
    return { info, source, totalSec: 0 };
  }

  /** Outside Kubernetes: CONTAINER_NAME or HOSTNAME from its environment, else --name on its command line. */
  private containerName(pid: number, errors: ErrorCounts): string {
    const dir = join(this.opts.procfs, String(pid));
    try {
      const env = splitNul(this.reader.readUtf8(join(dir, 'environ')));
      const get = (k: string) => env.find((e) => e.startsWith(`${k}=`))?.slice(k.length + 1);
      const fromEnv = get('CONTAINER_NAME') || get('HOSTNAME');
      if (fromEnv) return fromEnv;
    } catch {
      errors.add('process_environ');
    }
    try {
      const argv = splitNul(this.reader.readUtf8(join(dir, 'cmdline')));
      for (let i = 0; i < argv.length; i++) {
        if (argv[i] === '--name' && i + 1 < argv.length) return argv[i + 1];
        if (argv[i].startsWith('--name=')) return argv[i].slice('--name='.length);
      }
    } catch {
      // no name then
    }
    return '';
  }

  /** Sums member workloads into a parent level (VMs from processes, pods from containers). */
  private aggregate<M extends { key: string }, P extends { key: string }>(
    members: WorkloadCpu<M>[],
    parentOf: (m: WorkloadCpu<M>) => P | undefined,
    totals: Map<string, number>,
  ): WorkloadCpu<P>[] {
    const acc = new Map<string, { info: P; delta: number; running: boolean }>();
    for (const m of members) {
      const parent = parentOf(m);
      if (!parent) continue;
      const a = acc.get(parent.key);
      if (a) {
        a.delta += m.cpuDeltaSec;
        a.running ||= !m.ended;
      } else acc.set(parent.key, { info: parent, delta: m.cpuDeltaSec, running: !m.ended });
    }
    const out: WorkloadCpu<P>[] = [];
    for (const [key, a] of acc) {
      const total = (totals.get(key) ?? 0) + a.delta;
      if (a.running) totals.set(key, total);
      else totals.delete(key);
      out.push({ info: a.info, cpuDeltaSec: a.delta, cpuTotalSec: total, ended: !a.running });
    }
    return out;
  }
}

function splitNul(s: string): string[] {
  const parts = s.split('\0');
  if (parts.length && parts[parts.length - 1] === '') parts.pop();
  return parts;
}
