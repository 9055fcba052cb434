// The meter abstraction, after Kepler's internal/device: a meter discovers zones, and a zone is
// one energy counter. Counters are in microjoules and may wrap at maxEnergy(); the monitor turns
// successive readings into deltas (see counterDelta), so a meter never has to.

export interface EnergyZone {
  /** Zone name as exported in the `zone` label: package, core, uncore, dram, psys, or a sensor label. */
  readonly name: string;
  /** Socket or instance index among zones of the same name. */
  readonly index: number;
  /** Where it is read from (the `path` label), or `aggregated-<name>`. */
  readonly path: string;
  /** Current counter value in µJ. Throws when the counter cannot be read. */
  energy(): number;
  /** The value at which the counter wraps to 0, in µJ; 0 when unknown. */
  maxEnergy(): number;
  /**
   * Readings of its own parts the zone had to drop since the last call (a socket of a summed
   * zone whose counter went backwards with no known range), for the monitor to count. Zones
   * with a single counter leave it out: the monitor sees their readings itself.
   */
  takeDroppedReadings?(): number;
  /**
   * The counters a summed zone is made of (AggregatedZone: one per socket), for the exports that
   * show each socket (Kepler 0.7's node series). Absent on a zone with a single counter.
   */
  readonly parts?: readonly ZonePart[];
  /**
   * With `parts`: each part's share of the zone's counter as of the last energy() call, in µJ, in
   * the order of `parts`. Each wraps at maxEnergy() as the zone's counter does, and between two
   * readings the parts' deltas add up to the zone's delta (a reading a part had to drop counts in
   * neither), so that a consumer can split the zone's energy over its parts exactly.
   */
  partCounters?(): readonly number[];
}

/** One counter of a summed zone: its own index (the socket) and where it is read from. */
export interface ZonePart {
  readonly index: number;
  readonly path: string;
}

export interface EnergyMeter {
  /** The name used in `cpu.preferredMeters`. */
  readonly name: string;
  /**
   * Discovers the meter's zones and checks each can be read once.
   * Throws MeterUnavailableError with a reason a user can act on when there is none.
   */
  zones(): EnergyZone[];
  /** What the meter found worth saying once, after zones() (hwmon: a chip rule that matched no chip). */
  notices?(): MeterNotice[];
  /**
   * What the meter is doing now, for kepler_exporter_meter_info's `state` label, when it can change
   * while running (passthrough: `passthrough`, or `passthrough-stale` while the estimator stands in).
   */
  status?(): string;
}

/** Something a meter found worth saying once at start-up. */
export interface MeterNotice {
  level: 'info' | 'warn';
  message: string;
}

export class MeterUnavailableError extends Error {
  override readonly name = 'MeterUnavailableError';
}

/**
 * Energy used between two readings of a counter that wraps at `max`.
 * Returns null when the counter went down and its range is unknown: the interval is dropped
 * (and counted as an error by the caller) rather than reported as negative or as a huge jump.
 */
export function counterDelta(previous: number, current: number, max: number): number | null {
  if (current >= previous) return current - previous;
  if (max > 0 && previous <= max) return max - previous + current;
  return null;
}
