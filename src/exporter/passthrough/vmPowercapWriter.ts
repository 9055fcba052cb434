// vm.passthrough on a hypervisor: after every refresh, each running VM's energy written as a
// powercap tree under <dir>/<vm name>/ (vmPowercapTree.ts), which the guest mounts read-only
// (virtiofs) and reads as RAPL. A snapshot listener: it never throws into the monitor, and it
// writes only the counters that changed, so 200 mostly idle VMs cost a few renames a refresh.
//
// Folders already in `dir` at start are left alone: the dir may be shared with Scaphandre, or
// hold a previous run's trees, and nothing tells ours from someone else's. One is adopted (written
// into, and removed after its VM ends) only when a running VM of ours has its name, since then it
// is that VM's folder whoever made it. A folder of a VM that ended while we were down stays.

import { chmodSync, closeSync, fchmodSync, lstatSync, mkdirSync, openSync, renameSync, rmdirSync, rmSync, unlinkSync, writeSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import type { Logger } from '../../logger/logger.js';
import type { Snapshot, WorkloadEnergy } from '../../monitor/snapshot.js';
import type { VmInfo } from '../../resource/workloads.js';
import { errnoCode } from '../../util/fileReader.js';
import { TREE_ENTRIES, treeFiles, treeZones, vmCounters, vmFolderName, type TreeZones } from './vmPowercapTree.js';

// World-readable: the guest's virtiofsd and qemu run as users other than ours.
const FILE_MODE = 0o644;
const DIR_MODE = 0o755;
/** Every file of a tree, relative to the VM's folder: the only files removal deletes. */
const TREE_FILES = TREE_ENTRIES.flatMap((e) => ['name', 'max_energy_range_uj', 'energy_uj'].map((f) => `${e.dir}/${f}`));

export interface VmPowercapWriterOptions {
  /** vm.passthrough.dir: one folder per VM name below it; created when missing. */
  dir: string;
  /** vm.passthrough.keep: how long an ended VM's folder stays, ms; 0: until the next snapshot. */
  keepMs: number;
  /** Snapshot.zones' names, in order: which zones feed package, core and dram. */
  zoneNames: readonly string[];
  logger: Logger;
  /** Monotonic ms; injectable for tests. */
  clock?: () => number;
}

/** A VM's folder, as we last wrote it. */
interface Folder {
  readonly name: string;
  readonly path: string;
  /** The VM writing it (VmInfo.key). */
  owner: VmInfo;
  /** Content last written per file (relative path): what is on disk, so unchanged files are skipped. */
  readonly written: Map<string, string>;
  /** Device and inode of the folder and each entry folder at claim, checked again before every write. */
  readonly ids: readonly string[];
  /** When its VM was first seen not running (clock ms), and in which of our passes. */
  endedAt?: number;
  endedPass?: number;
}

export class VmPowercapWriter {
  private readonly dir: string;
  private readonly keepMs: number;
  private readonly zones: TreeZones;
  private readonly logger: Logger;
  private readonly clock: () => number;
  /** By folder name. */
  private readonly folders = new Map<string, Folder>();
  /** Kinds of problem already logged, per VM key (and '' for the dir itself): each is logged once. */
  private readonly logged = new Map<string, Set<string>>();
  private dirReady = false;
  private errorCount = 0;
  private pass = 0;
  private closed = false;

  constructor(opts: VmPowercapWriterOptions) {
    this.dir = opts.dir;
    this.keepMs = opts.keepMs;
    this.zones = treeZones(opts.zoneNames);
    this.logger = opts.logger;
    this.clock = opts.clock ?? (() => performance.now());
    if (this.zones.package < 0) {
      this.logger.warn("vm.passthrough: the host's meter has no package zone; the VMs' package counters stay at 0", { zones: opts.zoneNames.join(',') });
    }
  }

  /** Problems since start (a tree not written in a refresh, a folder not removed, a VM whose name cannot be a folder), for a metric. */
  errors(): number {
    return this.errorCount;
  }

  /** Stops writing. The trees stay: running guests keep reading their last counters until we start again. */
  close(): void {
    this.closed = true;
  }

  readonly onSnapshot = (s: Snapshot): void => {
    if (this.closed) return;
    try {
      this.write(s);
    } catch (err) {
      // A bug rather than an I/O error (those are caught per VM): logged, never thrown into the monitor.
      this.problem('', 'internal', "vm.passthrough: writing the VMs' trees failed", { error: err });
    }
  };

  private write(s: Snapshot): void {
    this.pass++;
    const now = this.clock();
    if (!this.ensureDir()) return;
    const present = new Set<string>();
    // billed first: a VM that ended this interval is there with its last energy even when the
    // monitor keeps no terminated workload; workloads then adds the running ones billed nothing.
    for (const w of [...s.vms.billed, ...s.vms.workloads]) {
      if (present.has(w.info.key)) continue;
      present.add(w.info.key);
      this.writeVm(w, now);
    }
    for (const f of this.folders.values()) {
      if (f.endedAt === undefined && !present.has(f.owner.key)) this.markEnded(f, now);
    }
    // Folders whose VM ended in an earlier pass: removed once keepMs has passed (keepMs 0: this pass).
    for (const f of [...this.folders.values()]) {
      if (f.endedAt !== undefined && f.endedPass !== undefined && f.endedPass < this.pass && now - f.endedAt >= this.keepMs) this.remove(f);
    }
    // Forget the log-once marks of VMs that are gone and own no folder, so that churn does not grow them.
    const owners = new Set([...this.folders.values()].map((f) => f.owner.key));
    for (const key of this.logged.keys()) if (key !== '' && !present.has(key) && !owners.has(key)) this.logged.delete(key);
  }

  private writeVm(w: WorkloadEnergy<VmInfo>, now: number): void {
    const vm = w.info;
    const running = w.state === 'running';
    const name = vmFolderName(vm.name);
    if (name === undefined) {
      if (running) this.problemOnce(vm.key, 'name', "vm.passthrough: the VM's name cannot be a folder name; its energy is not passed to it", vmFields(vm));
      return;
    }
    let f = this.folders.get(name);
    if (f && f.owner.key !== vm.key) {
      if (!running) return;
      if (f.endedAt === undefined) {
        // Two running VMs of one name (qemu:///system and qemu:///session): the first keeps the folder.
        this.problemOnce(vm.key, 'conflict', 'vm.passthrough: another running VM has the same name; its energy is not passed to it', { ...vmFields(vm), folder_owner: f.owner.id });
        return;
      }
      // The folder's VM ended and one of the same name runs now (a restart): the folder is its.
      f.owner = vm;
    }
    if (!f) {
      // A VM that ended before we ever wrote its tree has no guest left to read one.
      if (!running) return;
      f = this.claim(vm, name);
      if (!f) return;
    }
    if (running) {
      f.endedAt = undefined;
      f.endedPass = undefined;
    }
    const path = f.path;
    // Whoever can write in the VM's folder (qemu's user, a guest through a writable share) could
    // swap an entry folder for a link since we claimed it: root would then write through it.
    if (!sameFolders(f)) {
      this.errorCount++;
      this.logOnce(vm.key, 'swapped', "vm.passthrough: a VM's folder changed under us (a folder replaced, maybe by a link): its tree is no longer written", {
        ...vmFields(vm),
        folder: path,
      });
      this.folders.delete(f.name);
      return;
    }
    for (const file of treeFiles(vmCounters(w, this.zones))) {
      if (f.written.get(file.path) === file.content) continue;
      try {
        writeAtomic(join(path, file.path), file.content);
        f.written.set(file.path, file.content);
      } catch (err) {
        // The disk is full or the folder unwritable: the rest would fail the same way. Next pass retries.
        f.written.delete(file.path);
        this.errorCount++;
        this.logOnce(vm.key, `write:${errnoCode(err) ?? 'error'}`, "vm.passthrough: could not write a VM's tree", { ...vmFields(vm), file: join(path, file.path), error: err });
        break;
      }
    }
    if (!running && f.endedAt === undefined) this.markEnded(f, now);
  }

  /** Makes (or adopts) a running VM's folder and its entry folders; undefined when it cannot be ours. */
  private claim(vm: VmInfo, name: string): Folder | undefined {
    const path = join(this.dir, name);
    // vmFolderName already keeps the name to one component; this says so where it matters.
    if (relative(this.dir, path) !== name || name.includes(sep)) {
      this.problemOnce(vm.key, 'name', "vm.passthrough: the VM's name cannot be a folder name; its energy is not passed to it", vmFields(vm));
      return undefined;
    }
    let ids: string[];
    try {
      ids = [path, ...TREE_ENTRIES.map((e) => join(path, e.dir))].map(ensureRealDir);
    } catch (err) {
      this.errorCount++;
      this.logOnce(vm.key, `folder:${errnoCode(err) ?? 'error'}`, "vm.passthrough: could not make a VM's folder", { ...vmFields(vm), folder: path, error: err });
      return undefined;
    }
    const f: Folder = { name, path, owner: vm, written: new Map(), ids };
    this.folders.set(name, f);
    return f;
  }

  private markEnded(f: Folder, now: number): void {
    f.endedAt = now;
    f.endedPass = this.pass;
  }

  private remove(f: Folder): void {
    try {
      // Only the files we write and our folders, each by name, and only while they are the folders
      // we made: a recursive removal could follow a folder swapped in under it.
      if (sameFolders(f)) {
        for (const file of TREE_FILES) rmSync(join(f.path, file), { force: true });
        for (const e of [...TREE_ENTRIES].reverse()) rmdirSync(join(f.path, e.dir));
        rmdirSync(f.path);
      }
      this.folders.delete(f.name);
    } catch (err) {
      // Kept, to be tried again next pass.
      this.errorCount++;
      this.logOnce(f.owner.key, 'remove', "vm.passthrough: could not remove an ended VM's folder", { ...vmFields(f.owner), folder: f.path, error: err });
    }
  }

  private ensureDir(): boolean {
    if (this.dirReady) return true;
    try {
      const first = mkdirSync(this.dir, { recursive: true, mode: DIR_MODE });
      // Only the folders we made get our mode (the umask may have narrowed it); an existing dir is the admin's.
      if (first !== undefined) {
        const made = relative(first, this.dir).split(sep).filter(Boolean);
        let p = first;
        chmodSync(p, DIR_MODE);
        for (const part of made) chmodSync((p = join(p, part)), DIR_MODE);
      }
      this.dirReady = true;
      return true;
    } catch (err) {
      this.problem('', 'dir', 'vm.passthrough: could not make the passthrough dir; no VM gets its energy', { dir: this.dir, error: err });
      return false;
    }
  }

  /** Counts a problem every time, logs it once per key and kind. */
  private problem(key: string, kind: string, msg: string, fields: Record<string, unknown>): void {
    this.errorCount++;
    this.logOnce(key, kind, msg, fields);
  }

  /** Counts and logs a problem once per key and kind: one that stays as long as its VM does (its name). */
  private problemOnce(key: string, kind: string, msg: string, fields: Record<string, unknown>): void {
    if (this.logOnce(key, kind, msg, fields)) this.errorCount++;
  }

  private logOnce(key: string, kind: string, msg: string, fields: Record<string, unknown>): boolean {
    let kinds = this.logged.get(key);
    if (!kinds) this.logged.set(key, (kinds = new Set()));
    if (kinds.has(kind)) return false;
    kinds.add(kind);
    this.logger.warn(msg, fields);
    return true;
  }
}

function vmFields(vm: VmInfo): Record<string, unknown> {
  return { vm_id: vm.id, vm_name: vm.name };
}

/**
 * A folder that is a real one (not a link that could lead out of the dir), made with our mode when
 * missing; one that exists already is adopted only when it is ours and nobody else can write in it.
 * Returns its identity (device and inode) for sameFolders.
 */
function ensureRealDir(path: string): string {
  try {
    mkdirSync(path, { mode: DIR_MODE });
    chmodSync(path, DIR_MODE);
  } catch (err) {
    if (errnoCode(err) !== 'EEXIST') throw err;
  }
  const st = lstatSync(path);
  if (!st.isDirectory()) throw Object.assign(new Error(`${path}: exists and is not a folder`), { code: 'ENOTDIR' });
  const uid = process.getuid?.();
  if ((uid !== undefined && st.uid !== uid) || (st.mode & 0o022) !== 0) {
    throw Object.assign(new Error(`${path}: not ours, or writable by others: not adopted`), { code: 'EPERM' });
  }
  return `${st.dev}:${st.ino}`;
}

/** Whether the folder and its entry folders are still the ones claimed (not replaced, not links). */
function sameFolders(f: Folder): boolean {
  const paths = [f.path, ...TREE_ENTRIES.map((e) => join(f.path, e.dir))];
  try {
    return paths.every((p, i) => {
      const st = lstatSync(p);
      return st.isDirectory() && `${st.dev}:${st.ino}` === f.ids[i];
    });
  } catch {
    return false;
  }
}

/**
 * Replaces a file so that a reader sees the old content or the new one, never a partial one, as
 * a read of a sysfs attribute does: a temporary file beside it, then rename. O_EXCL does not follow
 * a link left at the temporary name; a stale one (a crash between the two) is removed first.
 */
export function writeAtomic(file: string, content: string): void {
  const tmp = `${file}.tmp-${process.pid}`;
  let fd: number;
  try {
    fd = openSync(tmp, 'wx', FILE_MODE);
  } catch (err) {
    if (errnoCode(err) !== 'EEXIST') throw err;
    unlinkSync(tmp);
    fd = openSync(tmp, 'wx', FILE_MODE);
  }
  try {
    try {
      writeSync(fd, content);
      fchmodSync(fd, FILE_MODE); // past the umask
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, file);
  } catch (err) {
    try {
      unlinkSync(tmp);
    } catch {
      // Already gone.
    }
    throw err;
  }
}
