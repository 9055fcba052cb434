// Containers and VMs found from the cgroup tree, for the informer's cgroup-only mode (nothing
// needs the process level): one readdir per cgroup directory instead of one read per process.
// A directory is a container's by the runtimes' naming that containerId.ts matches on
// /proc/<pid>/cgroup, applied to the directory's own path (the tree path the process mode also
// makes of what it reads there from a private cgroup namespace, cgroupNamespace.ts), so both
// modes name the same containers: the deepest match wins, and a sub-directory with no deeper
// match (a container that runs systemd, a runtime's payload group) belongs to the container above
// it. VMs run where the hypervisors put them: libvirt's machine.slice (systemd) or machine/
// (cgroupfs), Proxmox's qemu.slice.

import { readdirSync, statSync } from 'node:fs';
import { matchContainer, type ContainerRuntime } from './containerId.js';
import { errnoCode, type FileReader } from '../util/fileReader.js';

/** What a cgroup directory is, from its path under the hierarchy's root (`/system.slice/docker-<id>.scope`). */
export type CgroupDirKind =
  | { kind: 'container'; id: string; runtime: ContainerRuntime; /** The directory whose name holds the id: the container's own cgroup. */ ownDir: string }
  | { kind: 'vm' }
  | { kind: 'other' };

const OTHER: CgroupDirKind = { kind: 'other' };
const VM: CgroupDirKind = { kind: 'vm' };
const VM_ROOTS = /^\/(?:machine\.slice|machine|qemu\.slice)\//;

/** Pure: the container a cgroup directory belongs to (by containerId.ts' patterns), else whether VMs run there. */
export function classifyCgroupDir(path: string): CgroupDirKind {
  const m = matchContainer(path);
  if (m) {
    const end = path.indexOf('/', m.depth);
    return { kind: 'container', id: m.id, runtime: m.runtime, ownDir: end < 0 ? path : path.slice(0, end) };
  }
  return VM_ROOTS.test(path) ? VM : OTHER;
}

/** Pure: the pids of a cgroup.procs file (one a line). */
export function parseCgroupProcs(text: string): number[] {
  const out: number[] = [];
  let v = 0;
  let digits = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      v = v * 10 + (c - 48);
      digits++;
    } else {
      if (digits > 0) out.push(v);
      v = 0;
      digits = 0;
    }
  }
  if (digits > 0) out.push(v);
  return out;
}

/** One container's directories in one hierarchy: its own first, then the sub-directories that are still its own. */
export interface CgroupContainerDirs {
  runtime: ContainerRuntime;
  dirs: string[];
}

export interface CgroupScan {
  /** By container id. */
  containers: Map<string, CgroupContainerDirs>;
  /** Directories where VMs run (none of them a container's). */
  vmDirs: string[];
}

/**
 * One cgroup hierarchy (the v2 tree, or v1's cpuacct tree), listed directory by directory at
 * each scan (a leaf is only stat'ed). What each directory is follows from its path alone, so it
 * is worked out once and kept while the directory exists.
 */
export class CgroupTree {
  private kinds = new Map<string, CgroupDirKind>();

  constructor(readonly root: string) {}

  /** Lists the tree. `onError` is told of a directory that could not be listed (not of one removed meanwhile). */
  scan(onError: () => void): CgroupScan {
    const containers = new Map<string, CgroupContainerDirs>();
    const vmDirs: string[] = [];
    const kinds = new Map<string, CgroupDirKind>();
    const stack = [''];
    for (let rel = stack.pop(); rel !== undefined; rel = stack.pop()) {
      let entries;
      try {
        entries = readdirSync(this.root + rel, { withFileTypes: true });
      } catch (err) {
        if (errnoCode(err) !== 'ENOENT') onError();
        continue;
      }
      for (const e of entries) {
        if (!e.isDirectory()) continue;
        const path = `${rel}/${e.name}`;
        let kind = this.kinds.get(path);
        if (!kind) kind = classifyCgroupDir(path);
        kinds.set(path, kind);
        // A directory's link count is 2 plus its sub-directories (cgroupfs keeps it exact): a
        // leaf, most of the tree, costs a stat instead of a listing. Gone meanwhile: skipped.
        const links = linkCount(this.root + path);
        if (links === undefined) continue;
        if (links !== 2) stack.push(path);
        if (kind.kind === 'vm') vmDirs.push(path);
        else if (kind.kind === 'container') {
          const c = containers.get(kind.id);
          if (!c) containers.set(kind.id, { runtime: kind.runtime, dirs: [path] });
          else if (path === kind.ownDir) c.dirs.unshift(path);
          else c.dirs.push(path);
        }
      }
    }
    this.kinds = kinds;
    return { containers, vmDirs };
  }

  /** Whether one directory of the tree holds a process (read as the pid list would be, without parsing it). */
  holdsProcesses(reader: FileReader, dir: string): boolean {
    try {
      return /\d/.test(reader.readText(`${this.root}${dir}/cgroup.procs`));
    } catch {
      return false;
    }
  }

  /** The pids in one directory of the tree; empty when it is gone, undefined when it cannot be read. */
  procs(reader: FileReader, dir: string): number[] | undefined {
    try {
      return parseCgroupProcs(reader.readText(`${this.root}${dir}/cgroup.procs`));
    } catch (err) {
      return errnoCode(err) === 'ENOENT' ? [] : undefined;
    }
  }
}

/** A directory's link count; undefined when it is gone, 0 when it cannot be stat'ed (then it is listed, which reports why). */
function linkCount(path: string): number | undefined {
  try {
    return statSync(path, { throwIfNoEntry: false })?.nlink;
  } catch {
    return 0;
  }
}
