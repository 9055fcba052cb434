// A development meter (cpu.preferredMeters: [fake], or dev.fake-cpu-meter.enabled): zones that
// draw constant, configurable watts, so the whole pipeline can be run on a laptop or a CI box.

import { MeterUnavailableError, type EnergyMeter, type EnergyZone } from './energyZone.js';
import { IntegratedPowerZone, monotonicMs, type Clock } from './integratedPowerZone.js';

export const FAKE_DEFAULT_ZONES = ['package', 'core', 'uncore', 'dram'];
export const FAKE_DEFAULT_WATTS: Record<string, number> = { package: 40, core: 25, uncore: 5, dram: 8, psys: 60 };
const FALLBACK_WATTS = 10;

export interface FakeMeterOptions {
  zones: string[];
  watts: Record<string, number>;
  clock?: Clock;
}

export class FakeMeter implements EnergyMeter {
  readonly name = 'fake';

  constructor(private readonly opts: FakeMeterOptions) {}

  zones(): EnergyZone[] {
    const names = this.opts.zones.length ? this.opts.zones : FAKE_DEFAULT_ZONES;
    if (names.length === 0) throw new MeterUnavailableError('fake meter: no zones configured');
    return names.map((raw) => {
      const name = raw.toLowerCase();
      const watts = this.opts.watts[name] ?? FAKE_DEFAULT_WATTS[name] ?? FALLBACK_WATTS;
      return new IntegratedPowerZone(name, 0, `fake-cpu-meter/${name}`, () => watts * 1e6, this.opts.clock ?? monotonicMs);
    });
  }
}
