// Cloud Carbon Footprint (CCF): compute power per vCPU interpolated between a minimum and a maximum
// by microarchitecture, plus 0.392 W per GB of memory. Facts from shared/spec/estimation.md.
// No PUE is applied: SPECpower measures one server at its own wall plug, not a data centre.

import { clampLoad, type PowerBreakdown, type PowerModel, type ServerSpec } from '../powerModel.js';

/** Watts per logical CPU at 0 % and 100 % utilisation. */
export interface CcfCoefficients {
  readonly min: number;
  readonly max: number;
}

/** CCF's table, keyed by the architecture keys of cpuCatalog.ts (normalised: lower case, no '-', '_' or blanks). */
const CCF_BY_ARCHITECTURE: ReadonlyMap<string, CcfCoefficients> = new Map([
  ['cascadelake', { min: 0.64, max: 3.97 }],
  ['skylake', { min: 0.65, max: 4.26 }],
  ['broadwell', { min: 0.71, max: 3.69 }],
  ['haswell', { min: 1.0, max: 4.74 }],
  ['coffeelake', { min: 1.14, max: 5.42 }],
  ['sandybridge', { min: 2.17, max: 8.58 }],
  ['ivybridge', { min: 3.04, max: 8.25 }],
  ['epycgen1', { min: 0.82, max: 2.55 }],
  ['epycgen2', { min: 0.47, max: 1.69 }],
  ['epycgen3', { min: 0.45, max: 2.02 }],
  ['graviton2', { min: 0.47, max: 1.69 }],
  ['neoversen1', { min: 0.47, max: 1.69 }],
]);

/** CCF's average over all microarchitectures, used when the architecture is unknown or not in its table. */
export const CCF_UNKNOWN: CcfCoefficients = { min: 0.74, max: 3.5 };
export const CCF_MEMORY_W_PER_GB = 0.392;

function normaliseArchitecture(architecture: string): string {
  return architecture.toLowerCase().replace(/[\s_-]+/g, '');
}

/** The min/max per vCPU for an architecture key, and whether the key was in CCF's table. */
export function ccfCoefficients(architecture: string | undefined): CcfCoefficients & { known: boolean } {
  const c = architecture === undefined ? undefined : CCF_BY_ARCHITECTURE.get(normaliseArchitecture(architecture));
  return c ? { ...c, known: true } : { ...CCF_UNKNOWN, known: false };
}

export const ccfModel: PowerModel = {
  name: 'ccf',
  description: 'Cloud Carbon Footprint: per vCPU min + load x (max - min) W by microarchitecture, memory 0.392 W/GB (no PUE)',
  predict(spec: ServerSpec, load: number): PowerBreakdown {
    const { min, max } = ccfCoefficients(spec.architecture);
    const cpu = spec.threads * (min + clampLoad(load) * (max - min));
    const memory = spec.memGb * CCF_MEMORY_W_PER_GB;
    return { total: cpu + memory, cpu, memory, other: 0 };
  },
  parameters(spec: ServerSpec): Record<string, number | string> {
    const { min, max, known } = ccfCoefficients(spec.architecture);
    return {
      architecture: known && spec.architecture !== undefined ? spec.architecture : 'unknown',
      vcpus: spec.threads,
      minWattsPerVcpu: min,
      maxWattsPerVcpu: max,
      memoryWattsPerGb: CCF_MEMORY_W_PER_GB,
      memGb: spec.memGb,
    };
  },
};
