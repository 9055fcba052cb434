// Zones of one name on several sockets (package-0, package-1) summed into one zone, as Kepler
// does, so dashboards see one `package` series per node. Each socket's counter wraps on its own,
// so the wrap is undone per socket and the sum is kept as a counter over the sum of the ranges.
// Each socket's share of that sum is kept beside it (partCounters), for the exports that show
// sockets apart (Kepler 0.7's node series, package="<socket>").

import { counterDelta, type EnergyZone, type ZonePart } from './energyZone.js';

/** Wrap point used for a sum whose members' ranges are unknown (2^50 µJ ≈ 1.1e9 J). */
export const UNKNOWN_RANGE_WRAP = 2 ** 50;

export class AggregatedZone implements EnergyZone {
  readonly name: string;
  readonly index = 0;
  readonly path: string;
  readonly parts: readonly ZonePart[];
  private readonly max: number;
  private readonly last: (number | undefined)[];
  private total = 0;
  /** What each member added to `total`, wrapping at the same point: their deltas add up to its. */
  private readonly memberTotals: number[];
  private dropped = 0;

  constructor(private readonly members: EnergyZone[]) {
    this.name = members[0].name;
    this.path = `aggregated-${this.name}`;
    this.parts = members.map((z) => ({ index: z.index, path: z.path }));
    const maxes = members.map((z) => z.maxEnergy());
    // The sum wraps at the sum of the ranges. Where a member's range is unknown the sum still
    // needs one, or it would outgrow exact double arithmetic (2^53 µJ) on a long-lived node.
    this.max = maxes.some((m) => m <= 0) ? UNKNOWN_RANGE_WRAP : maxes.reduce((a, b) => a + b, 0);
    this.last = members.map(() => undefined);
    this.memberTotals = members.map(() => 0);
  }

  energy(): number {
    // Read every member before changing state, so a failed read leaves the zone as it was.
    const readings = this.members.map((z) => z.energy());
    readings.forEach((cur, i) => {
      const prev = this.last[i];
      if (prev !== undefined) {
        // A member that went backwards with no known range contributes nothing this time, and
        // is counted as the monitor counts a single zone's (counter_backwards).
        const d = counterDelta(prev, cur, this.members[i].maxEnergy());
        if (d !== null) {
          this.total += d;
          this.memberTotals[i] = (this.memberTotals[i] + d) % this.max;
        } else this.dropped++;
      }
      this.last[i] = cur;
    });
    this.total %= this.max;
    return this.total;
  }

  partCounters(): readonly number[] {
    return [...this.memberTotals];
  }

  maxEnergy(): number {
    return this.max;
  }

  takeDroppedReadings(): number {
    const n = this.dropped;
    this.dropped = 0;
    return n;
  }
}
