// Where a cgroup v2 path read from /proc/<pid>/cgroup is in the mounted v2 tree.
//
// The kernel writes the paths of /proc/<pid>/cgroup relative to the cgroup namespace of the
// process that READS the file, not of the one it describes: from the reader's namespace root, one
// `/..` per level up to the deepest ancestor it shares with the target's cgroup, then the names
// down from there (kernfs_path_from_node). A cgroup under the root reads as a plain path from it
// (`/` is the root itself). On cgroup v2 Kubernetes nodes containerd gives every container, this
// exporter's own included, a private namespace rooted at the container's cgroup, so with hostPID
// the exporter reads another pod's container as
// `/../../../kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod<uid>.slice/cri-containerd-<id>.scope`
// and its own processes as `/`; while the v2 tree it reads counters from (the host's /sys mounted)
// shows every cgroup by its path from the host's root. The cgroup-only mode (cgroupDiscovery.ts)
// names and reads containers by those tree paths, so the process mode has to map its paths to the
// same ones to find the same containers, their pods and their counters.
//
// With N the tree path of the namespace root, `/..`×k + R is N without its last k names, then R
// (k above N's depth climbs out of the tree: no path). N is found once, at the first path asked
// for, at a startup-only cost; a new process then costs string work:
//   - our own v2 line (<procfs>/self/cgroup: `self` is the reading process in whatever pid
//     namespace procfs numbers it) is our cgroup S relative to N: `/` when we run in the root of
//     our namespace, as a container's main process does;
//   - if the tree's directory at that very path lists us in its cgroup.procs, N is the tree's root:
//     no private namespace (or one rooted where the tree was mounted), paths are taken as they
//     are. A process is in exactly one v2 cgroup, so no other directory can list it. One read.
//   - otherwise N is searched for, level by level from the tree's root: the directory X where
//     X + S lists us. cgroup.procs numbers pids in the pid namespace of its reader (0 for those
//     outside it), so we are process.pid there, which `self` under a procfs of another pid
//     namespace is not. N is at least as deep as any path climbs: pid 1's line (the node's init,
//     in the tree's root or a top-level cgroup such as systemd's /init.scope, so it climbs all the
//     way up: `/../../..` or `/../../../init.scope`) usually gives N's depth exactly, and the search
//     reads no cgroup.procs above it. Where pid 1 shares a deeper ancestor with us, its count is
//     short of N's depth and the search goes on down: it is a bound, not the depth.
//   - when N cannot be found (no v2 tree, our own line unreadable, our cgroup outside our own
//     namespace's root, no directory listing us), a path that climbs has no place in the tree, and
//     one that does not is taken as it is: callers then do without that cgroup's counter, as before.
// N itself does not move: it is fixed when the namespace is made, whichever cgroup we move to later.
//
// v1 hierarchies are namespaced the same way, each with its own root; but Docker and containerd
// give containers a private cgroup namespace by default only on v2-only (unified) hosts, so v1
// paths are left as read (one that climbs is never joined to a mount point).

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseCgroupProcs } from './cgroupDiscovery.js';
import { parseProcCgroup, type CgroupLine } from './containerId.js';

/** Pure: whether a path read from /proc/<pid>/cgroup climbs out of the reader's namespace (`/..`, `/../x`): as it stands, no path under a mounted tree. */
export function outsideNamespace(path: string): boolean {
  return path === '/..' || path.startsWith('/../');
}

/** A path as /proc/<pid>/cgroup writes it: how many levels it first climbs, then the names down. */
export interface NamespacePath {
  up: number;
  names: string[];
}

/** Pure: a /proc/<pid>/cgroup path taken apart; undefined for one the kernel does not write (not absolute, `..` after a name, `.`). */
export function splitNamespacePath(path: string): NamespacePath | undefined {
  if (!path.startsWith('/')) return undefined;
  let up = 0;
  const names: string[] = [];
  for (const c of path.split('/')) {
    if (c === '') continue;
    if (c === '.') return undefined;
    if (c === '..') {
      if (names.length > 0) return undefined;
      up++;
    } else names.push(c);
  }
  return { up, names };
}

/**
 * Pure: the tree path (`/a/b`, `/` the tree's root) of `path`, read in a namespace whose root is
 * at `root` (its names from the tree's root, [] for the root itself); undefined for a path that
 * climbs above the tree's root, or that the kernel does not write.
 */
export function mapNamespacePath(root: readonly string[], path: string): string | undefined {
  const p = splitNamespacePath(path);
  if (!p || p.up > root.length) return undefined;
  const names = root.slice(0, root.length - p.up).concat(p.names);
  return `/${names.join('/')}`;
}

/** The v2 paths of /proc/<pid>/cgroup files as paths under the mounted v2 tree, for the namespace this process reads them in. */
export class CgroupNamespace {
  /** The names of our namespace's root under the tree's root: null until the first path; undefined when it could not be found. */
  private root: readonly string[] | null | undefined = null;

  /**
   * `procfs`: where /proc/<pid>/cgroup files are read; `v2Root`: where the v2 tree is mounted
   * (undefined: none); `pid`: this process as cgroup.procs files read by it number it.
   */
  constructor(
    private readonly procfs: string,
    private readonly v2Root: string | undefined,
    private readonly pid: number = process.pid,
  ) {}

  /** The tree path of a v2 path read from /proc/<pid>/cgroup; undefined where it has none. */
  treePath(path: string): string | undefined {
    if (this.root === null) this.root = this.resolve(path);
    if (this.root === undefined || this.root.length === 0) return outsideNamespace(path) ? undefined : path;
    return mapNamespacePath(this.root, path);
  }

  /**
   * The lines of one /proc/<pid>/cgroup file with the v2 line's path made its tree path. A v2 path
   * with no tree path is kept as read (a container id is still found in it; cgroupCpu.ts and
   * quietCgroups.ts never join a path that climbs).
   */
  treeLines(lines: CgroupLine[]): CgroupLine[] {
    const i = lines.findIndex((l) => l.hierarchy === '0');
    if (i < 0) return lines;
    const path = this.treePath(lines[i].path);
    if (path === undefined || path === lines[i].path) return lines;
    const out = lines.slice();
    out[i] = { ...lines[i], path };
    return out;
  }

  /** Our namespace root's names under the tree's root, found once (see the top of this file); `first` is the path that asked. */
  private resolve(first: string): readonly string[] | undefined {
    if (this.v2Root === undefined) return undefined;
    const own = this.v2Line('self');
    // Our cgroup outside our own namespace's root (we were moved out after it was made): the
    // names of the root below the shared ancestor are written nowhere.
    if (!own || own.up > 0) return undefined;
    if (this.lists('', own.names)) return [];
    const min = Math.max(splitNamespacePath(first)?.up ?? 0, this.v2Line('1')?.up ?? 0, 1);
    return this.search(own.names, min);
  }

  /** The v2 line of <procfs>/<pid>/cgroup, taken apart; undefined when it cannot be read. */
  private v2Line(pid: string): NamespacePath | undefined {
    try {
      const line = parseProcCgroup(readFileSync(join(this.procfs, pid, 'cgroup'), 'latin1')).find((l) => l.hierarchy === '0');
      return line && splitNamespacePath(line.path);
    } catch {
      return undefined;
    }
  }

  /** Whether the tree's directory `dir` + `own` lists this process. */
  private lists(dir: string, own: readonly string[]): boolean {
    try {
      return parseCgroupProcs(readFileSync(join(this.v2Root ?? '', dir, ...own, 'cgroup.procs'), 'latin1')).includes(this.pid);
    } catch {
      return false;
    }
  }

  /** Breadth first from the tree's root: the first directory at depth `min` or deeper that is our namespace's root. */
  private search(own: readonly string[], min: number): readonly string[] | undefined {
    const root = this.v2Root ?? '';
    let level = [''];
    for (let depth = 0; level.length > 0; depth++) {
      if (depth >= min) {
        for (const dir of level) if (this.lists(dir, own)) return dir.split('/').slice(1);
      }
      const next: string[] = [];
      for (const dir of level) {
        let entries;
        try {
          entries = readdirSync(root + dir, { withFileTypes: true });
        } catch {
          continue; // removed meanwhile, or unreadable: not ours (we are in ours)
        }
        for (const e of entries) if (e.isDirectory()) next.push(`${dir}/${e.name}`);
      }
      level = next;
    }
    return undefined;
  }
}
