// CodeCarbon with only a TDP: P = TDP x (0.1 + 0.9 x load^3) per CPU package, and 85 W per package
// when the TDP is unknown (CodeCarbon's own fallback, deliberately not tdp.ts's estimate). CPU only.

import { clampLoad, type PowerBreakdown, type PowerModel, type ServerSpec } from '../powerModel.js';

export const CODECARBON_DEFAULT_TDP_W = 85;

function codecarbonTdp(spec: ServerSpec): { tdp: number; known: boolean } {
  const tdp = spec.tdpWatts;
  const known = tdp !== undefined && tdp > 0;
  return { tdp: known ? tdp : CODECARBON_DEFAULT_TDP_W, known };
}

export const codecarbonModel: PowerModel = {
  name: 'codecarbon',
  description: 'CodeCarbon (TDP only): chips x TDP x (0.1 + 0.9 x load^3), 85 W per package when the TDP is unknown; CPU only',
  predict(spec: ServerSpec, load: number): PowerBreakdown {
    const x = clampLoad(load);
    const cpu = spec.chips * codecarbonTdp(spec).tdp * (0.1 + 0.9 * x ** 3);
    return { total: cpu, cpu, memory: 0, other: 0 };
  },
  parameters(spec: ServerSpec): Record<string, number | string> {
    const { tdp, known } = codecarbonTdp(spec);
    return { chips: spec.chips, tdpWatts: tdp, tdpSource: known ? 'spec' : 'codecarbon default' };
  },
};
