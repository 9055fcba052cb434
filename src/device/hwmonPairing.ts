// Power from voltage x current, for hwmon chips that measure both on a rail but report no power
// (INA3221 and other I2C/PMBus monitors on ARM boards and BMC-less servers). Which in{N} goes with
// which curr{M} depends on the driver, so it is never guessed: a rule of
// experimental.hwmon.chipRules (src/config/chipRules.ts) names the chip and says how to pair.
// Power in µW is in{N} (mV) x curr{M} (mA), integrated over time like a power sensor.

import type { ChipRule } from '../config/chipRules.js';

/** One channel of a sensor type: its files in the chip's folder. */
export interface ChannelFiles {
  input: string; // in1_input
  average?: string; // in1_average
  enable?: string; // in1_enable: "0" turns the channel off
}

/** Pure: the channels of one sensor type ("in" for voltage, "curr" for current) that have an _input file, by index. */
export function channelFiles(files: readonly string[], type: 'in' | 'curr'): Map<number, ChannelFiles> {
  const set = new Set(files);
  const out = new Map<number, ChannelFiles>();
  const pattern = new RegExp(`^${type}(\\d+)_input$`);
  for (const f of files) {
    const m = pattern.exec(f);
    if (!m) continue;
    const n = Number(m[1]);
    const average = `${type}${n}_average`;
    const enable = `${type}${n}_enable`;
    out.set(n, { input: f, ...(set.has(average) ? { average } : {}), ...(set.has(enable) ? { enable } : {}) });
  }
  return new Map([...out].sort(([a], [b]) => a - b));
}

/** Pure: the rule whose name is the chip's (trimmed, without regard to case), if any. */
export function ruleFor(chip: string, rules: readonly ChipRule[]): ChipRule | undefined {
  const name = chip.trim().toLowerCase();
  return rules.find((r) => r.name.trim().toLowerCase() === name);
}

/**
 * Pure: the voltage/current pairs `rule` makes of the channels present, in voltage order.
 * useSameIndex pairs in{N} with curr{N} (pairings are then ignored, as in Kepler); otherwise each
 * pairing in{N}: M pairs in{N} with curr{M}. Skipped indexes and absent channels pair nothing.
 */
export function pairChannels(rule: ChipRule, voltages: readonly number[], currents: readonly number[]): { voltage: number; current: number }[] {
  const haveCurrent = new Set(currents);
  const out: { voltage: number; current: number }[] = [];
  for (const voltage of [...voltages].sort((a, b) => a - b)) {
    if (rule.skipVoltages.includes(voltage)) continue;
    const current = rule.useSameIndex ? voltage : rule.pairings[String(voltage)];
    if (current === undefined || !haveCurrent.has(current) || rule.skipCurrents.includes(current)) continue;
    out.push({ voltage, current });
  }
  return out;
}

/**
 * Pure: the files to multiply for one pair: the averages when both channels have one (an average
 * times an instantaneous reading would mix two time bases), else both inputs. As in Kepler.
 */
export function pairFiles(v: ChannelFiles, c: ChannelFiles): { voltage: string; current: string } {
  return v.average !== undefined && c.average !== undefined ? { voltage: v.average, current: c.average } : { voltage: v.input, current: c.input };
}
