// What this machine is for a power model: the host's facts (resource/hostFacts.ts) judged with
// the CPU catalog: microarchitecture, year and TDP, as a ServerSpec. Pure.

import type { HostCpuInfo } from '../resource/hostCpu.js';
import { readHostFacts, type HostFacts, type HostPaths } from '../resource/hostFacts.js';
import { detectVirtualization, type DmiInfo, type Virtualization } from '../resource/virtualization.js';
import { armCoreOf, inferMicroarchitectureFromName, lookupCpuModel, microarchitectureOf, type Microarchitecture } from './cpuCatalog.js';
import type { ServerSpec } from './powerModel.js';

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
  if (coreTdp !== undefined && armCore) notes.push(`"${cpu.modelName}" not in the CPU catalog: TDP ${coreTdp} W from ${armCore.name} at ${armCore.coreWatts} W per core`);
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

/** The host's profile, read from procfs and sysfs (resource/hostFacts.ts) and judged here. */
export function readHostProfile(paths: HostPaths): HostProfile {
  return buildHostProfile(readHostFacts(paths));
}
