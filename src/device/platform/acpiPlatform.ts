// ACPI power_meter (hwmon chip "power_meter", power1_average in µW): what the platform firmware
// says the whole machine draws, the same quantity as a BMC's chassis power. It is platform power
// (kepler_platform_watts{source="acpi"}), not a CPU zone: kepler-ts used to take it as hwmon's
// only zone, and so billed fans, disks and power supply losses to CPU time. Read on demand (a
// sysfs file, microseconds), once per refresh.

import { join } from 'node:path';
import { FileReader } from '../../util/fileReader.js';
import { listMeterDir, readCounterFile } from '../sysfsFiles.js';
import { advanceEnergy, sourceKey, type SourceEnergy } from './platformEnergy.js';
import type { PlatformReading, PlatformSource, PlatformSourceState, PlatformState } from './platformSource.js';

export const ACPI_CHIP = 'power_meter';

/** A power_meter sensor: its hwmon directory (hwmon2, or hwmon2/device) and power file. */
export interface AcpiSensor {
  readonly hwmonDir: string;
  /** Absolute path of power1_average (or power1_input). */
  readonly file: string;
}

/**
 * The power_meter chips under <sysfs>/class/hwmon, with the name file in hwmonN/ or, for the
 * old hwmon API ACPI's driver uses, on the parent device hwmonN/device/ (as libsensors looks).
 */
export function findAcpiSensors(sysfs: string, reader = new FileReader(256)): AcpiSensor[] {
  const base = join(sysfs, 'class', 'hwmon');
  let dirs: string[];
  try {
    dirs = listMeterDir(base, 'no hwmon').filter((d) => d.startsWith('hwmon'));
  } catch {
    return [];
  }
  const out: AcpiSensor[] = [];
  for (const d of dirs.sort((a, b) => a.localeCompare(b, 'en', { numeric: true }))) {
    for (const chipDir of [join(base, d), join(base, d, 'device')]) {
      let name: string;
      try {
        name = reader.readText(join(chipDir, 'name')).trim();
      } catch {
        continue;
      }
      if (name !== ACPI_CHIP) break;
      for (const f of ['power1_average', 'power1_input']) {
        try {
          readCounterFile(reader, join(chipDir, f));
          out.push({ hwmonDir: d, file: join(chipDir, f) });
          break;
        } catch {
          // not this file
        }
      }
      break;
    }
  }
  return out;
}

export class AcpiPlatform implements PlatformSource {
  readonly name = 'acpi';
  readonly errorKinds = ['read'] as const;
  private readonly reader = new FileReader(256);
  private readonly energy = new Map<string, SourceEnergy>();
  private readonly errors = { read: 0 };
  private readonly clock: () => number;

  constructor(
    readonly sensors: readonly AcpiSensor[],
    clock?: () => number,
  ) {
    this.clock = clock ?? (() => performance.now());
  }

  start(): void {}

  stop(): Promise<void> {
    return Promise.resolve();
  }

  /** Reads every sensor now; one that cannot be read is counted and left out (no frozen value). */
  state(): PlatformState {
    const at = this.clock();
    const readings: PlatformSourceState[] = [];
    for (const s of this.sensors) {
      let microwatts: number;
      try {
        microwatts = readCounterFile(this.reader, s.file);
      } catch {
        this.errors.read++;
        continue;
      }
      const r: PlatformReading = { source: 'acpi', bmcId: '', chassisId: '', sourceId: s.hwmonDir, sourceName: ACPI_CHIP, sourceType: ACPI_CHIP, watts: microwatts / 1e6 };
      const key = sourceKey(r);
      const e = advanceEnergy(this.energy.get(key), r, at);
      this.energy.set(key, e);
      readings.push({ reading: r, energyUj: e.energyUj, readAtMs: at });
    }
    return { readings, errors: { ...this.errors } };
  }
}
