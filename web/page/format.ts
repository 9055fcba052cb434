// How the page writes numbers, times and names. Pure functions with no DOM, so that the unit tests
// (compiled for Node) can check them too.

/** Watts with three significant digits at most: "0 W", "4.27 W", "42.7 W", "427 W", "4.27 kW". */
export function formatWatts(w: number): string {
  if (!Number.isFinite(w)) return '–';
  const abs = Math.abs(w);
  if (abs >= 1000) return `${significant(w / 1000)} kW`;
  if (abs < 0.005) return '0 W';
  return `${significant(w)} W`;
}

/** Joules, scaled: "950 J", "12.3 kJ", "4.56 MJ", "1.23 GJ". */
export function formatJoules(j: number): string {
  if (!Number.isFinite(j)) return '–';
  const abs = Math.abs(j);
  if (abs >= 1e9) return `${significant(j / 1e9)} GJ`;
  if (abs >= 1e6) return `${significant(j / 1e6)} MJ`;
  if (abs >= 1e3) return `${significant(j / 1e3)} kJ`;
  if (abs < 0.005) return '0 J';
  return `${significant(j)} J`;
}

/** Three significant digits, without trailing zeros after the point: 4.27, 42.7, 427, 4.2 (not 4.20). */
function significant(x: number): string {
  const abs = Math.abs(x);
  const digits = abs >= 100 ? 0 : abs >= 10 ? 1 : 2;
  const fixed = x.toFixed(digits);
  return digits > 0 ? fixed.replace(/\.?0+$/, '') : fixed;
}

/** CPU cores busy: "0", "0.05", "1.98", "12.4". */
export function formatCores(c: number): string {
  if (!Number.isFinite(c) || c < 0.005) return '0';
  return significant(c);
}

/** A 0..1 ratio as a percentage: "0 %", "0.4 %", "37 %". */
export function formatPercent(ratio: number): string {
  if (!Number.isFinite(ratio)) return '–';
  const p = ratio * 100;
  if (p < 0.05) return '0 %';
  return `${p < 10 ? p.toFixed(1).replace(/\.0$/, '') : Math.round(p)} %`;
}

/** How long ago, coarse: "just now", "4 s ago", "3 min ago", "2 h ago". */
export function formatAge(sec: number): string {
  if (!Number.isFinite(sec) || sec < 1.5) return 'just now';
  return `${formatDuration(sec)} ago`;
}

/** A duration, coarse: "42 s", "3 min", "1 h 5 min", "2 d". */
export function formatDuration(sec: number): string {
  const s = Math.max(0, Math.round(sec));
  if (s < 90) return `${s} s`;
  const min = Math.round(s / 60);
  if (min < 60) return `${min} min`;
  const h = Math.floor(min / 60);
  if (h < 48) return min % 60 === 0 ? `${h} h` : `${h} h ${min % 60} min`;
  return `${Math.round(h / 24)} d`;
}

/** A wall-clock time of day in the browser's zone, 24 h: "14:03:07". */
export function formatClock(ms: number): string {
  const d = new Date(ms);
  const two = (n: number) => String(n).padStart(2, '0');
  return `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
}

/** Labels of a time axis (ticks in seconds since the epoch): "14:03", or "14:03:20" when a tick falls within a minute. */
export function formatTimeTicks(ticksSec: number[]): string[] {
  const withSeconds = ticksSec.some((t) => Math.round(t) % 60 !== 0);
  return ticksSec.map((t) => {
    const clock = formatClock(t * 1000);
    return withSeconds ? clock : clock.slice(0, 5);
  });
}

const ZONE_LABELS: Record<string, string> = {
  package: 'CPU package',
  core: 'CPU cores',
  uncore: 'CPU uncore',
  dram: 'DRAM',
  psys: 'Platform (psys)',
  platform: 'Platform',
};

/** A RAPL or hwmon zone as a person reads it: "package" -> "CPU package"; unknown names unchanged. */
export function zoneLabel(name: string): string {
  return ZONE_LABELS[name] ?? name;
}

/**
 * Each zone's key (for data-figure and data-chart) and label: its name, plus its index when another
 * zone has the same name (hwmon may name several alike): "package", or "power1#1" and "power1 #1".
 */
export function zoneNames(zones: readonly { name: string; index: number }[]): { key: string; label: string }[] {
  const count = new Map<string, number>();
  for (const z of zones) count.set(z.name, (count.get(z.name) ?? 0) + 1);
  const out = zones.map((z) =>
    (count.get(z.name) ?? 0) > 1 ? { key: `${z.name}#${z.index}`, label: `${zoneLabel(z.name)} #${z.index}` } : { key: z.name, label: zoneLabel(z.name) },
  );
  // The same name and index twice: their place tells them apart.
  const seen = new Set<string>();
  return out.map((n, i) => {
    const key = seen.has(n.key) ? `${n.key}.${i}` : n.key;
    seen.add(key);
    return { key, label: n.label };
  });
}
