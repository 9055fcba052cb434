// The energy of a platform reading source, from one reading to the next: the source's own
// counter (Redfish EnergykWh) where it is fine enough, else its power integrated over time.
// Pure: no clock, no I/O. A total never goes down: across an outage the integral spans the gap
// between the last reading before it and the first after; a counter that goes back (a BMC reset)
// is not used for that step.

import type { PlatformReading } from './platformSource.js';

/** µJ per kWh. */
const UJ_PER_KWH = 3.6e12;

export interface SourceEnergy {
  /** Energy since the first reading, exact µJ. */
  readonly energyUj: bigint;
  readonly lastWatts: number;
  /** Monotonic ms of the last reading. */
  readonly lastAtMs: number;
  readonly lastKwh?: number;
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

/**
 * The source's energy after one more reading at monotonic `atMs`. The step is the counter's delta
 * when the counter moved at this reading and the one before (fine enough), else the trapezoid of
 * the two power readings over the time between them.
 */
export function advanceEnergy(prev: SourceEnergy | undefined, r: PlatformReading, atMs: number): SourceEnergy {
  const kwh = r.energyKwh !== undefined && Number.isFinite(r.energyKwh) && r.energyKwh >= 0 ? r.energyKwh : undefined;
  const watts = Number.isFinite(r.watts) && r.watts >= 0 ? r.watts : 0;
  if (!prev) return { energyUj: 0n, lastWatts: watts, lastAtMs: atMs, counterMoved: false, ...(kwh !== undefined ? { lastKwh: kwh } : {}) };
  const dtSec = Math.max(0, (atMs - prev.lastAtMs) / 1000);
  const moved = kwh !== undefined && prev.lastKwh !== undefined && kwh > prev.lastKwh;
  const stepUj = moved && prev.counterMoved ? Math.round(((kwh ?? 0) - (prev.lastKwh ?? 0)) * UJ_PER_KWH) : Math.round(((prev.lastWatts + watts) / 2) * dtSec * 1e6);
  return {
    energyUj: prev.energyUj + BigInt(Math.max(0, stepUj)),
    lastWatts: watts,
    lastAtMs: atMs,
    counterMoved: moved,
    ...(kwh !== undefined ? { lastKwh: kwh } : {}),
  };
}
