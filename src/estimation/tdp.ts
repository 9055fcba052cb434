// A package's TDP when nobody told us: a power law in cores per package, fitted (log-log least
// squares) on the SPECpower rows of 2014-2018 with a known TDP (98 servers, 11.8 % mean error).
// It gives 52 W for 4 cores, 185 W for 28 and 318 W for 64; capped at the largest TDPs sold.
// ARM cores draw far less than x86 server cores: without a catalog figure they count at the top of
// Arm's published Neoverse N1 range, 1.8 W per core.

import type { ServerSpec } from './powerModel.js';

const TDP_COEFF = 21.3;
const TDP_EXPONENT = 0.649;
const TDP_MIN_W = 5;
const TDP_MAX_W = 500;
const ARM_W_PER_CORE = 1.8;

export function estimateTdpFromCores(coresPerChip: number): number {
  const c = Number.isFinite(coresPerChip) && coresPerChip > 0 ? coresPerChip : 1;
  return Math.min(TDP_MAX_W, Math.max(TDP_MIN_W, TDP_COEFF * c ** TDP_EXPONENT));
}

/** The spec's TDP per package, or the estimate from its cores when it is unknown. */
export function tdpOf(spec: ServerSpec): number {
  if (spec.tdpWatts !== undefined && spec.tdpWatts > 0) return spec.tdpWatts;
  const coresPerChip = spec.cores / Math.max(1, spec.chips);
  if (spec.vendor === 'arm') return Math.max(TDP_MIN_W, ARM_W_PER_CORE * coresPerChip);
  return estimateTdpFromCores(coresPerChip);
}
