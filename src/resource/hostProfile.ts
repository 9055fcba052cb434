// What this machine is, for a power estimator that has no meter: the CPU (vendor, model, sockets,
// cores, threads) from /proc/cpuinfo, the memory from /proc/meminfo, whether it is a virtual
// machine (the cpuinfo `hypervisor` flag and the DMI strings in sysfs), and a ServerSpec built
// with the CPU catalog. The parsers and the decisions are pure; readHostProfile is the only I/O.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { armCoreOf, inferMicroarchitectureFromName, lookupCpuModel, microarchitectureOf, type Microarchitecture } from '../estimation/cpuCatalog.js';
import type { CpuVendor, ServerSpec } from '../estimation/powerModel.js';
import { errnoCode } from '../util/fileReader.js';
import { cpuinfoRecords, type CpuInfoFields } from './cpuInfo.js';

// ---------- /proc/cpuinfo ----------

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

// ---------- /proc/meminfo ----------

/** MemTotal in GiB (the kernel's usable memory, a little under what is installed), or undefined. Pure. */
export function parseMemTotalGb(meminfoText: string): number | undefined {
  const x = /^MemTotal:\s*(\d+)\s*kB\s*$/m.exec(meminfoText);
  return x ? Number(x[1]) / (1024 * 1024) : undefined;
}

// ---------- virtualization ----------

/** /sys/class/dmi/id strings; absent where the file is (ARM boards have no DMI). */
export interface DmiInfo {
  sysVendor?: string;
  productName?: string;
  biosVendor?: string;
  boardVendor?: string;
  chassisVendor?: string;
}

export interface VirtualizationInput {
  hypervisorFlag: boolean;
  dmi: DmiInfo;
  /** /sys/hypervisor/type ("xen" in Xen guests and dom0). */
  xenType?: string;
  /** The CPU's vendor. On 'arm' the missing flag proves nothing: arm64 never shows one. */
  cpuVendor?: CpuVendor;
}

export interface Virtualization {
  isVm: boolean;
  /** 'kvm', 'qemu', 'amazon', 'google', 'microsoft', 'vmware', 'xen', ...; 'unknown' for a VM nothing names; 'none' on bare metal. */
  hypervisor: string;
  /** The cloud the DMI strings name, VM or bare metal ('amazon' on an EC2 .metal too). */
  cloud?: string;
  /** Which input decided, for the log. */
  evidence: string;
}

type DmiField = keyof DmiInfo;

const DMI_FILE: Record<DmiField, string> = {
  sysVendor: 'sys_vendor',
  productName: 'product_name',
  biosVendor: 'bios_vendor',
  boardVendor: 'board_vendor',
  chassisVendor: 'chassis_vendor',
};

interface DmiRule {
  fields: DmiField[];
  re: RegExp;
  hypervisor: string;
  cloud?: string;
  /** The string exists only in virtual machines, so it proves one without the flag. */
  vmOnly: boolean;
}

// Clouds first: on a cloud VM the cloud says more than the hypervisor underneath (QEMU/KVM).
const VENDORS: DmiField[] = ['sysVendor', 'boardVendor', 'biosVendor', 'chassisVendor'];
const DMI_RULES: readonly DmiRule[] = [
  // EC2 shows "Amazon EC2" on VMs and on .metal alike; the instance type tells them apart.
  { fields: VENDORS, re: /^Amazon EC2$/i, hypervisor: 'amazon', cloud: 'amazon', vmOnly: false },
  { fields: ['sysVendor', 'productName'], re: /^Google( Compute Engine)?$/i, hypervisor: 'google', cloud: 'google', vmOnly: false },
  { fields: ['productName'], re: /^Alibaba Cloud ECS$/i, hypervisor: 'alibaba', cloud: 'alibaba', vmOnly: false },
  { fields: VENDORS, re: /^Alibaba Cloud$/i, hypervisor: 'alibaba', cloud: 'alibaba', vmOnly: false },
  { fields: [...VENDORS, 'productName'], re: /OracleCloud/i, hypervisor: 'oracle', cloud: 'oracle', vmOnly: false },
  { fields: ['productName'], re: /^Droplet$/i, hypervisor: 'digitalocean', cloud: 'digitalocean', vmOnly: true },
  { fields: VENDORS, re: /^DigitalOcean$/i, hypervisor: 'digitalocean', cloud: 'digitalocean', vmOnly: false },
  { fields: ['productName'], re: /^vServer$/i, hypervisor: 'hetzner', cloud: 'hetzner', vmOnly: true },
  { fields: ['sysVendor'], re: /^Tencent Cloud$/i, hypervisor: 'tencent', cloud: 'tencent', vmOnly: false },
  { fields: ['productName'], re: /^OpenStack (Nova|Compute)$/i, hypervisor: 'openstack', vmOnly: true },
  { fields: VENDORS, re: /^OpenStack Foundation$/i, hypervisor: 'openstack', vmOnly: true },
  // Hyper-V and Azure; "Microsoft Corporation" alone is also a Surface laptop.
  { fields: ['productName'], re: /^Virtual Machine$/i, hypervisor: 'microsoft', vmOnly: true },
  { fields: [...VENDORS, 'productName'], re: /^VMware/i, hypervisor: 'vmware', vmOnly: true },
  { fields: ['sysVendor', 'boardVendor'], re: /^innotek GmbH$/i, hypervisor: 'virtualbox', vmOnly: true },
  { fields: ['productName'], re: /^VirtualBox$/i, hypervisor: 'virtualbox', vmOnly: true },
  { fields: ['sysVendor', 'biosVendor'], re: /^Xen$/i, hypervisor: 'xen', vmOnly: true },
  { fields: ['productName'], re: /^HVM domU$/i, hypervisor: 'xen', vmOnly: true },
  { fields: ['productName'], re: /^AHV$/i, hypervisor: 'nutanix', vmOnly: true },
  { fields: ['productName'], re: /\bKVM\b|^RHEV Hypervisor|^oVirt Node/i, hypervisor: 'kvm', vmOnly: true },
  { fields: ['sysVendor'], re: /^QEMU$/i, hypervisor: 'qemu', vmOnly: true },
  { fields: ['productName'], re: /^Standard PC \((i440FX|Q35)|^QEMU Virtual Machine/i, hypervisor: 'qemu', vmOnly: true },
  { fields: ['sysVendor', 'productName'], re: /^Bochs$/i, hypervisor: 'bochs', vmOnly: true },
  { fields: ['sysVendor', 'productName'], re: /^BHYVE$/i, hypervisor: 'bhyve', vmOnly: true },
  { fields: ['sysVendor'], re: /^Parallels/i, hypervisor: 'parallels', vmOnly: true },
  { fields: ['productName'], re: /^Parallels Virtual Platform$/i, hypervisor: 'parallels', vmOnly: true },
  { fields: ['sysVendor', 'productName'], re: /^Cloud Hypervisor$/i, hypervisor: 'cloud-hypervisor', vmOnly: true },
  { fields: ['productName'], re: /^VirtualMac/i, hypervisor: 'apple', vmOnly: true },
];

interface DmiMatch {
  hypervisor: string;
  cloud?: string;
  /** `field "value"` of the first rule that named the hypervisor. */
  said: string;
  /** `field "value"` of a VM-only string, when there is one. */
  vmOnly?: string;
}

const quote = (f: DmiField, v: string) => `dmi ${DMI_FILE[f]} "${v}"`;

function identify(dmi: DmiInfo): DmiMatch | undefined {
  let found: DmiMatch | undefined;
  for (const rule of DMI_RULES) {
    for (const f of rule.fields) {
      const v = dmi[f];
      if (v === undefined || !rule.re.test(v)) continue;
      if (found === undefined) found = { hypervisor: rule.hypervisor, said: quote(f, v) };
      if (found.cloud === undefined && rule.cloud !== undefined) found.cloud = rule.cloud;
      if (rule.vmOnly && found.vmOnly === undefined) found.vmOnly = quote(f, v);
    }
  }
  return found;
}

/** An EC2 instance type ("m6g.large"); ".metal" and ".metal-24xl" are bare metal. */
const EC2_VM_INSTANCE = /^[a-z][a-z0-9-]*\.(?!metal)[a-z0-9-]+$/i;

/**
 * VM or bare metal, and which hypervisor. Pure. The rules, in order:
 *   1. the cpuinfo `hypervisor` flag: a VM (x86 hypervisors set it; KVM, Xen HVM, Hyper-V, VMware, Nitro)
 *   2. a DMI string that exists only in VMs ("Virtual Machine", "VMware Virtual Platform", "KVM",
 *      "Standard PC (Q35 ...)", sys_vendor "QEMU"/"Xen"/"innotek GmbH"...): a VM, flag or not
 *   3. /sys/hypervisor/type: a Xen guest (dom0 shows it too, and is counted as a VM)
 *   4. "Amazon EC2" with an instance type that is not .metal: a VM (Graviton VMs have no flag)
 *   5. on ARM, which never shows the flag, a cloud's DMI (Google, Alibaba, Oracle...): a VM
 *   6. otherwise bare metal, EC2 .metal instances included (Amazon EC2 DMI, no flag).
 */
export function detectVirtualization(input: VirtualizationInput): Virtualization {
  const { hypervisorFlag, dmi } = input;
  const xenType = input.xenType?.trim() || undefined;
  const id = identify(dmi);
  const cloud = id?.cloud !== undefined ? { cloud: id.cloud } : {};
  const named = id?.hypervisor ?? (xenType ? xenType.toLowerCase() : 'unknown');

  if (hypervisorFlag) {
    return { isVm: true, hypervisor: named, ...cloud, evidence: `cpuinfo flag "hypervisor"${id ? `; ${id.said}` : ''}` };
  }
  if (id?.vmOnly) {
    return { isVm: true, hypervisor: named, ...cloud, evidence: `${id.vmOnly}, a string only virtual machines show (no hypervisor flag)` };
  }
  if (xenType) {
    return { isVm: true, hypervisor: id?.hypervisor ?? 'xen', ...cloud, evidence: `sysfs hypervisor/type "${xenType}"` };
  }
  const product = dmi.productName?.trim();
  if (id?.hypervisor === 'amazon' && product && EC2_VM_INSTANCE.test(product)) {
    return { isVm: true, hypervisor: 'amazon', ...cloud, evidence: `${id.said} with instance type "${product}", not .metal` };
  }
  if (input.cpuVendor === 'arm' && id?.cloud !== undefined && id.hypervisor !== 'amazon') {
    return { isVm: true, hypervisor: id.hypervisor, ...cloud, evidence: `${id.said} on ARM, which shows no hypervisor flag` };
  }
  const metal = id?.hypervisor === 'amazon' && product ? `${id.said}, instance type "${product}"` : id?.said;
  return {
    isVm: false,
    hypervisor: 'none',
    ...cloud,
    evidence: `no hypervisor flag${input.cpuVendor === 'arm' ? ' (arm64 shows none)' : ''} and no virtual-machine DMI string${metal ? `; ${metal}` : ''}`,
  };
}

// ---------- the whole profile ----------

export interface HostProfile extends HostCpuInfo {
  /** MemTotal in GiB; undefined when /proc/meminfo could not be read (spec.memGb is then 0). */
  memGb?: number;
  dmi: DmiInfo;
  xenType?: string;
  /** The device tree's model, on ARM boards ("Raspberry Pi 4 Model B Rev 1.4"). */
  boardModel?: string;
  virtualization: Virtualization;
  /** The server as a power model sees it. On a VM: the VM's vCPUs and memory. */
  spec: ServerSpec;
  /** What could not be learned, or disagreed, for the log; empty when detection was complete. */
  notes: string[];
}

export interface HostFacts {
  cpu: HostCpuInfo;
  memGb?: number;
  dmi: DmiInfo;
  xenType?: string;
  boardModel?: string;
  /** Notes from reading the files; more are added here. */
  notes?: string[];
}

/** The three ways to know the microarchitecture, and the one that wins (catalog, CPUID, name). */
function architectureEvidence(cpu: HostCpuInfo, boardModel?: string) {
  const catalog = lookupCpuModel(cpu.modelName);
  let byId: Microarchitecture | undefined;
  if (cpu.vendor === 'arm') {
    const core = cpu.armImplementer !== undefined && cpu.armPart !== undefined ? armCoreOf(cpu.armImplementer, cpu.armPart) : undefined;
    byId = core && { key: core.key, year: core.year };
  } else if (cpu.family !== undefined && cpu.model !== undefined) {
    byId = microarchitectureOf(cpu.vendor, cpu.family, cpu.model, cpu.stepping);
  }
  const byName = inferMicroarchitectureFromName(cpu.modelName) ?? (boardModel ? inferMicroarchitectureFromName(boardModel) : undefined);
  return { catalog, byId, byName, architecture: catalog?.architecture ?? byId?.key ?? byName?.key };
}

/** The CPU's microarchitecture key ("skylake", "neoverse-n1"), as the estimator decides it. */
export function architectureOf(cpu: HostCpuInfo): string | undefined {
  return architectureEvidence(cpu).architecture;
}

/**
 * The profile from facts already read. Pure. Architecture: the catalog's SKU entry, else the
 * CPUID signature (or ARM part), else the naming rules. Year: the SKU entry, else the naming
 * rules when they agree on the architecture (they know refreshes: "6248R" is 2020), else CPUID.
 * TDP: only from the catalog; a CPU it lacks leaves the TDP to the model's estimate.
 */
export function buildHostProfile(facts: HostFacts): HostProfile {
  const { cpu } = facts;
  const notes = [...(facts.notes ?? [])];
  const { catalog, byId, byName, architecture } = architectureEvidence(cpu, facts.boardModel);
  const year = catalog?.year ?? (byName?.key === architecture ? byName?.year : undefined) ?? (byId?.key === architecture ? byId?.year : undefined);

  const signature = cpu.vendor === 'arm' ? `ARM part 0x${cpu.armPart?.toString(16) ?? '?'}` : `family ${cpu.family ?? '?'} model ${cpu.model ?? '?'}`;
  if (catalog && byId && catalog.architecture !== byId.key) {
    notes.push(`catalog says ${catalog.architecture} for "${cpu.modelName}" but ${signature} is ${byId.key}; using ${catalog.architecture}`);
  } else if (!catalog && byId && byName && byName.key !== byId.key) {
    notes.push(`"${cpu.modelName}" reads as ${byName.key} but ${signature} is ${byId.key}; using ${byId.key}`);
  }
  if (architecture === undefined) notes.push(`microarchitecture of "${cpu.modelName}" (${signature}) unknown`);
  // An ARM core with a known per-core figure gives the package's power budget when no SKU does.
  const armCore = cpu.vendor === 'arm' && cpu.armImplementer !== undefined && cpu.armPart !== undefined ? armCoreOf(cpu.armImplementer, cpu.armPart) : undefined;
  const coreTdp = !catalog && armCore?.coreWatts ? Math.round(armCore.coreWatts * (cpu.cores / Math.max(1, cpu.chips)) * 10) / 10 : undefined;
  if (coreTdp !== undefined) notes.push(`"${cpu.modelName}" not in the CPU catalog: TDP ${coreTdp} W from ${armCore!.name} at ${armCore!.coreWatts} W per core`);
  else if (!catalog) notes.push(`"${cpu.modelName}" not in the CPU catalog: TDP unknown`);
  else if (catalog.tdpSource === 'sibling') notes.push(`${catalog.sku}: no published TDP; using ${catalog.tdpWatts} W of ${catalog.sibling}`);
  if (facts.memGb === undefined) notes.push('memory size unknown: memGb 0');

  const spec: ServerSpec = {
    cpuName: cpu.modelName,
    vendor: cpu.vendor,
    ...(architecture !== undefined ? { architecture } : {}),
    ...(year !== undefined ? { year } : {}),
    chips: cpu.chips,
    cores: cpu.cores,
    threads: cpu.threads,
    ...(catalog ? { tdpWatts: catalog.tdpWatts } : coreTdp !== undefined ? { tdpWatts: coreTdp } : {}),
    memGb: facts.memGb ?? 0,
  };
  const virtualization = detectVirtualization({ hypervisorFlag: cpu.hypervisorFlag, dmi: facts.dmi, xenType: facts.xenType, cpuVendor: cpu.vendor });

  return {
    ...cpu,
    ...(facts.memGb !== undefined ? { memGb: facts.memGb } : {}),
    dmi: facts.dmi,
    ...(facts.xenType !== undefined ? { xenType: facts.xenType } : {}),
    ...(facts.boardModel !== undefined ? { boardModel: facts.boardModel } : {}),
    virtualization,
    spec,
    notes,
  };
}

// ---------- I/O ----------

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
 * Reads the host's profile from procfs and sysfs, once, at start-up (readFileSync: not a hot path,
 * so the shared FileReader's buffer is not worth it here). Only a missing, empty or
 * unrecognisable cpuinfo is an error (the message names the file); every other file may be absent,
 * and what was missing is listed in `notes`.
 */
export function readHostProfile(paths: HostPaths): HostProfile {
  const notes: string[] = [];
  const cpuinfoPath = join(paths.procfs, 'cpuinfo');
  let cpuinfoText: string;
  try {
    cpuinfoText = readFileSync(cpuinfoPath, 'utf8');
  } catch (err) {
    throw new Error(`${cpuinfoPath}: cannot read (${errnoCode(err) ?? (err as Error).message})`);
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
  const boardModel = readOptional(join(paths.procfs, 'device-tree', 'model'), notes, false)?.replace(/\0/g, '').trim() || undefined;

  return buildHostProfile({ cpu, memGb, dmi, xenType, boardModel, notes });
}
