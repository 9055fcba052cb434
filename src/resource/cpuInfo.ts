// /proc/cpuinfo, one record per logical CPU, for kepler_node_cpu_info.

export interface CpuInfoRecord {
  processor: string;
  vendorId: string;
  modelName: string;
  physicalId: string;
  coreId: string;
}

export type CpuInfoFields = Map<string, string>;

/** Pure: splits cpuinfo into the per-processor records and the lines outside them (ARM's trailing Hardware/Model block). */
export function cpuinfoRecords(text: string): { processors: CpuInfoFields[]; global: CpuInfoFields } {
  const processors: CpuInfoFields[] = [];
  const global: CpuInfoFields = new Map();
  let current: CpuInfoFields | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\r$/, '');
    if (line.trim() === '') {
      current = undefined;
      continue;
    }
    const i = line.indexOf(':');
    if (i <= 0) continue; // no "key: value": garbage
    const key = line.slice(0, i).trim();
    const value = line.slice(i + 1).trim();
    if (key === '') continue;
    if (key === 'processor' && /^\d+$/.test(value)) {
      current = new Map([[key, value]]);
      processors.push(current);
      continue;
    }
    const into = current ?? global;
    if (!into.has(key)) into.set(key, value);
  }
  return { processors, global };
}

/** Pure. Fields an architecture lacks (ARM has no vendor_id or physical id) are empty. */
export function parseCpuInfo(text: string): CpuInfoRecord[] {
  return cpuinfoRecords(text).processors.map((f) => ({
    processor: f.get('processor') ?? '', // always there: a record starts at its processor line
    vendorId: f.get('vendor_id') ?? f.get('CPU implementer') ?? '',
    modelName: f.get('model name') ?? f.get('Model') ?? f.get('CPU part') ?? '',
    physicalId: f.get('physical id') ?? '',
    coreId: f.get('core id') ?? '',
  }));
}
