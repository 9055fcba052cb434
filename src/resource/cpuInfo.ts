// /proc/cpuinfo, one record per logical CPU, for kepler_node_cpu_info.

export interface CpuInfoRecord {
  processor: string;
  vendorId: string;
  modelName: string;
  physicalId: string;
  coreId: string;
}

/** Pure. Fields an architecture lacks (ARM has no vendor_id or physical id) are empty. */
export function parseCpuInfo(text: string): CpuInfoRecord[] {
  const out: CpuInfoRecord[] = [];
  for (const block of text.split(/\n\s*\n/)) {
    const f = new Map<string, string>();
    for (const line of block.split('\n')) {
      const i = line.indexOf(':');
      if (i > 0) f.set(line.slice(0, i).trim(), line.slice(i + 1).trim());
    }
    if (!f.has('processor') || !/^\d+$/.test(f.get('processor')!)) continue;
    out.push({
      processor: f.get('processor')!,
      vendorId: f.get('vendor_id') ?? f.get('CPU implementer') ?? '',
      modelName: f.get('model name') ?? f.get('Model') ?? f.get('CPU part') ?? '',
      physicalId: f.get('physical id') ?? '',
      coreId: f.get('core id') ?? '',
    });
  }
  return out;
}
