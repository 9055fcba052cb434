// Chooses the node's meter: the first of cpu.preferredMeters that reports at least one readable
// zone, else the energy the hypervisor passes this VM (passthrough), else the estimator (Kepler
// exits there; an estimate, labelled as one, keeps every dashboard working). Each meter is one entry in METER_FACTORIES: a new meter is a file and a line.
// Kepler's legacy selectors (experimental.hwmon.forceEnabled, dev.fake-cpu-meter.enabled) are
// already translated into cpu.preferredMeters by the configuration (legacyMeterSelectors.ts).

import type { Config } from '../config/config.js';
import { MeterUnavailableError, type EnergyMeter, type EnergyZone, type MeterNotice } from './energyZone.js';
import { EstimatorMeter } from './estimatorMeter.js';
import { FakeMeter } from './fakeMeter.js';
import { HwmonMeter } from './hwmonMeter.js';
import type { Clock } from './integratedPowerZone.js';
import { PassthroughMeter } from './passthroughMeter.js';
import { RaplMeter } from './raplMeter.js';
import { createLogger, type Logger } from '../logger/logger.js';

/** `logger`: where a meter that changes state while running says so (passthrough); the config's log settings when absent. */
export type MeterFactory = (cfg: Config, clock?: Clock, logger?: Logger) => EnergyMeter;

export const METER_FACTORIES: Record<string, MeterFactory> = {
  rapl: (cfg) => new RaplMeter({ sysfs: cfg.host.sysfs, zoneFilter: cfg.rapl.zones }),
  hwmon: (cfg, clock) =>
    new HwmonMeter({
      sysfs: cfg.host.sysfs,
      zoneFilter: cfg.experimental.hwmon.zones,
      chipRules: cfg.experimental.hwmon.chipRules,
      clock,
    }),
  fake: (cfg, clock) => new FakeMeter({ zones: cfg.dev.fakeCpuMeter.zones, watts: cfg.dev.fakeCpuMeter.watts, clock }),
  passthrough: (cfg, clock, logger) =>
    new PassthroughMeter({
      dir: cfg.passthrough.dir,
      procfs: cfg.host.procfs,
      intervalMs: cfg.monitor.intervalMs,
      estimator: new EstimatorMeter({ procfs: cfg.host.procfs, sysfs: cfg.host.sysfs, settings: cfg.estimator, clock }),
      clock,
      logger: (logger ?? createLogger({ level: cfg.log.level, format: cfg.log.format })).with({ component: 'passthrough' }),
    }),
  estimator: (cfg, clock) => new EstimatorMeter({ procfs: cfg.host.procfs, sysfs: cfg.host.sysfs, settings: cfg.estimator, clock }),
};

/** Tried after every preferred meter has failed. */
export const FALLBACK_METER = 'estimator';
/** Tried before FALLBACK_METER when cpu.preferredMeters does not name it: a measurement beats an estimate. */
export const PASSTHROUGH_METER = 'passthrough';

export interface MeterChoice {
  meter: EnergyMeter;
  zones: EnergyZone[];
  /** Why each meter tried before it (or all, on failure) was not used. */
  rejected: { meter: string; reason: string }[];
  /** True when no preferred meter worked and PASSTHROUGH_METER or FALLBACK_METER was used instead. */
  fellBack: boolean;
  /** What the chosen meter found worth saying once at start-up (chip rules that matched no chip). */
  notices: MeterNotice[];
}

export class NoMeterError extends Error {
  override readonly name = 'NoMeterError';
  constructor(readonly rejected: { meter: string; reason: string }[]) {
    super(`no power meter available: ${rejected.map((r) => `${r.meter}: ${r.reason}`).join('; ')}`);
  }
}

export function selectMeter(cfg: Config, factories: Record<string, MeterFactory> = METER_FACTORIES, clock?: Clock, logger?: Logger): MeterChoice {
  const rejected: { meter: string; reason: string }[] = [];
  // cpu.preferredMeters, in which loadConfig has already translated Kepler's legacy selectors.
  const order: string[] = [...cfg.cpu.preferredMeters];
  // Named in the list, the estimator ends the search there: passthrough is added only where it would come before it.
  const candidates = order.includes(FALLBACK_METER) ? order : [...order, ...(order.includes(PASSTHROUGH_METER) ? [] : [PASSTHROUGH_METER]), FALLBACK_METER];
  for (const name of candidates) {
    const factory = factories[name];
    if (!factory) {
      rejected.push({ meter: name, reason: 'not available in this version' });
      continue;
    }
    const meter = factory(cfg, clock, logger);
    try {
      const zones = meter.zones();
      const notices = meter.notices?.() ?? [];
      const rules = cfg.experimental.hwmon.chipRules.length;
      if (rules > 0 && name !== 'hwmon') notices.push({ level: 'info', message: `experimental.hwmon.chipRules: ${rules} rule(s) not used: the meter is ${name}, not hwmon` });
      return { meter, zones, rejected, fellBack: !order.includes(name), notices };
    } catch (err) {
      if (!(err instanceof MeterUnavailableError)) throw err;
      rejected.push({ meter: name, reason: err.message });
    }
  }
  throw new NoMeterError(rejected);
}
