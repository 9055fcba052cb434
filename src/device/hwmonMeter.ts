// hwmon (<sysfs>/class/hwmon/hwmon*): energy counters `energyN_input` (µJ) and power sensors
// `powerN_average` / `powerN_input` (µW), including ACPI `power_meter` chips (whole-platform power
// reported by the BMC). The zone name is the sensor's label file when present, else the chip name.

import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { MeterUnavailableError, type EnergyMeter, type EnergyZone } from './energyZone.js';
import { IntegratedPowerZone, monotonicMs, type Clock } from './integratedPowerZone.js';
import { listMeterDir, readCounterFile } from './sysfsFiles.js';
import { FileReader } from '../util/fileReader.js';

export interface HwmonMeterOptions {
  sysfs: string;
  /** Keep only zones with these names (case-insensitive); empty keeps all. */
  zoneFilter: string[];
  /** Also accept GPU chips, which measure the graphics card and not the CPU (off by default). */
  forceEnabled: boolean;
  clock?: Clock;
}

// Power sensors of these drivers measure a GPU: taking one as the node's CPU meter would be wrong.
const GPU_CHIPS = new Set(['amdgpu', 'radeon', 'nouveau', 'i915', 'xe']);

export interface HwmonSensor {
  chipDir: string; // hwmon3, or hwmon3/device where the driver puts its sensors on the parent device
  chip: string; // name file of the chip
  kind: 'energy' | 'power';
  file: string; // energy1_input, power1_average
  label?: string;
}

/** Pure: finds the sensors of one chip from its file list (power average preferred over input). */
export function findHwmonSensors(chipDir: string, chip: string, files: string[], labels: Map<string, string>): HwmonSensor[] {
  const out: HwmonSensor[] = [];
  const fileSet = new Set(files);
  for (const f of [...files].sort((a, b) => a.localeCompare(b, 'en', { numeric: true }))) {
    let m = /^energy(\d+)_input$/.exec(f);
    if (m) {
      out.push({ chipDir, chip, kind: 'energy', file: f, label: labels.get(`energy${m[1]}`) });
      continue;
    }
    m = /^power(\d+)_(average|input)$/.exec(f);
    if (m) {
      if (m[2] === 'input' && fileSet.has(`power${m[1]}_average`)) continue;
      out.push({ chipDir, chip, kind: 'power', file: f, label: labels.get(`power${m[1]}`) });
    }
  }
  return out;
}

/** Pure: zone names and indexes for sensors, in order of appearance per name. */
export function nameHwmonZones(sensors: HwmonSensor[]): { sensor: HwmonSensor; name: string; index: number }[] {
  const next = new Map<string, number>();
  return sensors.map((sensor) => {
    const name = (sensor.label ?? sensor.chip).trim().toLowerCase().replace(/\s+/g, '_');
    const index = next.get(name) ?? 0;
    next.set(name, index + 1);
    return { sensor, name, index };
  });
}

class HwmonEnergyZone implements EnergyZone {
  constructor(
    readonly name: string,
    readonly index: number,
    readonly path: string,
    private readonly reader: FileReader,
  ) {}
  energy(): number {
    return readCounterFile(this.reader, this.path);
  }
  maxEnergy(): number {
    return 0; // hwmon energy counters are 64-bit and do not publish a range
  }
}

export class HwmonMeter implements EnergyMeter {
  readonly name = 'hwmon';
  private readonly reader = new FileReader(256);

  constructor(private readonly opts: HwmonMeterOptions) {}

  zones(): EnergyZone[] {
    const base = join(this.opts.sysfs, 'class', 'hwmon');
    const chips = listMeterDir(base, 'no hwmon sensors exposed').filter((d) => d.startsWith('hwmon'));
    const sensors: HwmonSensor[] = [];
    const skippedGpu: string[] = [];
    for (const hwmonDir of chips.sort((a, b) => a.localeCompare(b, 'en', { numeric: true }))) {
      const found = this.readChip(base, hwmonDir);
      if (!found) continue;
      const { chipDir, chip, files } = found;
      const dir = join(base, chipDir);
      if (GPU_CHIPS.has(chip) && !this.opts.forceEnabled) {
        skippedGpu.push(chip);
        continue;
      }
      const labels = new Map<string, string>();
      for (const f of files) {
        const m = /^((?:energy|power)\d+)_label$/.exec(f);
        if (!m) continue;
        try {
          labels.set(m[1], this.reader.readUtf8(join(dir, f)).trim());
        } catch {
          // an unreadable label falls back to the chip name
        }
      }
      sensors.push(...findHwmonSensors(chipDir, chip, files, labels));
    }
    const keep = new Set(this.opts.zoneFilter.map((z) => z.toLowerCase()));
    const named = nameHwmonZones(sensors).filter((z) => keep.size === 0 || keep.has(z.name));
    if (named.length === 0) {
      const gpu = skippedGpu.length ? `; GPU chips ${skippedGpu.join(', ')} skipped (experimental.hwmon.forceEnabled to use them)` : '';
      throw new MeterUnavailableError(`${base}: no energy or power sensors${gpu}`);
    }
    const zones: EnergyZone[] = [];
    const problems: string[] = [];
    for (const { sensor, name, index } of named) {
      const file = join(base, sensor.chipDir, sensor.file);
      const zone =
        sensor.kind === 'energy'
          ? new HwmonEnergyZone(name, index, file, this.reader)
          : new IntegratedPowerZone(name, index, file, () => readCounterFile(this.reader, file), this.opts.clock ?? monotonicMs);
      try {
        zone.energy();
        zones.push(zone);
      } catch (err) {
        problems.push((err as Error).message);
      }
    }
    if (zones.length === 0) throw new MeterUnavailableError(problems[0]);
    return zones;
  }

  /**
   * The chip's name and files: in hwmonN/, or, for drivers on the old hwmon_device_register() API
   * (ACPI power_meter among them), on the parent device hwmonN/device/, as libsensors looks.
   */
  private readChip(base: string, hwmonDir: string): { chipDir: string; chip: string; files: string[] } | undefined {
    for (const chipDir of [hwmonDir, join(hwmonDir, 'device')]) {
      const dir = join(base, chipDir);
      try {
        const chip = this.reader.readText(join(dir, 'name')).trim();
        return { chipDir, chip, files: readdirSync(dir) };
      } catch {
        // no name here: try the parent device
      }
    }
    return undefined;
  }
}
