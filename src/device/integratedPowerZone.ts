// A zone over an instantaneous power sensor (µW): energy is power x elapsed time, integrated at
// each read on a monotonic clock, and kept as a counter that wraps at WRAP_UJ so it stays exact in
// double arithmetic. Used by hwmon power sensors and by the fake meter.

import type { EnergyZone } from './energyZone.js';

export const WRAP_UJ = 2 ** 50;

/** Monotonic milliseconds; injectable so tests drive time. */
export type Clock = () => number;
export const monotonicMs: Clock = () => performance.now();

export class IntegratedPowerZone implements EnergyZone {
  private total = 0;
  private lastMs: number | undefined;
  private carry = 0; // sub-µJ remainder, so rounding never drifts

  constructor(
    readonly name: string,
    readonly index: number,
    readonly path: string,
    /** Current power in µW; throws when unreadable. */
    private readonly readMicrowatts: () => number,
    private readonly clock: Clock = monotonicMs,
  ) {}

  energy(): number {
    const uw = this.readMicrowatts();
    // One NaN or Infinity would make the running total NaN for good (every later delta dropped,
    // watts 0 forever): refuse the reading, so the monitor counts it and the zone resumes.
    if (!Number.isFinite(uw) || uw < 0) throw new Error(`${this.path}: power reading ${uw} µW is not a finite number >= 0`);
    const now = this.clock();
    if (this.lastMs !== undefined) {
      const exact = (uw * (now - this.lastMs)) / 1000 + this.carry;
      const whole = Math.floor(exact);
      this.carry = exact - whole;
      this.total = (this.total + whole) % WRAP_UJ;
    }
    this.lastMs = now;
    return this.total;
  }

  maxEnergy(): number {
    return WRAP_UJ;
  }
}
