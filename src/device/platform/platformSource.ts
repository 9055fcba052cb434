// Platform power: what the whole machine draws at the wall, from the BMC (Redfish) or ACPI's
// power_meter. Not a CPU zone: it is exported as kepler_platform_* and attributed to no workload.
// BMCs answer in seconds and limit their rate, so a source polls in the background at its own
// interval and the monitor only copies its latest state into each snapshot: a refresh or a scrape
// never waits for a BMC.

/** One reading source of a chassis: a power supply, the chassis' environment metrics, a PowerControl. */
export interface PlatformReading {
  /** The `source` label: redfish or acpi. */
  readonly source: 'redfish' | 'acpi';
  /** The BMC's id in the BMC file (redfish), the hwmon chip directory (acpi). */
  readonly bmcId: string;
  readonly chassisId: string;
  /** Unique within its chassis and type: a PSU's Id, a PowerControl's MemberId, the chassis' Id. */
  readonly sourceId: string;
  readonly sourceName: string;
  /** PowerSupply, EnvironmentMetrics, PowerControl (redfish); power_meter (acpi). */
  readonly sourceType: string;
  /** Watts drawn at the wall by this source, as the BMC last read them. */
  readonly watts: number;
  /** The source's own energy counter in kWh (Redfish EnergykWh), when it has one. */
  readonly energyKwh?: number;
}

/** What a source has to show at a moment: its fresh readings, with their energy since start. */
export interface PlatformState {
  /** Empty while the source is in an outage: no frozen old values. */
  readonly readings: readonly PlatformSourceState[];
  /** Problems since start, by kind (timeout, http, auth, parse, connect, read). */
  readonly errors: Readonly<Record<string, number>>;
}

export interface PlatformSourceState {
  readonly reading: PlatformReading;
  /** Energy since the exporter started, exact µJ; never goes down, through outages and resets. */
  readonly energyUj: bigint;
  /** Monotonic ms of the reading. */
  readonly readAtMs: number;
}

export interface PlatformSource {
  /** `redfish` or `acpi`: the `source` label of kepler_exporter_platform_errors_total. */
  readonly name: 'redfish' | 'acpi';
  /** The error kinds it counts, exported from the start at 0. */
  readonly errorKinds: readonly string[];
  /** Starts polling in the background (a no-op for a source read on demand). */
  start(): void;
  stop(): Promise<void>;
  /** Its latest state; never blocks, never throws. */
  state(): PlatformState;
}
