// The host's CPU and memory as the kernel shows them: /proc/cpuinfo (vendor, model, CPUID
// signature or ARM part, packages, cores, threads, the hypervisor flag) and /proc/meminfo. Pure
// parsers; facts only, no judgement about the hardware (that is estimation/hostProfile.ts).

import { armCoreOf } from './armCores.js';
import { cpuinfoRecords, type CpuInfoFields } from './cpuInfo.js';

export type CpuVendor = 'intel' | 'amd' | 'arm' | 'other';

/** The CPU as /proc/cpuinfo shows it. On a virtual machine these are the VM's vCPUs. */
export interface HostCpuInfo {
  vendor: CpuVendor;
  /** "model name" on x86; on ARM the board ("Model"/"Hardware" lines) or a name made from the core. */
  modelName: string;
  /** x86 CPUID signature, as decimal numbers. */
  family?: number;
  model?: number;
  stepping?: number;
  /** ARM "CPU implementer" and "CPU part" (0x41 and 0xd08 on a Raspberry Pi 4). */
  armImplementer?: number;
  armPart?: number;
  /** "processor" entries. */
  logicalCpus: number;
  /** Distinct "physical id"s; 1 when there are none (ARM, some VMs). */
  chips: number;
  /** Distinct (physical id, core id) pairs; else "cpu cores" x chips; on ARM the logical CPUs. */
  cores: number;
  /** = logicalCpus. */
  threads: number;
  /** The `hypervisor` flag (x86 CPUID leaf 1 ECX bit 31). arm64 has no such flag. */
  hypervisorFlag: boolean;
}

const intOf = (v: string | undefined): number | undefined => (v !== undefined && /^\d+$/.test(v) ? Number(v) : undefined);
const hexOf = (v: string | undefined): number | undefined => (v !== undefined && /^0x[0-9a-f]+$/i.test(v) ? parseInt(v.slice(2), 16) : undefined);

function vendorOf(first: CpuInfoFields | undefined): CpuVendor {
  if (first === undefined) return 'other';
  const id = first.get('vendor_id');
  if (id === 'GenuineIntel') return 'intel';
  // Hygon's Dhyana is a licensed Zen core with AMD's CPUID layout.
  if (id === 'AuthenticAMD' || id === 'HygonGenuine') return 'amd';
  if (first.has('CPU implementer')) return 'arm';
  return 'other';
}

/**
 * The ARM implementer/part most CPUs have; on a tie (big.LITTLE with as many big as little cores)
 * the one listed last, which is the big cores on the usual SoCs (RK3588: 4 x A55, then 4 x A76).
 */
function dominantArmPart(processors: CpuInfoFields[]): { implementer?: number; part?: number } {
  const counts = new Map<string, number>();
  let best: string | undefined;
  for (const p of processors) {
    const imp = p.get('CPU implementer');
    const part = p.get('CPU part');
    if (imp === undefined || part === undefined) continue;
    const k = `${imp}|${part}`;
    const n = (counts.get(k) ?? 0) + 1;
    counts.set(k, n);
    if (best === undefined || n >= (counts.get(best) ?? 0)) best = k;
  }
  if (best === undefined) return {};
  const [imp, part] = best.split('|');
  return { implementer: hexOf(imp), part: hexOf(part) };
}

/** Pure. An empty or unrecognisable text gives logicalCpus 0; readHostProfile treats that as an error. */
export function parseHostCpuInfo(text: string): HostCpuInfo {
  const { processors, global } = cpuinfoRecords(text);
  const first = processors[0];
  const vendor = vendorOf(first);
  const logicalCpus = processors.length;

  const physicalIds = new Set(processors.map((p) => p.get('physical id')).filter((v): v is string => v !== undefined));
  const chips = Math.max(1, physicalIds.size);

  let cores: number;
  if (vendor === 'arm') {
    cores = logicalCpus; // cpuinfo does not show SMT on ARM (the few SMT parts, ThunderX2, are over-counted)
  } else if (processors.some((p) => p.has('core id'))) {
    cores = new Set(processors.map((p) => `${p.get('physical id') ?? ''}|${p.get('core id') ?? ''}`)).size;
  } else {
    const perChip = intOf(first?.get('cpu cores'));
    cores = perChip !== undefined && perChip > 0 ? Math.min(logicalCpus, perChip * chips) : logicalCpus;
  }

  const hypervisorFlag = processors.some((p) => (p.get('flags') ?? '').split(/\s+/).includes('hypervisor'));

  const out: HostCpuInfo = { vendor, modelName: '', logicalCpus, chips, cores, threads: logicalCpus, hypervisorFlag };
  if (vendor === 'arm') {
    const { implementer, part } = dominantArmPart(processors);
    if (implementer !== undefined) out.armImplementer = implementer;
    if (part !== undefined) out.armPart = part;
    out.modelName = armModelName(global, first, implementer, part);
  } else {
    const family = intOf(first?.get('cpu family'));
    const model = intOf(first?.get('model'));
    const stepping = intOf(first?.get('stepping'));
    if (family !== undefined) out.family = family;
    if (model !== undefined) out.model = model;
    if (stepping !== undefined) out.stepping = stepping;
    // Old Xeons pad the name with runs of blanks ("CPU           X5670  @ 2.93GHz").
    const name = first?.get('model name') ?? first?.get('cpu') ?? global.get('model name') ?? '';
    out.modelName = name.replace(/\s+/g, ' ').trim();
  }
  return out;
}

/**
 * arm64 cpuinfo has no "model name". Raspberry Pi kernels add "Model" (the board) and "Hardware"
 * (the SoC) lines; elsewhere the core is the best name there is. 32-bit kernels print a generic
 * "model name: ARMv7 Processor rev 3 (v7l)", used only when nothing better is known.
 */
function armModelName(global: CpuInfoFields, first: CpuInfoFields | undefined, implementer?: number, part?: number): string {
  const board = global.get('Model') ?? global.get('Hardware');
  if (board) return board;
  const named = first?.get('model name');
  if (named && !/^ARMv\d+ Processor\b/i.test(named)) return named;
  if (implementer !== undefined && part !== undefined) {
    const core = armCoreOf(implementer, part);
    if (core) return core.name;
    return `ARM CPU part 0x${part.toString(16).padStart(3, '0')} (implementer 0x${implementer.toString(16)})`;
  }
  return named ?? 'ARM CPU';
}

/** MemTotal in GiB (the kernel's usable memory, a little under what is installed), or undefined. Pure. */
export function parseMemTotalGb(meminfoText: string): number | undefined {
  const x = /^MemTotal:\s*(\d+)\s*kB\s*$/m.exec(meminfoText);
  return x ? Number(x[1]) / (1024 * 1024) : undefined;
}
