// Kepler's legacy meter selectors, translated at start-up into the `cpu.preferredMeters` they
// stand for, as Kepler 0.12 does (ApplyCpuMeterDeprecations):
//   experimental.hwmon.forceEnabled: true     -> [hwmon]   (Kepler 0.11 spelled it `enabled`)
//   dev.fake-cpu-meter.enabled: true           -> [fake]    (wins when both are set)
// Each replaces cpu.preferredMeters, so the meter is that one alone; kepler-ts still falls back to
// the estimator after it, as it does after any preferred meters. A selector that changes nothing
// (cpu.preferredMeters already says the same) is not warned about: the file already reads as
// intended, and dropping the old key would not change it.

import type { Config, MeterName } from './config.js';

export interface EffectiveMeters {
  preferredMeters: MeterName[];
  /** Deprecation warnings, one line each, for the log. */
  warnings: string[];
}

const HWMON_SPELLINGS = ['forceEnabled', 'enabled'] as const;

/** Pure: the effective cpu.preferredMeters of `c`, and what to tell the user about the legacy keys it used. */
export function effectivePreferredMeters(c: Config): EffectiveMeters {
  const given = c.cpu.preferredMeters;
  const hwmonKeys = HWMON_SPELLINGS.filter((k) => c.experimental.hwmon[k]).map((k) => `experimental.hwmon.${k}`);
  const fake = c.dev.fakeCpuMeter.enabled;
  const warnings: string[] = [];
  let preferredMeters = [...given];
  const translate = (keys: string[], meter: MeterName) => {
    if (given.length === 1 && given[0] === meter) return;
    preferredMeters = [meter];
    const subject = keys.length > 1 ? `${keys.join(' and ')} are` : `${keys[0]} is`;
    warnings.push(
      `config: ${subject} deprecated: using cpu.preferredMeters [${meter}] in place of [${given.join(', ')}] (the estimator stays the fallback); set cpu.preferredMeters instead`,
    );
  };
  if (fake) {
    translate(['dev.fake-cpu-meter.enabled'], 'fake');
    const subject = hwmonKeys.length > 1 ? `${hwmonKeys.join(' and ')} are` : `${hwmonKeys[0]} is`;
    if (hwmonKeys.length > 0) warnings.push(`config: ${subject} deprecated and ignored: dev.fake-cpu-meter.enabled selects the fake meter; set cpu.preferredMeters instead`);
  } else if (hwmonKeys.length > 0) {
    translate(hwmonKeys, 'hwmon');
  }
  return { preferredMeters, warnings };
}

/**
 * Whether flag values (YAML-shaped) set the hwmon selector in either spelling. The two spellings
 * are one setting: a flag of either replaces what the file said in either, as flags do.
 */
export function setsHwmonSelector(values: Record<string, unknown>): boolean {
  const hwmon = (values.experimental as { hwmon?: Record<string, unknown> } | undefined)?.hwmon;
  return HWMON_SPELLINGS.some((k) => hwmon?.[k] !== undefined);
}
