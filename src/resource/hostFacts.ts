// Reads what can be known about the host from procfs and sysfs, once, at start-up: the CPU and
// memory (hostCpu.ts), the DMI strings, the Xen type, the board model, and whether it is a VM
// (virtualization.ts). What could not be read is listed in `notes`; only cpuinfo is required.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { errnoCode } from '../util/fileReader.js';
import { parseHostCpuInfo, parseMemTotalGb, type HostCpuInfo } from './hostCpu.js';
import { DMI_FILE, type DmiField, type DmiInfo } from './virtualization.js';

/** What the host is, as read: the facts a power estimate starts from. */
export interface HostFacts {
  cpu: HostCpuInfo;
  /** MemTotal in GiB; undefined when /proc/meminfo could not be read. */
  memGb?: number;
  dmi: DmiInfo;
  /** /sys/hypervisor/type ("xen" in Xen guests and dom0). */
  xenType?: string;
  /** The device tree's model, on ARM boards ("Raspberry Pi 4 Model B Rev 1.4"). */
  boardModel?: string;
  /** What could not be read, for the log. */
  notes?: string[];
}

export interface HostPaths {
  /** Usually /proc. */
  procfs: string;
  /** Usually /sys. */
  sysfs: string;
}

/** A file's text, or undefined (with a note) when it is missing or unreadable. */
function readOptional(path: string, notes: string[], noteIfMissing: boolean): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    const code = errnoCode(err);
    if (code !== 'ENOENT' || noteIfMissing) notes.push(`${path}: ${code === 'ENOENT' ? 'missing' : `unreadable (${code ?? (err as Error).message})`}`);
    return undefined;
  }
}

/**
 * Reads the host's facts from procfs and sysfs, once, at start-up (readFileSync: not a hot path,
 * so the shared FileReader's buffer is not worth it here). Only a missing, empty or
 * unrecognisable cpuinfo is an error (the message names the file); every other file may be absent,
 * and what was missing is listed in `notes`.
 */
export function readHostFacts(paths: HostPaths): HostFacts {
  const notes: string[] = [];
  const cpuinfoPath = join(paths.procfs, 'cpuinfo');
  let cpuinfoText: string;
  try {
    cpuinfoText = readFileSync(cpuinfoPath, 'utf8');
  } catch (err) {
    throw new Error(`${cpuinfoPath}: cannot read (${errnoCode(err) ?? (err as Error).message})`, { cause: err });
  }
  if (cpuinfoText.trim() === '') throw new Error(`${cpuinfoPath}: empty`);
  const cpu = parseHostCpuInfo(cpuinfoText);
  if (cpu.logicalCpus === 0) throw new Error(`${cpuinfoPath}: no "processor" entries`);

  const meminfoPath = join(paths.procfs, 'meminfo');
  const meminfo = readOptional(meminfoPath, notes, true);
  const memGb = meminfo === undefined ? undefined : parseMemTotalGb(meminfo);
  if (meminfo !== undefined && memGb === undefined) notes.push(`${meminfoPath}: no MemTotal line`);

  // DMI: absent on ARM boards and in some containers; one note for the whole directory.
  const dmiDir = join(paths.sysfs, 'class', 'dmi', 'id');
  const dmi: DmiInfo = {};
  const dmiMissing: string[] = [];
  for (const [field, file] of Object.entries(DMI_FILE) as [DmiField, string][]) {
    const fileNotes: string[] = [];
    const v = readOptional(join(dmiDir, file), fileNotes, true)?.trim();
    if (v) dmi[field] = v;
    else if (fileNotes.length > 0 && fileNotes[0].endsWith(': missing')) dmiMissing.push(file);
    else notes.push(...fileNotes);
  }
  if (dmiMissing.length > 0) notes.push(`${dmiDir}: ${dmiMissing.join(', ')} missing`);

  // Absent on all but Xen guests and ARM boards respectively: absence is not worth a note.
  const xenType = readOptional(join(paths.sysfs, 'hypervisor', 'type'), notes, false)?.trim() || undefined;
  const boardModel =
    readOptional(join(paths.procfs, 'device-tree', 'model'), notes, false)
      ?.replace(/\0/g, '')
      .trim() || undefined;

  return { cpu, memGb, dmi, xenType, boardModel, notes };
}
