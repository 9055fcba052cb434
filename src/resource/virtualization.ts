// Whether this machine is a virtual machine, and whose: the cpuinfo `hypervisor` flag, the DMI
// strings in /sys/class/dmi/id, and /sys/hypervisor/type. Pure.

import type { CpuVendor } from './hostCpu.js';

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

export type DmiField = keyof DmiInfo;

/** The file under /sys/class/dmi/id of each field. */
export const DMI_FILE: Record<DmiField, string> = {
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
