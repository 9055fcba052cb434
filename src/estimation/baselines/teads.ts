// Teads: CPU power as a fraction of TDP, measured with RAPL on AWS bare metal, at 0 / 10 / 50 /
// 100 % load (0.12 / 0.32 / 0.75 / 1.02) and interpolated linearly between. CPU packages only, as
// published; memory and the rest of the server are not in the curve.

import { clampLoad, type PowerBreakdown, type PowerModel, type ServerSpec } from '../powerModel.js';
import { tdpOf } from '../tdp.js';

/** [load, fraction of TDP] points of the Teads curve. */
export const TEADS_POINTS: readonly (readonly [number, number])[] = [
  [0, 0.12],
  [0.1, 0.32],
  [0.5, 0.75],
  [1, 1.02],
];

/** Fraction of TDP at `load` (0..1), linear between the Teads points. */
export function teadsRatio(load: number): number {
  const x = clampLoad(load);
  for (let i = 1; i < TEADS_POINTS.length; i++) {
    const [x1, y1] = TEADS_POINTS[i];
    if (x <= x1) {
      const [x0, y0] = TEADS_POINTS[i - 1];
      return y0 + ((x - x0) / (x1 - x0)) * (y1 - y0);
    }
  }
  return TEADS_POINTS[TEADS_POINTS.length - 1][1];
}

export const teadsModel: PowerModel = {
  name: 'teads',
  description: 'Teads (AWS bare metal, RAPL): chips x TDP x 0.12/0.32/0.75/1.02 at 0/10/50/100 % load, linear between; CPU only',
  predict(spec: ServerSpec, load: number): PowerBreakdown {
    const cpu = spec.chips * tdpOf(spec) * teadsRatio(load);
    return { total: cpu, cpu, memory: 0, other: 0 };
  },
  parameters(spec: ServerSpec): Record<string, number | string> {
    return {
      chips: spec.chips,
      tdpWatts: tdpOf(spec),
      tdpSource: spec.tdpWatts !== undefined && spec.tdpWatts > 0 ? 'spec' : 'estimated from cores',
    };
  },
};
