// hwmon (<sysfs>/class/hwmon/hwmon*): energy counters `energyN_input` (µJ) and power sensors
// `powerN_average` / `powerN_input` (µW), including ACPI `power_meter` chips (whole-platform power
// reported by the BMC) beside other chips; alone, power_meter is platform power (acpiPlatform.ts).
// A chip with neither, but with voltage and current sensors and a rule in
// experimental.hwmon.chipRules, gives power as in{N} x curr{M} (hwmonPairing.ts), as in Kepler.
// The zone name is the sensor's label file when present, else the chip name (a voltage x current
// pair: <chip>_power<N>, as Kepler names it).
//
// GPU chips (amdgpu, nouveau, ...) measure the graphics card, not the CPU: their zones are used
// only when experimental.hwmon.zones names them, so that no node meters its GPU by accident.

import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { ChipRule } from '../config/chipRules.js';
import { MeterUnavailableError, type EnergyMeter, type EnergyZone, type MeterNotice } from './energyZone.js';
import { channelFiles, pairChannels, pairFiles, ruleFor, type ChannelFiles } from './hwmonPairing.js';
import { IntegratedPowerZone, monotonicMs, type Clock } from './integratedPowerZone.js';
import { listMeterDir, readCounterFile } from './sysfsFiles.js';
import { FileReader } from '../util/fileReader.js';
import { compareNatural } from '../util/naturalOrder.js';

export interface HwmonMeterOptions {
  sysfs: string;
  /** Keep only zones with these names (case-insensitive); empty keeps all but GPU chips' zones. */
  zoneFilter: string[];
  /** Voltage x current pairing for chips without power sensors (experimental.hwmon.chipRules). */
  chipRules?: readonly ChipRule[];
  clock?: Clock;
}

/** ACPI's whole-platform power meter (acpiPlatform.ts). */
export const ACPI_CHIP = 'power_meter';

// Power sensors of these drivers measure a GPU: taking one as the node's CPU meter would be wrong.
const GPU_CHIPS = new Set(['amdgpu', 'radeon', 'nouveau', 'i915', 'xe']);

export interface HwmonSensor {
  chipDir: string; // hwmon3, or hwmon3/device where the driver puts its sensors on the parent device
  chip: string; // name file of the chip
  kind: 'energy' | 'power' | 'voltageCurrent';
  file: string; // energy1_input, power1_average, in1_input
  /** voltageCurrent: the current file multiplied with `file` (curr1_input). */
  currentFile?: string;
  /** voltageCurrent: the voltage channel N of in{N}, for the zone name <chip>_power<N>. */
  channel?: number;
  label?: string;
}

/** Pure: finds the sensors of one chip from its file list (power average preferred over input). */
export function findHwmonSensors(chipDir: string, chip: string, files: string[], labels: Map<string, string>): HwmonSensor[] {
  const out: HwmonSensor[] = [];
  const fileSet = new Set(files);
  for (const f of [...files].sort(compareNatural)) {
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
    const name = zoneName(sensor);
    const index = next.get(name) ?? 0;
    next.set(name, index + 1);
    return { sensor, name, index };
  });
}

function zoneName(s: HwmonSensor): string {
  const fallback = s.kind === 'voltageCurrent' ? `${s.chip}_power${s.channel ?? 0}` : s.chip;
  const label = s.label?.trim();
  return (label ? label : fallback).toLowerCase().replace(/\s+/g, '_');
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

export interface HwmonChip {
  hwmonDir: string;
  chipDir: string;
  chip: string;
  files: string[];
}

export class HwmonMeter implements EnergyMeter {
  readonly name = 'hwmon';
  private readonly reader = new FileReader(256);
  private found: MeterNotice[] = [];

  constructor(private readonly opts: HwmonMeterOptions) {}

  /** What the last zones() call found worth saying once (chip rules that matched nothing). */
  notices(): MeterNotice[] {
    return [...this.found];
  }

  zones(): EnergyZone[] {
    const base = join(this.opts.sysfs, 'class', 'hwmon');
    const dirs = listMeterDir(base, 'no hwmon sensors exposed').filter((d) => d.startsWith('hwmon'));
    const chips = dirs
      .sort(compareNatural)
      .map((d) => readHwmonChip(this.reader, base, d))
      .filter((c) => c !== undefined);
    const rules = this.opts.chipRules ?? [];
    this.found = [];
    const sensors: HwmonSensor[] = [];
    for (const c of chips) {
      const labels = this.readLabels(join(base, c.chipDir), c.files);
      const own = findHwmonSensors(c.chipDir, c.chip, c.files, labels);
      const rule = ruleFor(c.chip, rules);
      if (rule && own.length > 0) {
        this.found.push({
          level: 'info',
          message: `experimental.hwmon.chipRules: chip ${JSON.stringify(c.chip)} (${c.hwmonDir}) has power or energy sensors, which are used; its rule is not needed`,
        });
      }
      sensors.push(...(rule && own.length === 0 ? this.pairedSensors(base, c, rule, labels) : own));
    }
    const present = new Set(chips.map((c) => c.chip.trim().toLowerCase()));
    for (const r of rules) {
      if (present.has(r.name.trim().toLowerCase())) continue;
      const names = [...new Set(chips.map((c) => c.chip))].join(', ') || 'none';
      this.found.push({ level: 'info', message: `experimental.hwmon.chipRules: no hwmon chip named ${JSON.stringify(r.name)}; the rule is unused (chips here: ${names})` });
    }

    const keep = new Set(this.opts.zoneFilter.map((z) => z.toLowerCase()));
    const skippedGpu = new Map<string, Set<string>>();
    const admitted = nameHwmonZones(sensors)
      .filter(({ sensor, name }) => {
        if (!GPU_CHIPS.has(sensor.chip)) return keep.size === 0 || keep.has(name);
        if (!keep.has(name)) skippedGpu.set(sensor.chip, (skippedGpu.get(sensor.chip) ?? new Set()).add(name));
        return keep.has(name);
      })
      .map((z) => z.sensor);
    // ACPI's power_meter alone is the whole machine's power, not the CPU's: platform power reads
    // it (kepler_platform_watts{source="acpi"}). Named in experimental.hwmon.zones, it is a CPU
    // zone as before.
    if (admitted.length > 0 && admitted.every((s) => s.chip === ACPI_CHIP) && !keep.has(ACPI_CHIP)) {
      throw new MeterUnavailableError(
        `${base}: only ACPI ${ACPI_CHIP}, which is the whole platform's power: exported as kepler_platform_watts{source="acpi"}, not as a CPU zone (name it in experimental.hwmon.zones to use it as one)`,
      );
    }
    // Indexes count only the zones kept, so that a GPU zone left out leaves no gap.
    const named = nameHwmonZones(admitted);
    if (named.length === 0) {
      const gpu = [...skippedGpu].map(([chip, zones]) => `${chip} (${[...zones].join(', ')})`).join(', ');
      const gpuNote = gpu ? `; GPU chip zones ${gpu} skipped: name them in experimental.hwmon.zones to use them` : '';
      const ruleNotes = this.found.map((n) => `; ${n.message}`).join('');
      throw new MeterUnavailableError(`${base}: no energy, power or paired voltage/current sensors${gpuNote}${ruleNotes}`);
    }
    const zones: EnergyZone[] = [];
    const problems: string[] = [];
    for (const { sensor, name, index } of named) {
      const zone = this.zone(base, sensor, name, index);
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

  private zone(base: string, sensor: HwmonSensor, name: string, index: number): EnergyZone {
    const file = join(base, sensor.chipDir, sensor.file);
    const clock = this.opts.clock ?? monotonicMs;
    if (sensor.kind === 'energy') return new HwmonEnergyZone(name, index, file, this.reader);
    if (sensor.kind === 'power') return new IntegratedPowerZone(name, index, file, () => readCounterFile(this.reader, file), clock);
    // mV x mA = µW. The zone's path is the voltage file, as in Kepler.
    const current = join(base, sensor.chipDir, sensor.currentFile ?? '');
    return new IntegratedPowerZone(name, index, file, () => readCounterFile(this.reader, file) * readCounterFile(this.reader, current), clock);
  }

  /** The voltage x current sensors `rule` makes of a chip without power sensors; says so when it makes none. */
  private pairedSensors(base: string, c: HwmonChip, rule: ChipRule, labels: Map<string, string>): HwmonSensor[] {
    const dir = join(base, c.chipDir);
    const enabled = (ch: { enable?: string }) => ch.enable === undefined || this.readOr(join(dir, ch.enable), '1').trim() !== '0';
    const voltages = new Map([...channelFiles(c.files, 'in')].filter(([, ch]) => enabled(ch)));
    const currents = new Map([...channelFiles(c.files, 'curr')].filter(([, ch]) => enabled(ch)));
    const pairs = pairChannels(rule, [...voltages.keys()], [...currents.keys()]);
    if (pairs.length === 0) {
      const list = (type: string, m: Map<number, unknown>) => [...m.keys()].map((n) => `${type}${n}`).join(', ') || 'none';
      this.found.push({
        level: 'warn',
        message: `experimental.hwmon.chipRules: the rule for ${JSON.stringify(rule.name)} pairs none of the sensors of ${c.hwmonDir} (voltages: ${list('in', voltages)}; currents: ${list('curr', currents)})`,
      });
    }
    return pairs.map(({ voltage, current }) => {
      const files = pairFiles(voltages.get(voltage) as ChannelFiles, currents.get(current) as ChannelFiles);
      return { chipDir: c.chipDir, chip: c.chip, kind: 'voltageCurrent', file: files.voltage, currentFile: files.current, channel: voltage, label: labels.get(`in${voltage}`) };
    });
  }

  private readLabels(dir: string, files: string[]): Map<string, string> {
    const labels = new Map<string, string>();
    for (const f of files) {
      const m = /^((?:energy|power|in)\d+)_label$/.exec(f);
      if (!m) continue;
      try {
        labels.set(m[1], this.reader.readUtf8(join(dir, f)).trim());
      } catch {
        // an unreadable label falls back to the chip name
      }
    }
    return labels;
  }

  private readOr(file: string, fallback: string): string {
    try {
      return this.reader.readText(file);
    } catch {
      return fallback; // an unreadable enable file: try the channel itself, as Kepler does
    }
  }
}

/**
 * A chip's name and files: in hwmonN/, or, for drivers on the old hwmon_device_register() API
 * (ACPI power_meter among them), on the parent device hwmonN/device/, as libsensors looks.
 */
export function readHwmonChip(reader: FileReader, base: string, hwmonDir: string): HwmonChip | undefined {
  for (const chipDir of [hwmonDir, join(hwmonDir, 'device')]) {
    const dir = join(base, chipDir);
    try {
      const chip = reader.readText(join(dir, 'name')).trim();
      return { hwmonDir, chipDir, chip, files: readdirSync(dir) };
    } catch {
      // no name here: try the parent device
    }
  }
  return undefined;
}
