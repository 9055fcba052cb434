// Boavizta: CPU power P(load %) = a * ln(b * (load + c)) + d per package, with the generic Xeon
// Platinum parameters (about 36 W at idle, 260 W at full load) when the TDP is unknown, refitted
// to TDP x the Teads ratios when it is known. RAM 0.284 W per GB; the other components add 33 %
// of CPU + RAM. Facts from shared/spec/estimation.md.

import { clampLoad, type PowerBreakdown, type PowerModel, type ServerSpec } from '../powerModel.js';
import { TEADS_POINTS } from './teads.js';

/** P(x) = a * ln(b * (x + c)) + d, x the load in percent (0..100), P in watts per package. */
export interface BoaviztaCurve {
  readonly a: number;
  readonly b: number;
  readonly c: number;
  readonly d: number;
}

/** Boavizta's generic Xeon Platinum curve. */
export const BOAVIZTA_GENERIC: BoaviztaCurve = { a: 171.2, b: 0.0354, c: 36.89, d: -10.13 };
export const BOAVIZTA_RAM_W_PER_GB = 0.284;
/** Other components (board, fans, disks, PSU losses) as a fraction of CPU + RAM. */
export const BOAVIZTA_OTHER_FRACTION = 0.33;

export function boaviztaCpuWatts(curve: BoaviztaCurve, loadPercent: number): number {
  return curve.a * Math.log(curve.b * (loadPercent + curve.c)) + curve.d;
}

// For a fixed c, a * ln(b * (x + c)) + d = a * ln(x + c) + k with k = a * ln(b) + d: linear in a
// and k, so ordinary least squares gives them; c is searched (grid on ln c, then golden section).
const C_MIN = 1e-3;
const C_MAX = 1e5;

function linearFit(points: readonly (readonly [number, number])[], c: number): { a: number; k: number; sse: number } {
  const n = points.length;
  let su = 0;
  let sy = 0;
  let suu = 0;
  let suy = 0;
  for (const [x, y] of points) {
    const u = Math.log(x + c);
    su += u;
    sy += y;
    suu += u * u;
    suy += u * y;
  }
  const den = n * suu - su * su;
  const a = den === 0 ? 0 : (n * suy - su * sy) / den;
  const k = (sy - a * su) / n;
  let sse = 0;
  for (const [x, y] of points) sse += (a * Math.log(x + c) + k - y) ** 2;
  return { a, k, sse };
}

/**
 * Least-squares fit of a * ln(b * (x + c)) + d to (load %, watts) points (at least 3, distinct
 * loads), reported with b fixed to the generic 0.0354 (b is redundant with d).
 */
export function fitBoaviztaCurve(points: readonly (readonly [number, number])[], b = BOAVIZTA_GENERIC.b): BoaviztaCurve & { rmse: number } {
  if (points.length < 3) throw new Error('fitBoaviztaCurve: need at least 3 points');
  // c ranges over (offset, offset + C_MAX] so that every x + c stays positive.
  const offset = Math.max(0, -Math.min(...points.map(([x]) => x)));
  const cOf = (t: number) => offset + Math.exp(t);
  const sseAt = (t: number) => linearFit(points, cOf(t)).sse;
  const lo0 = Math.log(C_MIN);
  const hi0 = Math.log(C_MAX);
  const STEPS = 400;
  let best = 0;
  let bestSse = Infinity;
  for (let i = 0; i <= STEPS; i++) {
    const s = sseAt(lo0 + ((hi0 - lo0) * i) / STEPS);
    if (s < bestSse) {
      bestSse = s;
      best = i;
    }
  }
  let lo = lo0 + ((hi0 - lo0) * Math.max(0, best - 1)) / STEPS;
  let hi = lo0 + ((hi0 - lo0) * Math.min(STEPS, best + 1)) / STEPS;
  const g = (Math.sqrt(5) - 1) / 2;
  let t1 = hi - g * (hi - lo);
  let t2 = lo + g * (hi - lo);
  let f1 = sseAt(t1);
  let f2 = sseAt(t2);
  for (let i = 0; i < 100 && hi - lo > 1e-12; i++) {
    if (f1 <= f2) {
      hi = t2;
      t2 = t1;
      f2 = f1;
      t1 = hi - g * (hi - lo);
      f1 = sseAt(t1);
    } else {
      lo = t1;
      t1 = t2;
      f1 = f2;
      t2 = lo + g * (hi - lo);
      f2 = sseAt(t2);
    }
  }
  const c = cOf((lo + hi) / 2);
  const { a, k, sse } = linearFit(points, c);
  return { a, b, c, d: k - a * Math.log(b), rmse: Math.sqrt(sse / points.length) };
}

// The fit to TDP x ratios scales with the TDP (c does not depend on it), so fit the ratios once.
let unitCurve: BoaviztaCurve | undefined;

/** The Boavizta curve refitted to TDP x the Teads ratios at 0 / 10 / 50 / 100 % load. */
export function boaviztaCurveForTdp(tdpWatts: number): BoaviztaCurve {
  unitCurve ??= fitBoaviztaCurve(TEADS_POINTS.map(([load, ratio]) => [load * 100, ratio] as const));
  const u = unitCurve;
  return { a: u.a * tdpWatts, b: u.b, c: u.c, d: u.d * tdpWatts };
}

/** The curve for a spec, and the TDP it was refitted to (none: the generic curve). */
function curveFor(spec: ServerSpec): { curve: BoaviztaCurve; fittedTo?: number } {
  if (spec.tdpWatts !== undefined && spec.tdpWatts > 0) return { curve: boaviztaCurveForTdp(spec.tdpWatts), fittedTo: spec.tdpWatts };
  return { curve: BOAVIZTA_GENERIC };
}

export const boaviztaModel: PowerModel = {
  name: 'boavizta',
  description: 'Boavizta: per package a*ln(b*(load%+c))+d (generic Xeon Platinum, or refitted to TDP x Teads ratios), RAM 0.284 W/GB, other +33 %',
  predict(spec: ServerSpec, load: number): PowerBreakdown {
    const { curve } = curveFor(spec);
    const cpu = spec.chips * Math.max(0, boaviztaCpuWatts(curve, clampLoad(load) * 100));
    const memory = spec.memGb * BOAVIZTA_RAM_W_PER_GB;
    const other = BOAVIZTA_OTHER_FRACTION * (cpu + memory);
    return { total: cpu + memory + other, cpu, memory, other };
  },
  parameters(spec: ServerSpec): Record<string, number | string> {
    const { curve, fittedTo } = curveFor(spec);
    return {
      curve: fittedTo !== undefined ? 'refitted to TDP x Teads ratios' : 'generic Xeon Platinum',
      ...(fittedTo !== undefined ? { tdpWatts: fittedTo } : {}),
      chips: spec.chips,
      a: curve.a,
      b: curve.b,
      c: curve.c,
      d: curve.d,
      ramWattsPerGb: BOAVIZTA_RAM_W_PER_GB,
      otherFraction: BOAVIZTA_OTHER_FRACTION,
    };
  },
};
