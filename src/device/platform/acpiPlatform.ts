// ACPI power_meter (hwmon chip "power_meter", power1_average in µW): what the platform firmware
// says the whole machine draws, the same quantity as a BMC's chassis power. It is platform power
// (kepler_platform_watts{source="acpi"}), not a CPU zone: kepler-ts used to take it as hwmon's
// only zone, and so billed fans, disks and power supply losses to CPU time. The driver evaluates
// ACPI's _PMM on each read, which on many servers asks the BMC (tens of ms, seconds when it is
// busy): it is read asynchronously, in the background (PolledPlatform), never on the refresh path.

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseCounter, FileReader } from '../../util/fileReader.js';
import { ACPI_CHIP, readHwmonChip } from '../hwmonMeter.js';
import { listMeterDir, readCounterFile } from '../sysfsFiles.js';
import type { PowerReader } from './polledPlatform.js';
import type { PlatformReading } from './platformSource.js';
import { compareNatural } from '../../util/naturalOrder.js';

export { ACPI_CHIP };
export const ACPI_ERROR_KINDS = ['read'] as const;

/** A power_meter sensor: its hwmon directory (hwmon2) and power file. */
export interface AcpiSensor {
  readonly hwmonDir: string;
  /** Absolute path of power1_average (or power1_input). */
  readonly file: string;
}

/**
 * The power_meter chips under <sysfs>/class/hwmon, with the name file in hwmonN/ or, for the
 * old hwmon API ACPI's driver uses, on the parent device hwmonN/device/ (as libsensors looks).
 * Read once at start-up.
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
  for (const d of dirs.sort(compareNatural)) {
    const c = readHwmonChip(reader, base, d);
    if (c?.chip !== ACPI_CHIP) continue;
    const file = ['power1_average', 'power1_input'].map((f) => join(base, c.chipDir, f)).find((f) => readable(reader, f));
    if (file) out.push({ hwmonDir: d, file });
  }
  return out;
}

function readable(reader: FileReader, file: string): boolean {
  try {
    readCounterFile(reader, file);
    return true;
  } catch {
    return false;
  }
}

/** Reads the sensors asynchronously; one that cannot be read fails the poll (kind `read`): no partial frozen values. */
export class AcpiReader implements PowerReader {
  constructor(readonly sensors: readonly AcpiSensor[]) {}

  async readPower(): Promise<PlatformReading[]> {
    return Promise.all(
      this.sensors.map(async (s): Promise<PlatformReading> => {
        let microwatts: number;
        try {
          microwatts = parseCounter(await readFile(s.file, 'latin1'), s.file);
        } catch (err) {
          throw Object.assign(new Error(`${s.file}: ${err instanceof Error ? err.message : String(err)}`), { kind: 'read' });
        }
        return { source: 'acpi', bmcId: '', chassisId: '', sourceId: s.hwmonDir, sourceName: ACPI_CHIP, sourceType: ACPI_CHIP, watts: microwatts / 1e6 };
      }),
    );
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
