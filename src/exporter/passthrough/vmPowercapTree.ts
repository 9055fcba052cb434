// vm.passthrough, pure parts: the powercap tree the host writes for each VM, in Scaphandre's qemu
// exporter's layout (<dir>/<vm name>/intel-rapl:0/energy_uj, intel-rapl:0:0/energy_uj), with the
// name and max_energy_range_uj files and a dram subzone added so that any RAPL reader, our own
// RaplMeter included, reads the folder as it reads /sys/class/powercap.

import type { WorkloadEnergy } from '../../monitor/snapshot.js';

/**
 * Where every counter of a VM's tree wraps: a real package's max_energy_range_uj (2^32 units of
 * 2^-14 J, as the kernel reports it on Intel servers), so that a guest's wrap handling meets the
 * range it meets on metal.
 */
export const MAX_ENERGY_RANGE_UJ = 262_143_328_850n;

/** Positions of the zones a tree is built from in Snapshot.zones; -1 where the host has none. */
export interface TreeZones {
  readonly package: number;
  readonly core: number;
  readonly dram: number;
}

/** The zones of the tree among the host's zone names (Snapshot.zones' names, in order). */
export function treeZones(zoneNames: readonly string[]): TreeZones {
  return { package: zoneNames.indexOf('package'), core: zoneNames.indexOf('core'), dram: zoneNames.indexOf('dram') };
}

/** A VM's counters as its guest reads them, each already wrapped into [0, max). */
export interface VmCounters {
  readonly package: bigint;
  readonly core: bigint;
  readonly dram: bigint;
}

/** A VM's total energy on zone `z` since the exporter started, with its idle share when the policy gives one. */
function zoneTotalUj(w: Pick<WorkloadEnergy<unknown>, 'energyUj' | 'idleUj'>, z: number): bigint {
  if (z < 0) return 0n;
  return (w.energyUj[z] ?? 0n) + (w.idleUj?.[z] ?? 0n);
}

/**
 * The counters of a VM's tree from its totals. A host without a core zone gives the package value
 * as core (the guest's core is then its whole CPU, which is what a guest's core zone is read for);
 * a host without a dram zone gives 0. The totals are BigInt and pass 2^53 µJ within days on a big
 * VM, so the wrap is exact: counter = total mod max.
 */
export function vmCounters(w: Pick<WorkloadEnergy<unknown>, 'energyUj' | 'idleUj'>, zones: TreeZones, maxUj: bigint = MAX_ENERGY_RANGE_UJ): VmCounters {
  const pkg = zoneTotalUj(w, zones.package);
  const core = zones.core >= 0 ? zoneTotalUj(w, zones.core) : pkg;
  return { package: pkg % maxUj, core: core % maxUj, dram: zoneTotalUj(w, zones.dram) % maxUj };
}

/** Longest file name Linux allows, in bytes (NAME_MAX). */
const NAME_MAX = 255;

/**
 * The folder of a VM under the passthrough dir: its name as qemu's `-name guest=` gave it (the
 * libvirt domain name, the folder Scaphandre's guests mount). The name comes from a process's
 * command line, which whoever starts the VM chooses, so anything that could leave the dir or is
 * not one path component is refused (undefined): empty, ".", "..", a "/" or NUL, over NAME_MAX bytes.
 */
export function vmFolderName(name: string): string | undefined {
  if (name === '' || name === '.' || name === '..') return undefined;
  if (name.includes('/') || name.includes('\0')) return undefined;
  if (Buffer.byteLength(name, 'utf8') > NAME_MAX) return undefined;
  return name;
}

/** One file of a tree: its path relative to the VM's folder, and its content. */
export interface TreeFile {
  /** The entry folder (a direct child of the VM's folder), e.g. intel-rapl:0:1. */
  readonly dir: string;
  /** e.g. intel-rapl:0:1/energy_uj */
  readonly path: string;
  readonly content: string;
}

/** The entries of a tree, in the order they are written: folder, powercap name. */
export const TREE_ENTRIES: readonly { readonly dir: string; readonly name: string; readonly counter: keyof VmCounters }[] = [
  { dir: 'intel-rapl:0', name: 'package-0', counter: 'package' },
  { dir: 'intel-rapl:0:0', name: 'core', counter: 'core' },
  { dir: 'intel-rapl:0:1', name: 'dram', counter: 'dram' },
];

/**
 * Every file of a VM's tree. The entries sit flat at the folder's top level, as the kernel lists
 * subzones at the top of /sys/class/powercap (intel-rapl:0:0 beside intel-rapl:0, not only
 * inside it): a guest points its sysfs at the folder and lists it as it lists powercap. Contents
 * end with a newline, as sysfs attributes do.
 */
export function treeFiles(c: VmCounters, maxUj: bigint = MAX_ENERGY_RANGE_UJ): TreeFile[] {
  const out: TreeFile[] = [];
  for (const e of TREE_ENTRIES) {
    out.push({ dir: e.dir, path: `${e.dir}/name`, content: `${e.name}\n` });
    out.push({ dir: e.dir, path: `${e.dir}/max_energy_range_uj`, content: `${maxUj}\n` });
    out.push({ dir: e.dir, path: `${e.dir}/energy_uj`, content: `${c[e.counter]}\n` });
  }
  return out;
}
