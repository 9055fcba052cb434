// Which known processes need no /proc/<pid>/stat read in a refresh: those in a cgroup v2 cgroup
// whose CPU counter did not move since the previous refresh. Most of a node's processes sleep
// through most intervals, and they sleep in a few hundred cgroups (services, containers), so one
// counter per cgroup stands in for thousands of stat files.
//
// Why it is exact. The kernel charges a task's run time to its process's times and to its v2
// cgroup's `cpu.stat usage_usec` in the same place (update_curr), and reading cpu.stat flushes the
// per-CPU counts first, so a cgroup whose counter read the same at the start of two refreshes ran
// nothing in between: none of its processes used CPU time, exec'd (a new comm), renamed itself
// (only a process can rename itself) or exited (exit runs in the process). A process is skipped
// only when
//   - its stat was known at the start of the previous refresh or later (read then, or skipped
//     then by this same rule), so its last value is still its value; and it was read once after
//     the refresh that first saw it (its stat is read before its cgroup file: a move in between
//     would go unseen);
//   - its cgroup read the same at the start of the previous refresh and of this one;
//   - its cgroup's cgroup.procs lists it now: a process that moved, or a pid reused by another
//     process elsewhere, is read as before;
//   - the cgroup is a domain (`cgroup.type` domain or domain threaded): in a threaded cgroup a
//     process's threads may run in sibling cgroups, whose time this counter does not see.
// The root cgroup (kernel threads, whatever runs outside any service), v1 hierarchies (where a
// thread can sit in another cgroup than its process), a cgroup without a `cgroup.type`, a path
// that still climbs out of the exporter's cgroup namespace (`/../..`: the informer makes tree paths
// of the paths it reads in a private namespace, cgroupNamespace.ts, and keeps as read one it could
// not place) and a zombie leader (the kernel leaves an exiting task behind when its threads are
// moved) are never skipped.
// What is left: a process that moves out, runs, and moves back within one interval has that time
// billed at its next read, or lost if it ends before one.

import { join } from 'node:path';
import { parseCgroupCpuSeconds } from './cgroupCpu.js';
import { parseCgroupProcs } from './cgroupDiscovery.js';
import { outsideNamespace } from './cgroupNamespace.js';
import type { CgroupLine } from './containerId.js';
import type { FileReader } from '../util/fileReader.js';

/** A v2 cgroup that holds known processes. */
export interface ProcessCgroup {
  /** Its directory, under the v2 hierarchy's mount point. */
  readonly dir: string;
  /** usage_usec (as seconds) read at the start of refresh `sampledAt`; undefined when it could not be read. */
  usage: number | undefined;
  sampledAt: number;
  /** Known processes that are in it. */
  members: number;
}

export class QuietCgroups {
  private readonly byDir = new Map<string, ProcessCgroup>();

  /** `v2Root`: where the v2 hierarchy is mounted (on hybrid hosts, its `unified` mount); undefined: none, nothing is ever skipped. */
  constructor(private readonly v2Root: string | undefined) {}

  /** Cgroups held. */
  get size(): number {
    return this.byDir.size;
  }

  /**
   * The cgroup of a process first seen, from its /proc/<pid>/cgroup lines (the v2 path a tree
   * path, cgroupNamespace.ts), counted as one of its members; undefined where its processes are
   * never skipped (no v2 line, the root cgroup, a path that climbs out of the namespace).
   */
  join(lines: readonly CgroupLine[]): ProcessCgroup | undefined {
    if (this.v2Root === undefined) return undefined;
    const line = lines.find((l) => l.hierarchy === '0');
    if (!line || line.path === '/' || line.path === '' || outsideNamespace(line.path)) return undefined;
    const dir = join(this.v2Root, line.path);
    let cg = this.byDir.get(dir);
    // Not read now: its first reading is taken at the start of the next refresh, before any of its
    // processes is read, so that a reading never follows a member's stat it vouches for.
    if (!cg) this.byDir.set(dir, (cg = { dir, usage: undefined, sampledAt: -1, members: 0 }));
    cg.members++;
    return cg;
  }

  /** A member ended (or its pid was reused); the cgroup is dropped with its last member. */
  leave(cg: ProcessCgroup): void {
    if (--cg.members <= 0) this.byDir.delete(cg.dir);
  }

  /**
   * At the start of refresh `gen`, before any process is read: reads every cgroup's counter, and
   * for each one that used no CPU since the start of refresh `gen - 1`, calls `quiet` for every
   * pid its cgroup.procs lists (the caller checks the pid is the member it knows, and current).
   */
  sample(reader: FileReader, gen: number, quiet: (pid: number, cg: ProcessCgroup) => void): void {
    for (const cg of this.byDir.values()) {
      let usage: number | undefined;
      try {
        usage = parseCgroupCpuSeconds(reader.readText(`${cg.dir}/cpu.stat`), 'v2');
      } catch {
        usage = undefined; // gone or unreadable: its processes are read
      }
      const still = usage !== undefined && cg.usage === usage && cg.sampledAt === gen - 1;
      cg.usage = usage;
      cg.sampledAt = gen;
      if (!still || !this.isDomain(reader, cg)) continue;
      let pids: number[];
      try {
        pids = parseCgroupProcs(reader.readText(`${cg.dir}/cgroup.procs`));
      } catch {
        continue;
      }
      for (const pid of pids) quiet(pid, cg);
    }
  }

  /** Read each time: a domain with processes can be made threaded at any time. */
  private isDomain(reader: FileReader, cg: ProcessCgroup): boolean {
    try {
      const type = reader.readText(`${cg.dir}/cgroup.type`).trim();
      return type === 'domain' || type === 'domain threaded';
    } catch {
      return false;
    }
  }
}
