// kts-specpower: kepler-ts's own whole-server power model, fitted on SPECpower_ssj2008 results.
//
//   P(load) = P_idle + (P_max - P_idle) * g(load)
//
// - P_max and P_idle are linear in what an exporter can learn about the hardware (package power
//   budget chips x TDP, memory, sockets), with era and vendor terms: servers before 2009 idled at
//   60 % of full power, 2012+ ones at 12-25 %, and AMD packages draw less of their TDP at full
//   load than Intel ones. Least squares weighted by 1/watts^2, i.e. on relative error, which
//   is what a user (and the MAPE) sees.
// - g is the dynamic part's shape, 0 at idle and 1 at full load: the per-level median of the
//   fitted rows of the same era and vendor, interpolated linearly between SPECpower's levels.
// - Hardware from 2020 on is beyond the training data (it stops at 2018). Published SPECpower
//   medians say idle/max rose again to 0.22-0.26 in 2020-2022, after 0.12-0.16 in 2017-2019, with
//   AMD above Intel in the data we have; there the idle fraction is taken from those figures, and
//   for hardware of unknown year too (what runs today is mostly that recent). 2019 hardware is
//   like 2017-2018's and uses the fit.
// - Below a 40 W package budget (boards, small ARM systems: smaller than any SPECpower server) the
//   linear fit means nothing; those use the Teads CPU curve on the TDP plus memory and a board.
//
// The numbers come from specpowerFit.ts; specpowerParameters.ts holds the committed fit.

import { clampLoad, type PowerBreakdown, type PowerModel, type ServerSpec, SPEC_LOAD_LEVELS } from './powerModel.js';
import { BOAVIZTA_RAM_W_PER_GB } from './baselines/boavizta.js';
import { teadsRatio } from './baselines/teads.js';
import { tdpOf } from './tdp.js';

/** Feature names, in the order of the coefficient vectors. */
export const FEATURES = ['const', 'cpuW', 'memGb', 'chips', 'cpuW_pre2009', 'cpuW_2009_2011', 'pre2009', 'cpuW_amd'] as const;
export type Era = 'pre2009' | '2009-2011' | '2012-2016' | '2017+';
export const ERAS: readonly Era[] = ['pre2009', '2009-2011', '2012-2016', '2017+'];
export type VendorGroup = 'amd' | 'other';

export interface SpecpowerParameters {
  /** Coefficients of FEATURES for full-load watts. */
  max: number[];
  /** Coefficients of FEATURES for active-idle watts. */
  idle: number[];
  /** g at the 11 SPEC load levels, by era and vendor group. */
  shape: Record<Era, Record<VendorGroup, number[]>>;
  /** Idle / max for hardware from 2020 on, by vendor group (published medians, see above). */
  modernIdleRatio: Record<VendorGroup, number>;
  /** How the parameters were obtained, for the info metric and the log. */
  fittedOn: string;
}

/** Hardware from this year on uses modernIdleRatio. */
export const MODERN_FROM_YEAR = 2020;
/** Below this package budget (watts, all packages) the component fallback is used. */
export const SMALL_SYSTEM_CPU_W = 40;
const SMALL_BOARD_W = 2;
/** Idle can never be above this fraction of full-load power. */
const MAX_IDLE_RATIO = 0.95;
const MIN_WATTS = 0.5;

export function eraOf(year: number | undefined): Era {
  if (year === undefined || !Number.isFinite(year)) return '2017+';
  if (year <= 2008) return 'pre2009';
  if (year <= 2011) return '2009-2011';
  if (year <= 2016) return '2012-2016';
  return '2017+';
}

export const vendorGroupOf = (spec: ServerSpec): VendorGroup => (spec.vendor === 'amd' ? 'amd' : 'other');

/** Pure: the feature vector of a server (same order as FEATURES). */
export function featuresOf(spec: ServerSpec): number[] {
  const cpuW = Math.max(1, spec.chips) * tdpOf(spec);
  const era = eraOf(spec.year);
  const amd = spec.vendor === 'amd' ? 1 : 0;
  return [1, cpuW, spec.memGb, Math.max(1, spec.chips), era === 'pre2009' ? cpuW : 0, era === '2009-2011' ? cpuW : 0, era === 'pre2009' ? 1 : 0, amd * cpuW];
}

/** Pure: piecewise-linear interpolation of `ys` given at `xs` (ascending), clamped at the ends. */
export function interpolate(xs: readonly number[], ys: readonly number[], x: number): number {
  if (x <= xs[0]) return ys[0];
  for (let i = 1; i < xs.length; i++) {
    if (x <= xs[i]) return ys[i - 1] + ((ys[i] - ys[i - 1]) * (x - xs[i - 1])) / (xs[i] - xs[i - 1]);
  }
  return ys[ys.length - 1];
}

const dot = (a: readonly number[], b: readonly number[]) => a.reduce((s, v, i) => s + v * b[i], 0);

export class SpecpowerModel implements PowerModel {
  readonly name = 'kts-specpower';
  readonly description: string;

  constructor(private readonly params: SpecpowerParameters) {
    this.description = `kepler-ts idle + dynamic model fitted on SPECpower_ssj2008 (${params.fittedOn})`;
  }

  /** Idle and full-load watts of the whole server, and the shape between them. */
  curve(spec: ServerSpec): { idle: number; max: number; shape: number[]; mode: 'fitted' | 'modern' | 'small-system' } {
    const cpuW = Math.max(1, spec.chips) * tdpOf(spec);
    if (cpuW < SMALL_SYSTEM_CPU_W) {
      const other = SMALL_BOARD_W + BOAVIZTA_RAM_W_PER_GB * spec.memGb;
      const idle = cpuW * teadsRatio(0) + other;
      const max = cpuW * teadsRatio(1) + other;
      const shape = SPEC_LOAD_LEVELS.map((l) => (cpuW * (teadsRatio(l) - teadsRatio(0))) / (max - idle));
      return { idle, max, shape, mode: 'small-system' };
    }
    const f = featuresOf(spec);
    const group = vendorGroupOf(spec);
    const max = Math.max(MIN_WATTS * 2, dot(this.params.max, f));
    const modern = spec.year === undefined || spec.year >= MODERN_FROM_YEAR;
    const idleRaw = modern ? this.params.modernIdleRatio[group] * max : dot(this.params.idle, f);
    const idle = Math.min(max * MAX_IDLE_RATIO, Math.max(MIN_WATTS, idleRaw));
    return { idle, max, shape: this.params.shape[eraOf(spec.year)][group], mode: modern ? 'modern' : 'fitted' };
  }

  predict(spec: ServerSpec, load: number): PowerBreakdown {
    const { idle, max, shape } = this.curve(spec);
    const total = idle + (max - idle) * interpolate(SPEC_LOAD_LEVELS, shape, clampLoad(load));
    return splitServerPower(spec, idle, total);
  }

  parameters(spec: ServerSpec): Record<string, number | string> {
    const c = this.curve(spec);
    return {
      idle_watts: round(c.idle),
      max_watts: round(c.max),
      tdp_watts: round(tdpOf(spec)),
      era: eraOf(spec.year),
      mode: c.mode,
    };
  }
}

/**
 * Pure: splits whole-server watts into CPU, memory and the rest, so the estimator can offer
 * `package` and `dram` zones. Memory draws Boavizta's 0.284 W/GB, at most 30 % of idle; the CPU
 * packages draw Teads' 12 % of TDP at idle (at most half of idle) plus everything above idle.
 */
export function splitServerPower(spec: ServerSpec, idle: number, total: number): PowerBreakdown {
  const memory = Math.min(BOAVIZTA_RAM_W_PER_GB * spec.memGb, 0.3 * idle);
  const idleCpu = Math.min(teadsRatio(0) * Math.max(1, spec.chips) * tdpOf(spec), 0.5 * idle);
  const cpu = idleCpu + Math.max(0, total - idle);
  return { total, cpu, memory, other: Math.max(0, total - cpu - memory) };
}

const round = (v: number) => Math.round(v * 100) / 100;
