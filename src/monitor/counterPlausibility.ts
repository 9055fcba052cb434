// Whether a counter step can be energy a meter used: shared by the CPU zones and the GPUs.

/**
 * The plausibility ceiling is applied over at least this long: counters that update coarsely
 * (some hwmon energy counters tick once a second) may show a second's energy in a short interval.
 */
const MIN_PLAUSIBILITY_WINDOW_SEC = 1;

/**
 * Why a counter step cannot be energy the zone used. Pure; undefined when plausible.
 * - More than the counter's whole range: no counter advances by more than it holds.
 * - More watts than `maxWatts` over the interval (over at least a second, for counters that
 *   update coarsely: some hwmon energy counters tick once a second). This is what tells a
 *   counter that steps back a little (1 µJ back on a 262 kJ package counter reads as a wrap of
 *   262 kJ) from a real wrap, as long as the interval is shorter than range / maxWatts (52 s for
 *   that counter at 5 kW): a wrap cannot be told from a glitch by the readings alone.
 */
export function implausibility(deltaUj: number, maxEnergyUj: number, elapsedSec: number, maxWatts: number | undefined): string | undefined {
  if (maxEnergyUj > 0 && deltaUj > maxEnergyUj) return `more than the counter's range (${maxEnergyUj} µJ)`;
  if (!maxWatts) return undefined;
  const watts = deltaUj / 1e6 / Math.max(elapsedSec, MIN_PLAUSIBILITY_WINDOW_SEC);
  return watts > maxWatts ? `${Math.round(watts)} W over ${elapsedSec.toFixed(3)} s is above monitor.maxZoneWatts (${maxWatts} W)` : undefined;
}
