// Which of a meter's zones add up to "the CPU's power" in a headline figure. Zones overlap
// (package contains core and uncore; psys contains package), so they are never all summed: the
// headline is package plus dram (Kepler 0.7's total, which dashboards know), else psys, else the
// meter's first zone (a hwmon sensor, an estimator zone). Pure; shared by the live page's API and
// `kepler-ts top`, so both rank workloads the same way.

const OVERLAPPED = new Set(['core', 'uncore']);

/** The zone names to sum for a headline figure, from the names the meter exports (order kept, no duplicates). */
export function headlineZoneNames(names: readonly string[]): string[] {
  const distinct = [...new Set(names)];
  if (distinct.includes('package')) return distinct.filter((n) => n === 'package' || n === 'dram');
  if (distinct.includes('psys')) return ['psys'];
  const first = distinct.find((n) => !OVERLAPPED.has(n)) ?? distinct[0];
  return first === undefined ? [] : [first];
}
