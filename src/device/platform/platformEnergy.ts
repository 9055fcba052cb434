// The energy of a platform reading source, from one reading to the next: the source's own
// counter (Redfish EnergykWh) where it is fine enough and agrees with the power readings, else
// its power integrated over time. Pure: no clock, no I/O. A total never goes down: across an
// outage the integral spans the gap between the last reading before it and the first after; a
// counter that goes back (a BMC reset) or jumps (a swapped supply, a restored lifetime counter)
// is not used for that step.

import type { PlatformReading } from './platformSource.js';

/** µJ per kWh. */
const UJ_PER_KWH = 3.6e12;
/** One watt-hour: a counter's resolution step the power readings cannot see. */
const ONE_WH_UJ = 3.6e9;
/** A reading above this is not a machine's power (the exporter's ceiling for any watts setting). */
export const MAX_PLATFORM_WATTS = 100_000;

export interface SourceEnergy {
  /** Energy since the first reading, exact µJ. */
  readonly energyUj: bigint;
  /** The last reading's watts and monotonic ms; absent when integration restarts (the source was away). */
  readonly last?: { readonly watts: number; readonly atMs: number; readonly kwh?: number };
  /**
   * Whether the counter advanced at the previous step: a counter that moves at every reading has
   * a resolution finer than a poll's energy (0.1 kWh counters at 300 W move every 20 minutes).
   */
  readonly counterMoved: boolean;
}

/** The key of a reading source, stable across readings. */
export function sourceKey(r: PlatformReading): string {
  return `${r.source}\u0000${r.bmcId}\u0000${r.chassisId}\u0000${r.sourceType}\u0000${r.sourceId}`;
}

/** Whether a reading's watts can be a machine's: finite, >= 0, at most MAX_PLATFORM_WATTS. */
export function plausibleWatts(w: number): boolean {
  return Number.isFinite(w) && w >= 0 && w <= MAX_PLATFORM_WATTS;
}

/**
 * The source's energy after one more reading at monotonic `atMs` (its watts plausible). The step
 * is the counter's delta when the counter moved at this reading and the one before (fine enough)
 * and agrees with the trapezoid within the trapezoid plus one watt-hour; else the trapezoid of the
 * two power readings over the time between them. The first reading, and the first after the
 * source was away from a good poll, add nothing: that time is not known to be the source's.
 */
export function advanceEnergy(prev: SourceEnergy | undefined, r: PlatformReading, atMs: number): SourceEnergy {
  const kwh = r.energyKwh !== undefined && Number.isFinite(r.energyKwh) && r.energyKwh >= 0 ? r.energyKwh : undefined;
  const watts = plausibleWatts(r.watts) ? r.watts : 0;
  const last = { watts, atMs, ...(kwh !== undefined ? { kwh } : {}) };
  const energyUj = prev?.energyUj ?? 0n;
  if (!prev?.last) return { energyUj, last, counterMoved: false };
  const dtSec = Math.max(0, (atMs - prev.last.atMs) / 1000);
  const trapezoidUj = Math.round(((prev.last.watts + watts) / 2) * dtSec * 1e6);
  const moved = kwh !== undefined && prev.last.kwh !== undefined && kwh > prev.last.kwh;
  const counterUj = moved ? Math.round((kwh - (prev.last.kwh ?? 0)) * UJ_PER_KWH) : NaN;
  const agrees = Number.isFinite(counterUj) && Math.abs(counterUj - trapezoidUj) <= trapezoidUj + ONE_WH_UJ;
  const stepUj = moved && prev.counterMoved && agrees ? counterUj : trapezoidUj;
  return { energyUj: energyUj + BigInt(Number.isSafeInteger(stepUj) && stepUj > 0 ? stepUj : 0), last, counterMoved: moved };
}

/** The source was missing from a good poll: its total stays, and its next reading starts a new integral. */
export function restartEnergy(prev: SourceEnergy): SourceEnergy {
  return { energyUj: prev.energyUj, counterMoved: false };
}
